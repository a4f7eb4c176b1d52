/**
 * Retention (HISTORY_RETENTION_DAYS): deletes the rows older than a cutoff, each table by its
 * time column. A stream entry older than the cutoff that is recorded again afterwards (a backfill)
 * comes back until the next prune; the streams hold hours, so a cutoff in days rarely meets one.
 */
import type { History } from './db.js';
import type { WriteCounts } from './write.js';

export const DAY_MS = 86_400_000;

/** Deletes rows older than `cutoffMs` (unix ms); returns how many per table. */
export async function pruneHistory(history: Pick<History, 'db'>, cutoffMs: number): Promise<WriteCounts> {
  const { db } = history;
  const del = async (q: { executeTakeFirst(): Promise<{ numDeletedRows: bigint }> }) =>
    Number((await q.executeTakeFirst()).numDeletedRows);
  return {
    plans: await del(db.deleteFrom('plans').where('at_ms', '<', cutoffMs)),
    decisions: await del(db.deleteFrom('decisions').where('at_ms', '<', cutoffMs)),
    results: await del(db.deleteFrom('results').where('at_ms', '<', cutoffMs)),
    orders: await del(db.deleteFrom('orders').where('updated_at_ms', '<', cutoffMs)),
  };
}

/** The cutoff for `retentionDays` at `nowMs`, or null when every row is kept (0). */
export function retentionCutoff(nowMs: number, retentionDays: number): number | null {
  return retentionDays > 0 ? nowMs - retentionDays * DAY_MS : null;
}
