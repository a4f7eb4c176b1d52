/**
 * The governor's gates, in the contract's order, as pure functions. This module is the single
 * definition of the rules: `countingVerdict` is the counting part that a grant runs atomically
 * (the memory adapter calls it; grantPermit-5.lua is its Redis twin, and
 * test/store/grant-permit-table.test.ts runs one table of cases against both).
 */
import { actionFraction, isCloseAction } from './plan-input.js';

export interface GovernorLimits {
  killScoreCritical: number;
  maxExecPerHour: number;
  maxExecPer5Min: number;
  maxReduceNotionalPerDayUsd: number;
  maxReduceQtyPerDay: number;
}

export const HOUR_SEC = 3600;
export const FIVE_MIN_SEC = 300;

export type GovernorBlockReason =
  | 'kill_score_critical_non_close'
  | 'hourly_limit_exceeded'
  | 'burst_limit_exceeded'
  | 'daily_limit_exceeded'
  | 'position_fetch_failed'
  | 'limit_computation_error'
  | 'evaluation_error';

export type GateResult = { pass: true } | { pass: false; reason: GovernorBlockReason };

export function killScoreGate(action: string, killScore: number, limits: GovernorLimits): GateResult {
  if (killScore >= limits.killScoreCritical && !isCloseAction(action)) {
    return { pass: false, reason: 'kill_score_critical_non_close' };
  }
  return { pass: true };
}

/**
 * A stored number as the script's `tonumber` reads it, finite values only: blank, garbage and
 * infinities are null. (Number also reads 0b/0o literals and trims non-ASCII blanks, which
 * `tonumber` refuses; no writer stores such text: test/store/grant-permit-table.test.ts.)
 */
export function storedNumber(text: string): number | null {
  const v = Number(text);
  return text.trim() !== '' && Number.isFinite(v) ? v : null;
}

/**
 * Executions newer than `windowSec` before `nowSec`. Entries that are not numbers are ignored
 * (the script does the same: `tonumber` → nil).
 */
export function countSince(execTimestamps: readonly string[], nowSec: number, windowSec: number): number {
  let n = 0;
  for (const t of execTimestamps) {
    const ts = storedNumber(t);
    if (ts !== null && ts > nowSec - windowSec) n++;
  }
  return n;
}

export interface ExecCounts {
  hour: number;
  fiveMin: number;
}

export function execCounts(execTimestamps: readonly string[], nowSec: number): ExecCounts {
  return {
    hour: countSince(execTimestamps, nowSec, HOUR_SEC),
    fiveMin: countSince(execTimestamps, nowSec, FIVE_MIN_SEC),
  };
}

export type RateLimits = Pick<GovernorLimits, 'maxExecPerHour' | 'maxExecPer5Min'>;

export type RateResult =
  { pass: true } | { pass: false; reason: 'hourly_limit_exceeded' | 'burst_limit_exceeded' };

export function rateGates(counts: ExecCounts, limits: RateLimits): RateResult {
  if (counts.hour >= limits.maxExecPerHour) return { pass: false, reason: 'hourly_limit_exceeded' };
  if (counts.fiveMin >= limits.maxExecPer5Min) return { pass: false, reason: 'burst_limit_exceeded' };
  return { pass: true };
}

/** What one execution adds to the daily total: notional with a price, quantity without. */
export interface DailyAmount {
  qty: number;
  /** null when no usable mark price was known. */
  notional: number | null;
  basis: 'notional' | 'qty';
  amount: number;
  cap: number;
}

export type AmountResult =
  { ok: true; value: DailyAmount } | { ok: false; reason: 'limit_computation_error' };

export function dailyAmount(
  action: string,
  positionAmt: number,
  markPrice: number | null,
  limits: GovernorLimits,
): AmountResult {
  if (!Number.isFinite(positionAmt)) return { ok: false, reason: 'limit_computation_error' };
  const qty = Math.abs(positionAmt) * actionFraction(action);
  const priced = markPrice !== null && Number.isFinite(markPrice) && markPrice > 0;
  const notional = priced ? qty * markPrice : null;
  if (!Number.isFinite(qty) || (notional !== null && !Number.isFinite(notional))) {
    return { ok: false, reason: 'limit_computation_error' };
  }
  return notional !== null
    ? {
        ok: true,
        value: { qty, notional, basis: 'notional', amount: notional, cap: limits.maxReduceNotionalPerDayUsd },
      }
    : { ok: true, value: { qty, notional: null, basis: 'qty', amount: qty, cap: limits.maxReduceQtyPerDay } };
}

/** The stored running total (a string written by INCRBYFLOAT); absent or garbage → 0 / null. */
/** A stored daily total as INCRBYFLOAT writes it: a plain decimal, no blanks, no hex. */
const DAILY_TOTAL = /^-?\d+\.?\d*(?:[eE][-+]?\d+)?$/;

export function parseDailyTotal(raw: string | null): number | null {
  if (raw === null) return 0;
  return DAILY_TOTAL.test(raw) ? storedNumber(raw) : null;
}

export function dailyGate(totalToday: number, amount: Pick<DailyAmount, 'amount' | 'cap'>): GateResult {
  if (totalToday + amount.amount > amount.cap) return { pass: false, reason: 'daily_limit_exceeded' };
  return { pass: true };
}

/** UTC day of a unix-ms instant, as the daily key wants it (YYYY-MM-DD). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** What a grant counts against: the stored state of the symbol and the plan's amount and limits. */
export interface CountingInput {
  /** The execution list as stored (unix seconds as text, newest first). */
  execTimestamps: readonly string[];
  /** The stored daily total; null when the day has none yet. */
  dailyTotal: string | null;
  nowSec: number;
  /** false only with GOV_AUTO_APPROVE: no counting gate applies. */
  enforce: boolean;
  limits: RateLimits;
  /** What this execution adds to the daily total, and that total's cap (see dailyAmount). */
  amount: number;
  cap: number;
}

export type CountingCode =
  | 'granted'
  | 'hourly_limit_exceeded'
  | 'burst_limit_exceeded'
  | 'daily_limit_exceeded'
  | 'daily_total_invalid';

/**
 * The verdict and what it writes. Granted: `nowSec` joins the execution list and the daily total
 * becomes `newDailyTotal`. Blocked: a block record with `reason`, nothing counted.
 */
export type CountingVerdict = { counts: ExecCounts } & (
  | { code: 'granted'; total: number; newDailyTotal: number }
  | { code: Exclude<CountingCode, 'granted'>; reason: GovernorBlockReason }
);

/**
 * The counting gates in the contract's order: hourly, 5-minute, then the daily total. A stored
 * total that is not a number blocks even without enforcement: nothing could be counted on it.
 */
export function countingVerdict(input: CountingInput): CountingVerdict {
  const counts = execCounts(input.execTimestamps, input.nowSec);
  if (input.enforce) {
    const rate = rateGates(counts, input.limits);
    if (!rate.pass) return { counts, code: rate.reason, reason: rate.reason };
  }
  const total = parseDailyTotal(input.dailyTotal);
  if (total === null) return { counts, code: 'daily_total_invalid', reason: 'limit_computation_error' };
  if (input.enforce && !dailyGate(total, input).pass) {
    return { counts, code: 'daily_limit_exceeded', reason: 'daily_limit_exceeded' };
  }
  return { counts, code: 'granted', total, newDailyTotal: total + input.amount };
}
