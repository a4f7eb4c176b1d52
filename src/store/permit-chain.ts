/**
 * Wait for every required permit of a plan and consume them all at once (or none).
 *
 * Subscribes to permit-key changes before the first attempt (so no write between the attempt
 * and the subscription is missed), attempts at once, again on each notification for one of
 * our keys, every `stepMs` as a safety net, and a last time at the deadline.
 *
 * An error around a consume (timeout, dropped connection) does not say whether the script ran:
 * the same script is re-run with the same token until it answers (it replays the original
 * outcome if it had run), within `resolveBudgetMs`; after that the result is
 * `consume_outcome_unknown` and the caller must not act on the plan.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../ops/clock.js';
import type { ConsumeOutcome, Store } from './port.js';

export const DEFAULT_AUTHORITIES = ['governor', 'p33'] as const;

export interface PermitWaitOptions {
  /** Total window (APPLY_PERMIT_WAIT_MS); the last attempt runs at its end. */
  waitMs: number;
  /** Poll interval (APPLY_PERMIT_STEP_MS). */
  stepMs: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** How long to keep re-running an attempt whose outcome is unknown (default 5000 ms). */
  resolveBudgetMs?: number;
  /** TTL of the consume receipt (default 3600 s). */
  receiptTtlSec?: number;
  /** React to keyspace notifications (default true); false polls only. */
  events?: boolean;
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

/** Key events that cannot make a permit appear. */
const REMOVALS = new Set(['del', 'expired', 'evicted', 'expire']);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export async function waitAndConsumePermits(
  store: Store,
  planId: string,
  authorities: readonly string[] = DEFAULT_AUTHORITIES,
  opts: PermitWaitOptions,
): Promise<PermitWaitResult> {
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  const deadline = started + Math.max(0, opts.waitMs);
  const keys = authorities.map((a) => store.keys.permit(a, planId));
  const ours = new Set(keys);
  const receiptKey = store.keys.permitReceipt(planId);
  const token = randomUUID();
  const budget = opts.resolveBudgetMs ?? 5000;
  const receiptTtl = opts.receiptTtlSec ?? 3600;
  let attempts = 0;
  let lastError: string | undefined;
  let eventSeen = false;
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

  const attempt = async (): Promise<ConsumeOutcome | null> => {
    attempts++;
    let firstErrorAt: number | null = null;
    let backoff = 20;
    for (;;) {
      try {
        return await store.consumePermits(keys, receiptKey, token, receiptTtl);
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        firstErrorAt ??= clock.now();
        const left = firstErrorAt + budget - clock.now();
        if (left <= 0) return null;
        await sleep(Math.min(backoff, left));
        backoff = Math.min(backoff * 2, 500);
      }
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

  let unsubscribe: (() => Promise<void>) | null = null;
  if (opts.events !== false && store.notificationsActive()) {
    try {
      unsubscribe = await store.onKeyChange(store.keys.permitPattern(), (change) => {
        if (!ours.has(change.key) || REMOVALS.has(change.event)) return;
        eventSeen = true;
        wake?.();
      });
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err); // polling still covers us
    }
  }

  try {
    let via: PermitVia = 'immediate';
    for (;;) {
      eventSeen = false;
      const outcome = await attempt();
      if (outcome === null) return fail('consume_outcome_unknown');
      if (outcome.kind === 'consumed') {
        const bodies = Object.fromEntries(authorities.map((a, i) => [a, outcome.bodies[i]!]));
        return { ok: true, bodies, waitMs: elapsed(), attempts, via, replayed: outcome.replayed };
      }
      if (outcome.kind === 'consumed_elsewhere') return fail('consumed_elsewhere');
      const ttl = Object.fromEntries(authorities.map((a, i) => [a, outcome.ttlMs[i] ?? -2]));
      const now = clock.now();
      if (now >= deadline) return fail(missingReason(authorities, outcome.ttlMs), ttl);
      if (opts.signal?.aborted) return fail('aborted', ttl);
      if (eventSeen) {
        via = 'event';
        continue;
      }
      const why = await pause(Math.min(now + opts.stepMs, deadline));
      if (why === 'abort') return fail('aborted', ttl);
      via = why;
    }
  } finally {
    // Not awaited: the caller should not pay a round trip for it; the PUNSUBSCRIBE is queued in
    // order on the subscription connection before any later PSUBSCRIBE.
    if (unsubscribe) void unsubscribe().catch(() => {});
  }
}
