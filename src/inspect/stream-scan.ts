/**
 * Bounded backwards scans of the capped streams (XREVRANGE in pages). Streams are trimmed near
 * 10,000 entries, so reading at most `maxEntries` newest entries sees everything still there.
 */
import type { Store, StreamEntry } from '../store/port.js';

export const PAGE_SIZE = 500;
/** The streams' MAXLEN ~ 10,000 may overshoot by a node; a little headroom covers it. */
export const MAX_SCAN_ENTRIES = 12_000;

export interface ScanOptions {
  pageSize?: number;
  maxEntries?: number;
}

export interface StreamScan {
  matches: StreamEntry[];
  /** Entries read. */
  scanned: number;
  /** False when maxEntries stopped the scan before the oldest entry. */
  complete: boolean;
}

/**
 * Walks `stream` from newest to oldest, keeping entries for which `match` is true, until
 * `stop` says enough (given the matches so far) or the bound is reached. Pages overlap by one
 * entry (an inclusive end id works on both adapters; the repeated entry is dropped).
 */
export async function scanBackwards(
  store: Store,
  stream: string,
  match: (e: StreamEntry) => boolean,
  opts: ScanOptions & { stop?: (matches: StreamEntry[]) => boolean } = {},
): Promise<StreamScan> {
  const page = opts.pageSize ?? PAGE_SIZE;
  const max = opts.maxEntries ?? MAX_SCAN_ENTRIES;
  const matches: StreamEntry[] = [];
  let end = '+';
  let scanned = 0;
  let previous: string | null = null;
  for (;;) {
    const batch = await store.xrevrange(stream, end, '-', page + (previous === null ? 0 : 1));
    const fresh: StreamEntry[] = previous === null ? batch : batch.filter((e) => e.id !== previous);
    for (const e of fresh) {
      if (scanned >= max) return { matches, scanned, complete: false };
      scanned++;
      if (match(e)) matches.push(e);
    }
    if (fresh.length < page) return { matches, scanned, complete: true };
    if (opts.stop?.(matches)) return { matches, scanned, complete: false };
    const oldest = fresh[fresh.length - 1]!.id;
    previous = oldest;
    end = oldest;
  }
}

/** Entries whose `plan_id` field is this plan id (newest first). */
export function findPlanEntries(store: Store, stream: string, planId: string, opts: ScanOptions = {}) {
  return scanBackwards(store, stream, (e) => e.fields.plan_id === planId, opts);
}

/** The time an entry id carries (ms), or null for an id that is not `<ms>-<seq>`. */
export function entryMs(id: string): number | null {
  const m = /^(\d+)-\d+$/.exec(id);
  return m ? Number(m[1]) : null;
}
