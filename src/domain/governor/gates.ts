/**
 * The governor's gates, in the contract's order, as pure functions. This module is the single
 * definition of the rules: the grant script (grantPermit-5.lua) re-checks the counting gates
 * atomically with the same arithmetic, and a test feeds both the same inputs.
 */
import { actionFraction, isCloseAction } from './plan-input.js';

export interface GovernorLimits {
  killScoreCritical: number;
  maxExecPerHour: number;
  maxExecPer5Min: number;
  maxReduceNotionalPerDayUsd: number;
  maxReduceQtyPerDay: number;
}

export const DEFAULT_GOVERNOR_LIMITS: GovernorLimits = Object.freeze({
  killScoreCritical: 0.8,
  maxExecPerHour: 3,
  maxExecPer5Min: 2,
  maxReduceNotionalPerDayUsd: 5000,
  maxReduceQtyPerDay: 0.02,
});

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
 * Executions newer than `windowSec` before `nowSec`. Entries that are not numbers are ignored
 * (the script does the same: `tonumber` → nil).
 */
export function countSince(execTimestamps: string[], nowSec: number, windowSec: number): number {
  let n = 0;
  for (const t of execTimestamps) {
    const ts = Number(t);
    if (t.trim() !== '' && Number.isFinite(ts) && ts > nowSec - windowSec) n++;
  }
  return n;
}

export interface ExecCounts {
  hour: number;
  fiveMin: number;
}

export function execCounts(execTimestamps: string[], nowSec: number): ExecCounts {
  return {
    hour: countSince(execTimestamps, nowSec, HOUR_SEC),
    fiveMin: countSince(execTimestamps, nowSec, FIVE_MIN_SEC),
  };
}

export function rateGates(counts: ExecCounts, limits: GovernorLimits): GateResult {
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
export function parseDailyTotal(raw: string | null): number | null {
  if (raw === null) return 0;
  const v = Number(raw);
  return raw.trim() !== '' && Number.isFinite(v) ? v : null;
}

export function dailyGate(totalToday: number, amount: DailyAmount): GateResult {
  if (totalToday + amount.amount > amount.cap) return { pass: false, reason: 'daily_limit_exceeded' };
  return { pass: true };
}

/** UTC day of a unix-ms instant, as the daily key wants it (YYYY-MM-DD). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export interface GateInputs {
  action: string;
  killScore: number;
  execTimestamps: string[];
  nowSec: number;
  dailyTotal: number;
  positionAmt: number;
  markPrice: number | null;
}

/** Every gate in the contract's order (explanations, tests, and the script-equivalence test). */
export function evaluateGates(input: GateInputs, limits: GovernorLimits): GateResult {
  const k = killScoreGate(input.action, input.killScore, limits);
  if (!k.pass) return k;
  const r = rateGates(execCounts(input.execTimestamps, input.nowSec), limits);
  if (!r.pass) return r;
  const a = dailyAmount(input.action, input.positionAmt, input.markPrice, limits);
  if (!a.ok) return { pass: false, reason: a.reason };
  return dailyGate(input.dailyTotal, a.value);
}
