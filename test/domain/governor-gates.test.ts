import { describe, expect, it } from 'vitest';
import {
  countingVerdict,
  countSince,
  dailyAmount,
  dailyGate,
  killScoreGate,
  parseDailyTotal,
  utcDay,
  type CountingInput,
} from '../../src/domain/governor/gates.js';
import { actionFraction, parseAuthorityPlan, parsePyFloat } from '../../src/domain/governor/plan-input.js';
import { DEFAULT_GOVERNOR_LIMITS as L } from '../../src/ops/config.js';

const now = 1_800_000_000;
// PARTIAL_50 of 0.01 at 100000: 500 USD against the notional cap.
const base: CountingInput = {
  execTimestamps: [],
  dailyTotal: null,
  nowSec: now,
  enforce: true,
  limits: L,
  amount: 500,
  cap: L.maxReduceNotionalPerDayUsd,
};

describe('governor gates', () => {
  it('when kill score is critical and the action is not a close then kill_score_critical_non_close', () => {
    expect(killScoreGate('UPDATE_SL', 0.8, L)).toEqual({
      pass: false,
      reason: 'kill_score_critical_non_close',
    });
  });
  it('when kill score is critical but the action closes then the gate passes', () => {
    expect(killScoreGate('FULL_CLOSE_PROPOSED', 0.95, L).pass).toBe(true);
  });
  it('when three executions in the last hour then hourly_limit_exceeded before burst', () => {
    const ts = [now - 10, now - 20, now - 3000].map(String);
    expect(countingVerdict({ ...base, execTimestamps: ts })).toMatchObject({
      code: 'hourly_limit_exceeded',
      reason: 'hourly_limit_exceeded',
      counts: { hour: 3, fiveMin: 2 },
    });
  });
  it('when two executions in five minutes then burst_limit_exceeded', () => {
    const ts = [now - 10, now - 299].map(String);
    expect(countingVerdict({ ...base, execTimestamps: ts })).toMatchObject({
      code: 'burst_limit_exceeded',
      reason: 'burst_limit_exceeded',
    });
  });
  it('when executions are older than the windows then they do not count', () => {
    expect(countSince([String(now - 300), String(now - 3600), 'garbage', ''], now, 300)).toBe(0);
    expect(countSince([String(now - 299.5), String(now - 3599)], now, 3600)).toBe(2);
  });
  it('when today plus this notional exceeds the cap then daily_limit_exceeded', () => {
    expect(countingVerdict({ ...base, dailyTotal: '4600' })).toMatchObject({ code: 'daily_limit_exceeded' });
    expect(countingVerdict({ ...base, dailyTotal: '4500' })).toMatchObject({
      code: 'granted',
      total: 4500,
      newDailyTotal: 5000,
    });
  });
  it('when limits are not enforced then only a stored total that is not a number blocks', () => {
    const over = {
      ...base,
      enforce: false,
      dailyTotal: '4999',
      execTimestamps: [String(now)].concat(String(now)),
    };
    expect(countingVerdict(over)).toMatchObject({ code: 'granted', newDailyTotal: 5499 });
    expect(countingVerdict({ ...over, dailyTotal: 'junk' })).toMatchObject({
      code: 'daily_total_invalid',
      reason: 'limit_computation_error',
    });
  });
  it('when no price is known then the quantity cap applies', () => {
    const a = dailyAmount('FULL_CLOSE_PROPOSED', -0.015, null, L);
    expect(a).toEqual({
      ok: true,
      value: { qty: 0.015, notional: null, basis: 'qty', amount: 0.015, cap: 0.02 },
    });
    if (a.ok) expect(dailyGate(0.01, a.value)).toEqual({ pass: false, reason: 'daily_limit_exceeded' });
  });
  it('when the position amount is not finite then limit_computation_error', () => {
    expect(dailyAmount('PARTIAL_50', NaN, 100_000, L)).toEqual({
      ok: false,
      reason: 'limit_computation_error',
    });
  });
  it('when the stored daily total is garbage then it is reported as unparseable', () => {
    expect(parseDailyTotal(null)).toBe(0);
    expect(parseDailyTotal('12.5')).toBe(12.5);
    expect(parseDailyTotal('abc')).toBeNull();
  });
  it('when the clock crosses midnight UTC then the day changes', () => {
    const midnight = Date.UTC(2026, 0, 25);
    expect(utcDay(midnight - 1)).toBe('2026-01-24');
    expect(utcDay(midnight)).toBe('2026-01-25');
  });
});

describe('authority plan parsing', () => {
  const ok = {
    plan_id: '9fc366d9a9b3ef10',
    symbol: 'BTCUSDT',
    decision: 'EXECUTE',
    action: 'PARTIAL_75',
    kill_score: ' 0.539 ',
  };
  it('when fields are valid then the plan is parsed', () => {
    expect(parseAuthorityPlan(ok)).toEqual({
      ok: true,
      plan: {
        planId: '9fc366d9a9b3ef10',
        symbol: 'BTCUSDT',
        decision: 'EXECUTE',
        action: 'PARTIAL_75',
        killScore: 0.539,
      },
    });
  });
  it('when a field is missing, NaN, huge or binary then the entry is garbage with a reason', () => {
    expect(parseAuthorityPlan({ ...ok, plan_id: '' })).toEqual({ ok: false, reason: 'missing_plan_id' });
    expect(parseAuthorityPlan({ ...ok, plan_id: 'x'.repeat(500) })).toEqual({
      ok: false,
      reason: 'invalid_plan_id',
    });
    expect(parseAuthorityPlan({ ...ok, symbol: 'BTC\u0000USDT' })).toEqual({
      ok: false,
      reason: 'invalid_symbol',
    });
    expect(parseAuthorityPlan({ ...ok, kill_score: 'nan' })).toEqual({
      ok: false,
      reason: 'invalid_kill_score',
    });
    expect(parseAuthorityPlan({ ...ok, kill_score: '1e999' })).toEqual({
      ok: false,
      reason: 'invalid_kill_score',
    });
    expect(parseAuthorityPlan({ ...ok, kill_score: 'zz' })).toEqual({
      ok: false,
      reason: 'missing_kill_score',
    });
    expect(parseAuthorityPlan({ ...ok, decision: undefined as unknown as string })).toEqual({
      ok: false,
      reason: 'missing_decision',
    });
  });
  it('when numbers use Python float syntax then they parse like float()', () => {
    expect(parsePyFloat(' 1_0.5 ')).toBe(10.5);
    expect(parsePyFloat('-inf')).toBe(-Infinity);
    expect(Number.isNaN(parsePyFloat('NaN'))).toBe(true);
    expect(parsePyFloat('1.2.3')).toBeNull();
    expect(parsePyFloat('')).toBeNull();
  });
  it('when the action is partial then its fraction applies, otherwise the full position', () => {
    expect([
      actionFraction('PARTIAL_75'),
      actionFraction('PARTIAL_50'),
      actionFraction('FULL_CLOSE_PROPOSED'),
    ]).toEqual([0.75, 0.5, 1]);
  });
});
