/**
 * Backfill (`history backfill`): records what the streams still hold, read by range, without
 * touching the recorder's group. Rows already recorded stay as they are (natural keys), so it can
 * run at any time, beside a running recorder too.
 */
import type { Store } from '../store/port.js';
import type { History } from './db.js';
import { addEntries } from './recorder.js';
import { HISTORY_STREAMS, historyStreamKeys, type HistoryStream } from './rows.js';
import { emptyBatch, writeBatch, type WriteCounts } from './write.js';

export interface BackfillReport {
  /** Entries read per stream. */
  read: Record<HistoryStream, number>;
  /** Rows new to the database per table. */
  written: WriteCounts;
  /** Entries that do not parse, by reason. */
  skipped: Record<string, number>;
}

export async function backfill(
  store: Store,
  history: Pick<History, 'db'>,
  opts: { page?: number } = {},
): Promise<BackfillReport> {
  const page = opts.page ?? 1000;
  const keys = historyStreamKeys(store.keys);
  const report: BackfillReport = {
    read: Object.fromEntries(HISTORY_STREAMS.map((s) => [s, 0])) as Record<HistoryStream, number>,
    written: { plans: 0, decisions: 0, results: 0, orders: 0 },
    skipped: {},
  };
  for (const stream of HISTORY_STREAMS) {
    let start = '-';
    for (;;) {
      const entries = await store.xrange(keys[stream], start, '+', page);
      // From the second page on, the first entry is the last one of the page before.
      const fresh = start === '-' ? entries : entries.filter((e) => e.id !== start);
      if (fresh.length === 0) break;
      const batch = emptyBatch();
      for (const reason of addEntries(batch, stream, fresh)) {
        report.skipped[reason] = (report.skipped[reason] ?? 0) + 1;
      }
      const n = await writeBatch(history, batch);
      for (const t of Object.keys(n) as (keyof WriteCounts)[]) report.written[t] += n[t];
      report.read[stream] += fresh.length;
      start = fresh[fresh.length - 1]!.id;
      if (entries.length < page) break;
    }
  }
  return report;
}
