/** What bench/authorities.ts, its worker processes and the soak agree on. */
import { DEFAULT_GOVERNOR_LIMITS } from '../../src/ops/config.js';

export const BENCH_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
export const BENCH_POSITIONS = { BTCUSDT: 0.5, ETHUSDT: -4, SOLUSDT: 300 };

/** Governor limits lifted so that permits are granted at a bench's rate (the other gates still run). */
export const LIFTED_GOVERNOR_LIMITS = {
  ...DEFAULT_GOVERNOR_LIMITS,
  maxExecPerHour: 1e9,
  maxExecPer5Min: 1e9,
  maxReduceNotionalPerDayUsd: 1e15,
  maxReduceQtyPerDay: 1e15,
};
