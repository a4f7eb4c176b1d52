/**
 * acquireLease-1, acquireLeases-N, releaseLease-1 and createIntent-3 on an ioredis client or
 * cluster (scripts.ts loads them). In cluster key mode the lease, the plan's intent and its
 * consume receipt all carry the symbol's hash tag, so the fence stays one script in one slot,
 * and a batch of leases is split by hash tag.
 */
import { Redis, type Cluster } from 'ioredis';
import type { CreateIntentOutcome, LeaseCode, LeaseOps, LeaseOutcome } from '../lease-port.js';
import { hashTag } from './cluster-reads.js';
import { defineScript, ScriptReplyError, type ScriptRunner } from './scripts.js';
import { fieldArgs } from './streams.js';

export const LEASE_CODES = ['acquired', 'renewed', 'held'] as const;
/** Leases per acquireLeases-N call: each call stays short on the server (it runs alone there). */
export const LEASE_BATCH = 200;
export const RELEASE_CODES = ['released', 'not_held'] as const;
export const INTENT_CODES = ['written', 'lease_lost', 'not_consumed', 'intent_exists'] as const;

const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : null);

export function parseLeaseReply(reply: unknown): LeaseOutcome {
  const code = Array.isArray(reply) ? text(reply[0]) : null;
  if (code === 'acquired' || code === 'renewed') return { kind: code };
  if (code === 'held' && Array.isArray(reply)) return { kind: 'held', pttlMs: Number(reply[1]) };
  throw new ScriptReplyError('acquireLease', reply);
}

export function parseLeasesReply(reply: unknown, expected: number): LeaseCode[] {
  if (!Array.isArray(reply)) throw new ScriptReplyError('acquireLeases', reply);
  const codes = reply.map(text);
  if (codes.length !== expected || codes.some((c) => !(LEASE_CODES as readonly unknown[]).includes(c))) {
    throw new ScriptReplyError('acquireLeases', reply);
  }
  return codes as LeaseCode[];
}

/** Keys grouped by hash tag (a cluster runs a script only on keys of one slot), then chunked. */
export function leaseBatches(keys: readonly string[], cluster: boolean, size = LEASE_BATCH): number[][] {
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const tag = cluster ? hashTag(key) : '';
    let g = groups.get(tag);
    if (!g) groups.set(tag, (g = []));
    g.push(i);
  });
  const out: number[][] = [];
  for (const g of groups.values()) for (let i = 0; i < g.length; i += size) out.push(g.slice(i, i + size));
  return out;
}

export function parseIntentReply(reply: unknown): CreateIntentOutcome {
  const code = Array.isArray(reply) ? text(reply[0]) : null;
  if (code !== null && (INTENT_CODES as readonly string[]).includes(code)) return code as CreateIntentOutcome;
  throw new ScriptReplyError('createIntent', reply);
}

export class RedisLeaseScripts implements LeaseOps {
  private readonly run: Record<'acquire' | 'acquireMany' | 'release' | 'intent', ScriptRunner>;
  private readonly cluster: boolean;

  constructor(private readonly client: Redis | Cluster) {
    this.cluster = !(client instanceof Redis);
    this.run = {
      acquire: defineScript(client, 'acquireLease-1.lua'),
      acquireMany: defineScript(client, 'acquireLeases-N.lua'),
      release: defineScript(client, 'releaseLease-1.lua'),
      intent: defineScript(client, 'createIntent-3.lua'),
    };
  }

  async acquire(leaseKey: string, token: string, ttlMs: number): Promise<LeaseOutcome> {
    return parseLeaseReply(await this.run.acquire(leaseKey, token, Math.max(1, Math.round(ttlMs))));
  }

  async acquireMany(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<LeaseCode[]> {
    const ttl = Math.max(1, Math.round(ttlMs));
    const out = new Array<LeaseCode>(leaseKeys.length);
    await Promise.all(
      leaseBatches(leaseKeys, this.cluster).map(async (idx) => {
        const keys = idx.map((i) => leaseKeys[i]!);
        const codes = parseLeasesReply(
          await this.run.acquireMany(keys.length, ...keys, token, ttl),
          keys.length,
        );
        idx.forEach((i, j) => (out[i] = codes[j]!));
      }),
    );
    return out;
  }

  async holds(leaseKey: string, token: string): Promise<boolean> {
    return (await this.client.get(leaseKey)) === token;
  }

  async release(leaseKey: string, token: string): Promise<boolean> {
    const reply = await this.run.release(leaseKey, token);
    return Array.isArray(reply) && text(reply[0]) === 'released';
  }

  async createIntent(
    keys: { intent: string; lease: string; receipt: string },
    token: string | null,
    fields: Record<string, string>,
    ttlSec: number,
    consumeToken?: string,
  ): Promise<CreateIntentOutcome> {
    const reply = await this.run.intent(
      keys.intent,
      keys.lease,
      keys.receipt,
      token ?? '',
      consumeToken ?? '',
      ttlSec,
      ...fieldArgs(fields),
    );
    return parseIntentReply(reply);
  }
}
