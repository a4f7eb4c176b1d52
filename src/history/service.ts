/**
 * The recorder as a running service (alone, inside `all`, inside the demo): opens the history
 * database in the background, with backoff while it cannot (so a database that is down at start
 * holds back nothing else in the process), then runs the Recorder and, with a retention set,
 * prunes once at start and every PRUNE_EVERY_MS.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { backoffMs } from '../ops/backoff.js';
import type { Clock } from '../ops/clock.js';
import type { HistorySettings } from '../ops/config/recorder.js';
import { createHistoryMetrics } from '../ops/metrics.js';
import type { Store } from '../store/port.js';
import { openHistory, type History } from './db.js';
import { Recorder, type RecorderLogger } from './recorder.js';
import { pruneHistory, retentionCutoff } from './retention.js';
import { countRows, type WriteCounts } from './write.js';

export const PRUNE_EVERY_MS = 3_600_000;

export interface HistoryServiceOptions {
  store: Store;
  settings: HistorySettings;
  clock: Clock;
  logger: RecorderLogger;
  registry: Registry;
  /** Between attempts to open the database (default: from 500 ms, doubling to 30 s). */
  openRetryMinMs?: number;
  idleMs?: number;
}

export interface HistoryService {
  /** Stops the recorder (a batch not committed stays pending for the next start) and closes the database. */
  stop(): Promise<void>;
  /**
   * Waits until every followed stream is recorded (lag 0) or the deadline passes; then the row
   * counts, or null when the database never opened.
   */
  settle(deadlineMs: number): Promise<WriteCounts | null>;
  /** Not ok while the database cannot be opened or written (`all` reports it without counting it). */
  health(): { ok: boolean; detail: Record<string, unknown> };
}

export function recorderConsumerName(): string {
  return `rec-${hostname()}-${process.pid}`;
}

export function startHistoryService(o: HistoryServiceOptions): HistoryService {
  let recorder: Recorder | null = null;
  let history: History | null = null;
  let stopped = false;
  let openError: string | null = null;
  let pruneTimer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  const metrics = createHistoryMetrics(o.registry, { lag: () => recorder?.lag() ?? Promise.resolve([]) });

  const prune = async (h: History) => {
    const cutoff = retentionCutoff(o.clock.now(), o.settings.retentionDays);
    if (cutoff === null) return;
    try {
      const n = await pruneHistory(h, cutoff);
      o.logger.info({ deleted: n, before_ms: cutoff }, 'history: rows past HISTORY_RETENTION_DAYS deleted');
    } catch (err) {
      o.logger.warn({ err: (err as Error).message }, 'history: pruning failed; next try in an hour');
    }
  };

  const opened = (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        history = await openHistory(o.settings.url);
        break;
      } catch (err) {
        openError = (err as Error).message;
        o.logger.warn({ err: openError, attempt }, 'history: database not open yet; retrying');
        await new Promise<void>((r) => {
          const timer = setTimeout(r, backoffMs(attempt, { minMs: o.openRetryMinMs ?? 500, maxMs: 30_000 }));
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
    }
    const h = history;
    if (stopped || h === null) return;
    openError = null;
    recorder = new Recorder({
      store: o.store,
      history: h,
      clock: o.clock,
      logger: o.logger,
      metrics,
      consumer: recorderConsumerName(),
      batch: o.settings.batch,
      idleMs: o.idleMs,
    });
    recorder.start();
    o.logger.info({ dialect: h.dialect }, 'history recorder started');
    if (o.settings.retentionDays > 0) {
      void prune(h);
      pruneTimer = setInterval(() => void prune(h), PRUNE_EVERY_MS);
      pruneTimer.unref();
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await opened;
      if (pruneTimer) clearInterval(pruneTimer);
      await recorder?.stop();
      await history?.close();
    },
    async settle(deadlineMs) {
      while (o.clock.now() < deadlineMs) {
        const lag = recorder ? await recorder.lag().catch(() => null) : null;
        if (lag && lag.every((l) => l.entries === 0)) break;
        await sleep(50);
      }
      return history ? countRows(history.db) : null;
    },
    health() {
      if (openError !== null)
        return { ok: false, detail: { history: 'database_unreachable', why: openError } };
      const waiting = recorder?.waitingFor ?? null;
      if (waiting !== null) return { ok: false, detail: { history: 'waiting', why: waiting } };
      return { ok: true, detail: { history: recorder ? 'recording' : 'starting' } };
    },
  };
}
