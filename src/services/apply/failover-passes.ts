/**
 * When the failover reconciliation runs (failover-reconciler.ts): at once when the store's
 * notification epoch moves (every reconnect and every change of master moves it: sentinel
 * `+switch-master`, a dropped connection, a cluster slot refresh with a new master set), again
 * FAILOVER_SECOND_PASS_MS later, and every FAILOVER_EVERY_MS as a backstop for a switch the store
 * did not see. Never two passes at once; a failed pass is retried with backoff.
 */
import type { Logger } from 'pino';
import { backoffMs } from '../../ops/backoff.js';
import type { FailoverPassReport, FailoverReconciler, FailoverTrigger } from './failover-reconciler.js';
import { noopMetrics, type ApplyMetricsSink } from './metrics.js';
import type { ApplyDeps } from './options.js';

/** The backstop: a pass at least this often, whatever the store saw. */
export const FAILOVER_EVERY_MS = 60_000;
/**
 * After a change of master, a second pass this long after the first: a demoted master takes
 * writes until the sentinels reconfigure it, and orders in flight at the switch settle.
 */
export const FAILOVER_SECOND_PASS_MS = 15_000;
/** Retries of a failed pass: from the next check, doubling to at most this. */
const RETRY_MAX_MS = 30_000;

/**
 * Runs passes until the returned stop is called, looking every `checkMs` whether one is due. A
 * pass that fails (Redis or the exchange still away) is retried from the next check, backing off.
 */
export function failoverPasses(
  reconciler: FailoverReconciler,
  deps: Pick<ApplyDeps, 'store' | 'clock' | 'logger' | 'metrics'>,
  opts: { everyMs: number; checkMs: number },
): () => Promise<void> {
  const { store, clock, logger } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  let epoch = store.notificationEpoch();
  let nextPeriodic = clock.now() + opts.everyMs;
  let switchDue: number[] = [];
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  let stopped = false;
  /** Failed passes in a row, and no pass before `retryAt` meanwhile (backoff). */
  let failures = 0;
  let retryAt = 0;
  const check = () => {
    if (stopped || busy) return;
    const now = clock.now();
    const e = store.notificationEpoch();
    if (e !== epoch) {
      epoch = e;
      switchDue = [now, now + FAILOVER_SECOND_PASS_MS];
      retryAt = 0; // a new master: try at once
    }
    if (now < retryAt) return;
    const trigger: FailoverTrigger | null =
      switchDue.length > 0 && switchDue[0]! <= now ? 'switch' : now >= nextPeriodic ? 'periodic' : null;
    if (trigger === null) return;
    busy = true;
    running = reconciler
      .pass(trigger)
      .then((r) => passDone(r, logger, metrics))
      .catch((err: Error) => {
        metrics.failoverPass(trigger, 'failed', 0, 0);
        logger.warn({ err: err.message, trigger }, 'apply: failover reconciliation pass failed; retried');
        return false;
      })
      .then((ok) => {
        if (!ok) {
          retryAt = clock.now() + backoffMs(failures++, { minMs: opts.checkMs, maxMs: RETRY_MAX_MS });
          return;
        }
        failures = 0;
        retryAt = 0;
        if (trigger === 'switch') switchDue.shift();
        nextPeriodic = clock.now() + opts.everyMs;
      })
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(check, opts.checkMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}

/** Logs and counts a finished pass; false when some symbol could not be listed (retried). */
function passDone(r: FailoverPassReport, logger: Logger, metrics: ApplyMetricsSink): boolean {
  const ok = r.failedSymbols.length === 0;
  metrics.failoverPass(r.trigger, ok ? 'ok' : 'failed', r.gaps.length, r.weight);
  const fields = {
    trigger: r.trigger,
    symbols: r.symbols,
    orders: r.orders,
    waiting: r.waiting,
    lost_writes: r.gaps.length,
    recorded_now: r.recorded,
    request_weight: r.weight,
    ...(ok ? {} : { failed_symbols: r.failedSymbols.length, err: r.error }),
  };
  const msg =
    `apply: failover reconciliation (${r.trigger}): ${r.orders} recent orders of ours over ${r.symbols} symbols, ` +
    `${r.gaps.length} lost writes (${r.recorded} newly recorded), request weight ${r.weight}` +
    (ok ? '' : `; the orders of ${r.failedSymbols.length} symbols could not be listed (${r.error}), retried`);
  if (r.gaps.length > 0 || !ok) logger.warn(fields, msg);
  else logger.info(fields, msg);
  return ok;
}
