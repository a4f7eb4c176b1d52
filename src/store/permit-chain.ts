/**
 * Wait for every required permit of a plan and consume them all at once (or none).
 *
 * Subscribes to permit-key changes before the first attempt (so no write between the attempt
 * and the subscription is missed), attempts at once, again as soon as notifications show that
 * every key missing at the last attempt has been written, every `stepMs` as a safety net, and a
 * last time at the deadline (the only attempt that reads TTLs, which are reported on failure).
 *
 * An error around a consume (timeout, dropped connection) does not say whether the script ran:
 * the same script is re-run with the same token until it answers (it replays the original
 * outcome if it had run), within `resolveBudgetMs`; after that the result is
 * `consume_outcome_unknown` and the caller must not act on the plan.
 */
import { randomUUID } from 'node:crypto';
import { backoffMs } from '../ops/backoff.js';
import { systemClock, type Clock } from '../ops/clock.js';
import type { ConsumeOutcome, Store } from './port.js';
import { watchPermits, type Change, type PermitWatch } from './permit-watch.js';

export const DEFAULT_AUTHORITIES = ['governor', 'p33'] as const;

export interface PermitWaitOptions {
  /** Total window (APPLY_PERMIT_WAIT_MS); the last attempt runs at its end. */
  waitMs: number;
  /** Poll interval (APPLY_PERMIT_STEP_MS); at least 5 ms. */
  stepMs: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** How long to keep re-running an attempt whose outcome is unknown (default 5000 ms). */
  resolveBudgetMs?: number;
  /** TTL of the consume receipt (default 3600 s). */
  receiptTtlSec?: number;
  /** React to keyspace notifications (default true); false polls only. */
  events?: boolean;
  /** The plan's symbol: part of the permit key names in cluster key mode (required there). */
  symbol?: string;
  /**
   * A watch of these permit keys (watchPermits) the caller opened earlier: the wait takes it over
   * instead of subscribing. The caller closes it.
   */
  watch?: PermitWatch | null;
  /**
   * The caller vouches that no permit of this plan was written before `watch` opened: the first
   * consume is then skipped while the watch has seen no write of a missing permit.
   */
  noPermitBeforeWatch?: boolean;
  /**
   * Called as each consume attempt is about to be sent (once per attempt, not for its re-runs),
   * with its number (1-based; the result's `attempts` names the one that consumed) and
   * `expected`: notifications have shown every permit written, so this attempt should consume.
   * Lets the caller start work that must follow the permits (apply's position read) alongside
   * the consume instead of after it. `consume`: the attempt's receipt key and token; what the
   * call returns runs as soon as the consume has been sent, so a command it sends reaches Redis
   * after the consume and can be made conditional on it (the receipt holds the token once it
   * consumed).
   */
  onAttempt?: (attempt: number, expected: boolean, consume: ConsumeTicket) => (() => void) | void;
}

/** Names an attempt's consume: its receipt key holds `token` once that consume took the permits. */
export interface ConsumeTicket {
  receiptKey: string;
  token: string;
}

export type PermitVia = 'event' | 'poll' | 'immediate';

export type PermitWaitResult =
  | {
      ok: true;
      bodies: Record<string, string>;
      waitMs: number;
      attempts: number;
      via: PermitVia;
      /** The consume was confirmed by re-running it after an ambiguous failure. */
      replayed: boolean;
    }
  | {
      ok: false;
      /**
       * missing_* (see missingReason), consumed_elsewhere, consume_outcome_unknown, aborted.
       */
      reason: string;
      ttlMs: Record<string, number>;
      waitMs: number;
      attempts: number;
      /** Last store error message, for logs (consume_outcome_unknown). */
      error?: string;
    };

/**
 * Reason for a missing set: the names of the absent authorities, in configured order, joined
 * by `_` after `missing_` (`missing_p33`, `missing_governor_risk`); when every one of two
 * authorities is absent `missing_both`, of three or more `missing_all`.
 */
