/**
 * Reads that may span hash slots: SCAN over every master of a cluster (or the one server), and
 * MGET split by hash tag for a cluster (one MGET for keys of one plan or symbol, as services use it).
 */
import type { Cluster, Redis } from 'ioredis';
import type { ScanResult } from '../port.js';

/** What Redis Cluster hashes: the first non-empty {…} of a key, else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

export async function mgetByTag(client: Cluster, keys: string[]): Promise<(string | null)[]> {
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const tag = hashTag(key);
    groups.set(tag, [...(groups.get(tag) ?? []), i]);
  });
  const out = new Array<string | null>(keys.length).fill(null);
  await Promise.all(
    [...groups.values()].map(async (idx) => {
      const values = await client.mget(idx.map((i) => keys[i]!));
      idx.forEach((i, j) => (out[i] = values[j] ?? null));
    }),
  );
  return out;
}

/** SCAN MATCH over each node until done or `limit` distinct keys were seen. */
export async function scanNodes(
  nodes: Redis[],
  pattern: string,
  opts: { count: number; limit: number },
): Promise<ScanResult> {
  const seen = new Set<string>(); // SCAN may return a key more than once
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', opts.count);
      cursor = next;
      for (const key of batch) {
        if (seen.size >= opts.limit && !seen.has(key)) return { keys: [...seen], complete: false };
        seen.add(key);
      }
    } while (cursor !== '0');
  }
  return { keys: [...seen], complete: true };
}
