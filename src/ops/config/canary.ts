/**
 * The canary's rate limit (`quantum-apply canary`, PROTOCOL.md "Canary plans"), read with apply's
 * config: a canary costs each authority an evaluation and the governor a position read, so runs
 * are spaced by APPLY_CANARY_MIN_INTERVAL_SEC across every host (a Redis key, SET NX) and one
 * run sends at most APPLY_CANARY_MAX_COUNT canaries. The running apply enforces both on every
 * request it reads; the command checks them first to answer without a round trip.
 */
import { numberField, type EnvReader } from './env.js';

export interface CanaryConfig {
  /** APPLY_CANARY_MIN_INTERVAL_SEC: a run within this long of the last one is refused. */
  minIntervalSec: number;
  /** APPLY_CANARY_MAX_COUNT: the largest --count a run accepts. */
  maxCount: number;
}

export const DEFAULT_CANARY: Readonly<CanaryConfig> = Object.freeze({ minIntervalSec: 60, maxCount: 5 });

export function readCanary(r: EnvReader): CanaryConfig {
  return {
    minIntervalSec: r.get(
      'APPLY_CANARY_MIN_INTERVAL_SEC',
      numberField({ int: true, min: 1, max: 86_400 }),
      DEFAULT_CANARY.minIntervalSec,
    ),
    maxCount: r.get(
      'APPLY_CANARY_MAX_COUNT',
      numberField({ int: true, min: 1, max: 100 }),
      DEFAULT_CANARY.maxCount,
    ),
  };
}