export function missingReason(authorities: readonly string[], ttlMs: readonly number[]): string {
  const absent = authorities.filter((_, i) => ttlMs[i] === -2);
  if (absent.length === 0) return 'missing_all';
  if (absent.length === authorities.length && authorities.length === 2) return 'missing_both';
  if (absent.length === authorities.length && authorities.length > 2) return 'missing_all';
  return `missing_${absent.join('_')}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export async function waitAndConsumePermits(
  store: Store,
  planId: string,
  authorities: readonly string[] = DEFAULT_AUTHORITIES,
  opts: PermitWaitOptions,
): Promise<PermitWaitResult> {
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  // Bad numbers from config must not turn into an endless wait or a tight loop on Redis.
  const deadline = started + (Number.isFinite(opts.waitMs) ? Math.max(0, opts.waitMs) : 0);
  const stepMs = Number.isFinite(opts.stepMs) ? Math.max(5, opts.stepMs) : 100;
  const keys = authorities.map((a) => store.keys.permit(a, planId, opts.symbol));
  const receiptKey = store.keys.permitReceipt(planId, opts.symbol);
  const token = randomUUID();
  const budget = opts.resolveBudgetMs ?? 5000;
  const receiptTtl = opts.receiptTtlSec ?? 3600;
  let attempts = 0;
  let lastError: string | undefined;
  /** Last change per key seen while an attempt was in flight (its snapshot may predate it). */
  const inFlightChanges = new Map<string, 'write' | 'remove'>();
  let inFlight = false;
  /** Keys absent at the last attempt and not written since: an attempt before they are is wasted. */
  const awaiting = new Set<string>(keys);
  let wake: (() => void) | null = null;

  const elapsed = () => clock.now() - started;
  const fail = (reason: string, ttlMs: Record<string, number> = {}): PermitWaitResult => ({
    ok: false,
    reason,
    ttlMs,
    waitMs: elapsed(),
    attempts,
    ...(lastError !== undefined ? { error: lastError } : {}),
  });

  const attempt = async (readTtl: boolean): Promise<ConsumeOutcome | null> => {
    attempts++;
    const cue = opts.onAttempt;
    const expected = watching && awaiting.size === 0;
    inFlight = true;
    inFlightChanges.clear();
    let firstErrorAt: number | null = null;
    let failures = 0;
    try {
      for (;;) {
        try {
          const afterSent = failures === 0 ? cue?.(attempts, expected, { receiptKey, token }) : undefined;
          const consumed = store.consumePermits(keys, receiptKey, token, receiptTtl, { readTtl });
          afterSent?.();
          return await consumed;
        } catch (err) {
          lastError = err instanceof Error ? err.message : String(err);
          firstErrorAt ??= clock.now();
          const left = firstErrorAt + budget - clock.now();
          if (left <= 0) return null;
          await sleep(Math.min(backoffMs(failures++, { minMs: 20, maxMs: 500 }), left));
        }
      }
    } finally {
      inFlight = false;
    }
  };

  const pause = (untilMs: number): Promise<'event' | 'poll' | 'abort'> =>
    new Promise((resolve) => {
      const finish = (why: 'event' | 'poll' | 'abort') => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        wake = null;
        resolve(why);
      };
      const onAbort = () => finish('abort');
      const timer = setTimeout(() => finish('poll'), Math.max(0, untilMs - clock.now()));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      wake = () => finish('event');
    });

  const onChange = (key: string, kind: Change) => {
    if (inFlight) inFlightChanges.set(key, kind);
    else if (kind === 'remove') awaiting.add(key);
    else if (awaiting.delete(key) && awaiting.size === 0) wake?.();
  };
  /** No consume before a missing permit is written (see `noPermitBeforeWatch`). */
  let skipFirst = false;
  /** A watch this wait opened itself (the caller brought none): closed when it ends. */
  let own: PermitWatch | null = null;
  /** Notifications reach `onChange`: an empty `awaiting` then means every permit was written. */
  let watching = false;
  if (opts.events !== false) {
    // A watch of other keys (another plan, other authorities) says nothing about ours.
    const given =
      opts.watch && opts.watch.keys.length === keys.length && opts.watch.keys.every((k, i) => k === keys[i])
        ? opts.watch
        : null;
    const watch =
      given ??
      (own = await watchPermits(store, planId, authorities, opts.symbol, (err) => {
        lastError = err instanceof Error ? err.message : String(err); // polling still covers us
      }));
    if (watch) for (const [key, kind] of watch.take(onChange)) onChange(key, kind);
    watching = watch !== null;
    skipFirst =
      given !== null &&
      opts.noPermitBeforeWatch === true &&
      awaiting.size > 0 &&
      store.notificationEpoch() === given.epoch &&
      clock.now() < deadline;
  }

  try {
    let via: PermitVia = 'immediate';
    if (skipFirst) {
      const why = await pause(Math.min(clock.now() + stepMs, deadline));
      if (why === 'abort') return fail('aborted');
      via = why;
    }
    for (;;) {
      // TTLs are only reported on failure, so only the last attempt reads them.
      const last = clock.now() >= deadline;
      const outcome = await attempt(last);
      if (outcome === null) return fail('consume_outcome_unknown');
      if (outcome.kind === 'consumed') {
        const bodies = Object.fromEntries(authorities.map((a, i) => [a, outcome.bodies[i]!]));
        return { ok: true, bodies, waitMs: elapsed(), attempts, via, replayed: outcome.replayed };
      }
      if (outcome.kind === 'consumed_elsewhere') return fail('consumed_elsewhere');
      const now = clock.now();
      if (now >= deadline) {
        if (!last) continue; // one more attempt, now at the deadline, that reads the TTLs
        const ttl = Object.fromEntries(authorities.map((a, i) => [a, outcome.ttlMs[i] ?? -2]));
        return fail(missingReason(authorities, outcome.ttlMs), ttl);
      }
      if (opts.signal?.aborted) return fail('aborted');
      awaiting.clear();
      keys.forEach((k, i) => outcome.ttlMs[i] === -2 && awaiting.add(k));
      for (const [k, kind] of inFlightChanges) {
        if (kind === 'write') awaiting.delete(k);
        else awaiting.add(k);
      }
      if (awaiting.size === 0) {
        via = 'event'; // what was missing has been written since the snapshot
        continue;
      }
      const why = await pause(Math.min(now + stepMs, deadline));
      if (why === 'abort') return fail('aborted');
      via = why;
    }
  } finally {
    // Off the caller's path (measured: the socket write showed in the hand-off latency); the
    // PUNSUBSCRIBE still goes out in order on the subscription connection.
    const release = own;
    if (release) setImmediate(() => void release.close().catch(() => {}));
  }
}
