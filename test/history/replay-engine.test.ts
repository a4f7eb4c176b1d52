/**
 * The replay engine on cases worked out by hand: each expected outcome below is derived in the
 * comments from the contract's rules, not taken from a run.
 */
import { describe, expect, it } from 'vitest';
import { replay, type ReplayPlan, type ReplaySettings } from '../../src/domain/replay/engine.js';
import { compareReplays, outcomeLabel } from '../../src/domain/replay/report.js';
import { DEFAULT_GOVERNOR_LIMITS } from '../../src/ops/config.js';
import { T0 } from '../helpers/clock.js';

const MIN = 60_000;

const BASE: ReplaySettings = {
  killSwitch: false,
  allowlist: ['BTCUSDT', 'ETHUSDT'],
  kBlockCritical: 0.8,
  kBlockWarning: 0.6,
  maxProposalAgeSec: 300,
  limits: { ...DEFAULT_GOVERNOR_LIMITS }, // 3 an hour, 2 in 5 min, 5000 USD or 0.02 a day, kill 0.8
  autoApprove: false,
};

const granted = (atMs: number) => ({ granted: true, reason: '', atMs });
const blocked = (atMs: number, reason: string) => ({ granted: false, reason, atMs });

function plan(id: string, minute: number, over: Partial<ReplayPlan> = {}): ReplayPlan {
  const atMs = T0 + minute * MIN;
  return {
    planId: id,
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    killScore: 0.3,
    newSl: null,
    atMs,
    computedAtUtc: new Date(atMs - 5000).toISOString(),
    decision: 'EXECUTE',
    reasons: [],
    governor: granted(atMs),
    amount: { qty: 0.005, notional: 500 },
    ...over,
  };
}

// Recorded as the base settings decide them (so the base replay reproduces all 7):
//  p1 0 min   BTC: no execution yet                         -> granted
//  p2 1 min   BTC: hour 1 < 3, 5 min 1 < 2                  -> granted
//  p3 2 min   BTC: hour 2 < 3, 5 min 2 >= 2                 -> burst_limit_exceeded
//  p4 10 min  BTC: hour 2 (p1, p2) < 3, 5 min 0             -> granted
//  p5 20 min  BTC: hour 3 (p1, p2, p4) >= 3                 -> hourly_limit_exceeded
//  e1 5 min   ETH PARTIAL_50 kill 0.7: warning, a close, ok; governor 0.7 < 0.8 -> granted
//  e2 6 min   ETH UPDATE_SL kill 0.75: warning and not a close -> apply BLOCKED
const PLANS: ReplayPlan[] = [
  plan('p1', 0),
  plan('p2', 1),
  plan('p3', 2, { governor: blocked(T0 + 2 * MIN, 'burst_limit_exceeded') }),
  plan('p4', 10),
  plan('p5', 20, { governor: blocked(T0 + 20 * MIN, 'hourly_limit_exceeded') }),
  plan('e1', 5, { symbol: 'ETHUSDT', killScore: 0.7, reasons: ['kill_score_warning_close_ok'] }),
  plan('e2', 6, {
    symbol: 'ETHUSDT',
    action: 'UPDATE_SL',
    killScore: 0.75,
    newSl: 100,
    decision: 'BLOCKED',
    reasons: ['kill_score_warning_risk_increase'],
    governor: null,
    amount: null,
  }),
];

const labels = (settings: ReplaySettings, plans = PLANS) =>
  Object.fromEntries(replay(plans, settings).map((r) => [r.plan.planId, outcomeLabel(r.outcome)]));

const withLimits = (l: Partial<ReplaySettings['limits']>): ReplaySettings => ({
  ...BASE,
  limits: { ...BASE.limits, ...l },
});

