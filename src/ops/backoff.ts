/** The one backoff formula: every retry loop waits `backoffMs` between attempts. */

export interface Backoff {
  /** The first wait (attempt 0); it doubles with each attempt after. */
  minMs: number;
  /** The cap (none when absent: the caller bounds its attempts). */
  maxMs?: number;
  /**
   * Up to this much added at random, so replicas that failed together do not retry in step.
   * Only where a caller spreads its retries; none by default.
   */
  jitterMs?: number;
}

/** Past this many doublings every realistic cap is reached; it keeps the power finite. */
const MAX_DOUBLINGS = 30;

/**
 * The wait before retry number `attempt` (0-based): minMs doubled per attempt, capped at maxMs,
 * plus jitter. `random` is injectable for tests.
 */
export function backoffMs(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const doublings = Math.min(Math.max(0, attempt), MAX_DOUBLINGS);
  const base = Math.min(b.minMs * 2 ** doublings, b.maxMs ?? Number.POSITIVE_INFINITY);
  return b.jitterMs ? base + Math.floor(random() * b.jitterMs) : base;
}