describe('replay engine', () => {
  it('under the recorded settings reproduces every recorded decision', () => {
    expect(labels(BASE)).toEqual({
      p1: 'EXECUTE',
      p2: 'EXECUTE',
      p3: 'BLOCKED governor:burst_limit_exceeded',
      e1: 'EXECUTE',
      e2: 'BLOCKED apply:kill_score_warning_risk_increase',
      p4: 'EXECUTE',
      p5: 'BLOCKED governor:hourly_limit_exceeded',
    });
    const base = replay(PLANS, BASE);
    expect(compareReplays(base, base, T0).fidelity).toEqual({ compared: 7, matching: 7 });
  });

  it('GOV_MAX_EXEC_PER_HOUR=2 and K_BLOCK_CRITICAL=0.7 stop p4 and e1', () => {
    // p3: hour 2 >= 2 -> hourly (was burst: same decision, another reason)
    // p4: hour 2 (p1, p2) >= 2 -> hourly: a flip
    // p5: hour 2 -> hourly, as before
    // e1: 0.7 >= 0.7 -> apply kill_score_critical: a flip
    // e2: 0.75 >= 0.7 -> apply kill_score_critical (was the warning reason)
    const whatIf = { ...withLimits({ maxExecPerHour: 2 }), kBlockCritical: 0.7 };
    const r = compareReplays(replay(PLANS, BASE), replay(PLANS, whatIf), T0);
    expect(r.flips.map((f) => f.planId)).toEqual(['e1', 'p4']);
    expect(r.totals).toEqual({ flips: 2, nowExecute: 0, nowStopped: 2, reasonChanged: 2 });
    expect(r.byReason).toEqual([
      { key: 'EXECUTE -> BLOCKED apply:kill_score_critical', count: 1 },
      { key: 'EXECUTE -> BLOCKED governor:hourly_limit_exceeded', count: 1 },
    ]);
    expect(r.bySymbol).toEqual([
      { symbol: 'BTCUSDT', nowExecute: 0, nowStopped: 1 },
      { symbol: 'ETHUSDT', nowExecute: 0, nowStopped: 1 },
    ]);
  });

  it('a looser burst limit moves the third grant from p4 to p3', () => {
    // GOV_MAX_EXEC_PER_5MIN=5: p3 hour 2 < 3, 5 min 2 < 5 -> granted (a flip);
    // p4 then sees hour 3 (p1, p2, p3) -> hourly (a flip); p5 hour 3 -> hourly, as before.
    const r = compareReplays(replay(PLANS, BASE), replay(PLANS, withLimits({ maxExecPer5Min: 5 })), T0);
    expect(r.flips.map((f) => [f.planId, outcomeLabel(f.to)])).toEqual([
      ['p3', 'EXECUTE'],
      ['p4', 'BLOCKED governor:hourly_limit_exceeded'],
    ]);
    expect(r.totals).toEqual({ flips: 2, nowExecute: 1, nowStopped: 1, reasonChanged: 0 });
    expect(r.bySymbol).toEqual([{ symbol: 'BTCUSDT', nowExecute: 1, nowStopped: 1 }]);
  });

  it('a daily notional cap of 1000 USD blocks the third 500 USD grant of the day', () => {
    // p1 0 + 500 <= 1000, p2 500 + 500 = 1000 <= 1000: granted; p3 burst first, as before;
    // p4 1000 + 500 > 1000 -> daily (a flip); p5: hour 2 (p1, p2) passes, daily -> reason changed.
    const r = compareReplays(
      replay(PLANS, BASE),
      replay(PLANS, withLimits({ maxReduceNotionalPerDayUsd: 1000 })),
      T0,
    );
    expect(r.flips.map((f) => [f.planId, outcomeLabel(f.to)])).toEqual([
      ['p4', 'BLOCKED governor:daily_limit_exceeded'],
    ]);
    expect(r.totals.reasonChanged).toBe(1);
  });

  it('a plan without a price counts its quantity against the quantity cap', () => {
    // 0.015 + 0.015 = 0.03 > 0.02: the second unpriced close is blocked under the default cap.
    const q = (id: string, minute: number) => plan(id, minute, { amount: { qty: 0.015, notional: null } });
    expect(labels(BASE, [q('q1', 0), q('q2', 30)])).toEqual({
      q1: 'EXECUTE',
      q2: 'BLOCKED governor:daily_limit_exceeded',
    });
  });

  it('the daily total starts again at 00:00 UTC', () => {
    // 23:50 and 00:10 the next day, 0.015 each: different days, both granted.
    const day = Date.UTC(2026, 0, 25, 23, 50) - T0;
    const q = (id: string, ms: number) =>
      plan(id, ms / MIN, { amount: { qty: 0.015, notional: null }, governor: null });
    expect(labels(BASE, [q('d1', day), q('d2', day + 20 * MIN)])).toEqual({ d1: 'EXECUTE', d2: 'EXECUTE' });
  });

  it('what no setting decides stays as recorded', () => {
    // A disarm, a duplicate, a stale proposal without its computed_at and a failed position read
    // hold under GOV_AUTO_APPROVE and a wide allowlist.
    const plans = [
      plan('k1', 0, { decision: 'BLOCKED', reasons: ['kill_switch_active'], governor: null }),
      plan('d1', 1, { decision: 'SKIP', reasons: ['duplicate_plan'], governor: null }),
      plan('s1', 2, {
        decision: 'BLOCKED',
        reasons: ['stale_proposal'],
        computedAtUtc: null,
        governor: null,
      }),
      plan('f1', 3, { governor: blocked(T0 + 3 * MIN, 'position_fetch_failed'), amount: null }),
    ];
    expect(labels({ ...BASE, autoApprove: true }, plans)).toEqual({
      k1: 'BLOCKED apply:kill_switch_active',
      d1: 'SKIP apply:duplicate_plan',
      s1: 'BLOCKED apply:stale_proposal',
      f1: 'BLOCKED governor:position_fetch_failed',
    });
  });

  it('a failed position read is still blocked for a rate limit first, as the governor does', () => {
    // After p1 and p2 (2 in 5 min) the governor checks the rate gates before the position read.
    const plans = [
      plan('p1', 0),
      plan('p2', 1),
      plan('f1', 2, { governor: blocked(T0 + 2 * MIN, 'position_fetch_failed'), amount: null }),
    ];
    expect(labels(BASE, plans).f1).toBe('BLOCKED governor:burst_limit_exceeded');
  });

  it('a recorded computed_at is re-checked against APPLY_MAX_PROPOSAL_AGE_SEC', () => {
    // Computed 5 s before the decision: fresh at 300 s, stale at 3 s.
    expect(labels({ ...BASE, maxProposalAgeSec: 3 }, [plan('p1', 0)])).toEqual({
      p1: 'BLOCKED apply:stale_proposal',
    });
  });

  it('a symbol off the allowlist is skipped; APPLY_KILL_SWITCH blocks everything', () => {
    expect(labels({ ...BASE, allowlist: ['ETHUSDT'] }, [plan('p1', 0)]).p1).toBe(
      'SKIP apply:not_in_allowlist',
    );
    expect(labels({ ...BASE, killSwitch: true }, [plan('p1', 0)]).p1).toBe(
      'BLOCKED apply:kill_switch_active',
    );
  });

  it('GOV_KILL_SCORE_CRITICAL stops a non-close at the governor, a close passes', () => {
    // UPDATE_SL at 0.5 passes apply (below warning 0.6); the governor's 0.4 blocks it.
    const sl = plan('s1', 0, { action: 'UPDATE_SL', killScore: 0.5, newSl: 100 });
    const close = plan('c1', 1, { killScore: 0.5 });
    expect(labels(withLimits({ killScoreCritical: 0.4 }), [sl, close])).toEqual({
      s1: 'BLOCKED governor:kill_score_critical_non_close',
      c1: 'EXECUTE',
    });
  });

  it('an unknown amount passes the daily gate and is counted as unchecked', () => {
    const r = replay([plan('u1', 0, { amount: null })], withLimits({ maxReduceNotionalPerDayUsd: 0 }));
    expect(r[0]!.outcome).toEqual({ decision: 'EXECUTE', by: null, reason: '', dailyUnchecked: true });
  });

  it('plans before the window warm the counts but are not compared', () => {
    // From minute 1: p1 is not compared, yet its grant still counts for p3's burst limit.
    const r = compareReplays(replay(PLANS, BASE), replay(PLANS, BASE), T0 + MIN);
    expect(r.plans).toBe(6);
    expect(r.flips).toEqual([]);
  });
});
