import { describe, expect, it } from 'vitest';
import { decide, type Plan } from '../../src/domain/plan.js';
import { parseGovernorPermit, parseP33Permit, validatePermits } from '../../src/domain/permits.js';
import { parseProposal } from '../../src/domain/proposal.js';

function plan(symbol = 'BTCUSDT', action = 'PARTIAL_75'): Plan {
  const r = parseProposal(symbol, {
    harvest_action: action,
    kill_score: '0.2',
    computed_at_utc: '2026-01-25T00:00:00Z',
  });
  if (!r.ok) throw new Error(r.reason);
  return decide(r.proposal, {
    killSwitch: false,
    allowlist: new Set([symbol]),
    kBlockCritical: 0.8,
    kBlockWarning: 0.6,
    nowSec: Date.UTC(2026, 0, 25) / 1000 + 1,
    maxProposalAgeSec: 300,
  });
}

const gov = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    granted: true,
    symbol: 'BTCUSDT',
    decision: 'EXECUTE',
    computed_qty: 0.0465,
    computed_notional: 4000.5,
    created_at: 1769301825.123,
    consumed: false,
    ...o,
  });
const allow = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    allow: true,
    symbol: 'BTCUSDT',
    safe_close_qty: 0.046,
    exchange_position_amt: 0.062,
    ledger_amt: 0.062,
    created_at: 1769301825.2,
    reason: 'sanity_checks_passed',
    ...o,
  });
const run = (over: Partial<Parameters<typeof validatePermits>[0]> = {}) =>
  validatePermits({
    plan: plan(),
    governorBody: gov(),
    p33Body: allow(),
    position: '0.062',
    stepSize: '0.001',
    ...over,
  });
const error = (over: Partial<Parameters<typeof validatePermits>[0]> = {}) => {
  const v = run(over);
  return v.ok ? 'ok' : v.error;
};

describe('validatePermits', () => {
  it('when both permits are valid then the quantity is safe_close_qty rounded down to the step', () => {
    const v = run();
    expect(v).toMatchObject({ ok: true, quantity: '0.046', safeCloseQty: 0.046, planShare: '0.0465' });
    expect(
      run({ p33Body: allow({ safe_close_qty: 0.0469, exchange_position_amt: 0.07 }), position: '0.07' }),
    ).toMatchObject({ ok: true, quantity: '0.046' });
    expect(
      run({
        p33Body: allow({ safe_close_qty: 3, exchange_position_amt: -5 }),
        position: '-5',
        stepSize: '1',
      }),
    ).toMatchObject({ quantity: '3' });
  });
  it('when the position shrank since P3.3 looked then the order is the plan share of what is there now', () => {
    // Position 10, a first PARTIAL_50 sold 5; P3.3's permit for the second still says 5 (a
    // snapshot from before the first fill). Half of what is there now is 2.5, not 5.
    const second = run({
      plan: plan('BTCUSDT', 'PARTIAL_50'),
      p33Body: allow({ safe_close_qty: 5, exchange_position_amt: 10 }),
      position: '5',
    });
    expect(second).toMatchObject({ ok: true, quantity: '2.500', safeCloseQty: 5, planShare: '2.5' });
    expect(
      run({
        plan: plan('BTCUSDT', 'FULL_CLOSE_PROPOSED'),
        p33Body: allow({ safe_close_qty: 10, exchange_position_amt: 10 }),
        position: '-7.25',
      }),
    ).toMatchObject({ ok: false, error: 'safe_qty_exceeds_position' });
    expect(
      run({
        plan: plan('BTCUSDT', 'PARTIAL_75'),
        p33Body: allow({ safe_close_qty: 0.75, exchange_position_amt: 1 }),
        position: '0.9999',
      }),
    ).toMatchObject({ ok: true, quantity: '0.749' });
  });
  it('when a P3.3 permit is larger than the plan share of its own position then permit_qty_exceeds_plan', () => {
    // A forged plan entry with this plan's id but FULL_CLOSE_PROPOSED: P3.3 granted the whole
    // position for what is, here, a PARTIAL_50.
    const forged = { safe_close_qty: 10, exchange_position_amt: 10 };
    expect(error({ plan: plan('BTCUSDT', 'PARTIAL_50'), p33Body: allow(forged), position: '10' })).toBe(
      'permit_qty_exceeds_plan',
    );
    expect(error({ plan: plan('BTCUSDT', 'PARTIAL_75'), p33Body: allow(forged), position: '10' })).toBe(
      'permit_qty_exceeds_plan',
    );
    // One step above the share is refused; a float an ulp above it (Python's rounding) is not.
    expect(error({ p33Body: allow({ safe_close_qty: 0.047, exchange_position_amt: 0.062 }) })).toBe(
      'permit_qty_exceeds_plan',
    );
    expect(
      error({
        plan: plan('BTCUSDT', 'PARTIAL_50'),
        p33Body: allow({ safe_close_qty: 0.18700000000000003, exchange_position_amt: 0.374 }),
        position: '0.374',
      }),
    ).toBe('ok');
    // A stop carries no quantity of its own: nothing to compare.
    expect(
      error({
        plan: plan('BTCUSDT', 'UPDATE_SL'),
        p33Body: allow({ safe_close_qty: 0.062, exchange_position_amt: 0.062 }),
      }),
    ).not.toBe('permit_qty_exceeds_plan');
  });
  it('when a P3.3 allow for a close does not say what position it saw then it is refused', () => {
    expect(error({ p33Body: allow({ exchange_position_amt: undefined }) })).toBe('invalid_p33_permit_format');
    expect(error({ p33Body: allow({ exchange_position_amt: 'x' }) })).toBe('invalid_p33_permit_format');
  });
  it('when the position is flat or unknown then the permits are judged and no quantity is given', () => {
    expect(run({ position: '0' })).toMatchObject({ ok: true, quantity: null });
    expect(run({ position: null })).toMatchObject({ ok: true, quantity: null });
    expect(error({ position: '0', governorBody: gov({ granted: false }) })).toBe(
      'governor_permit_not_granted',
    );
  });
  it('when the governor body is not JSON, not an object or mistyped then invalid_governor_permit_format', () => {
    for (const body of [
      '',
      'not json',
      '[]',
      'null',
      '"x"',
      gov({ granted: 'true' }),
      gov({ symbol: 1 }),
      gov({ consumed: 'no' }),
      ' '.repeat(20_000) + '{}',
    ]) {
      expect(error({ governorBody: body })).toBe('invalid_governor_permit_format');
    }
    expect(error({ governorBody: JSON.stringify({ symbol: 'BTCUSDT' }) })).toBe(
      'invalid_governor_permit_format',
    );
  });
  it('when the governor did not grant then governor_permit_not_granted (the seed ignored granted)', () => {
    expect(error({ governorBody: gov({ granted: false }) })).toBe('governor_permit_not_granted');
  });
  it('when the governor permit names another decision or is marked consumed then it is refused', () => {
    expect(error({ governorBody: gov({ decision: 'BLOCKED' }) })).toBe('governor_permit_not_execute');
    expect(error({ governorBody: gov({ consumed: true }) })).toBe('governor_permit_already_consumed');
  });
  it('when the P3.3 body cannot be read then invalid_p33_permit_format', () => {
    for (const body of [
      '{',
      '{"allow": 1, "symbol": "BTCUSDT"}',
      '{"allow": true}',
      '{"allow": true, "symbol": "BTCUSDT"} x',
    ]) {
      expect(error({ p33Body: body })).toBe('invalid_p33_permit_format');
    }
  });
  it('when P3.3 denies then p33_permit_denied with its reason and context in detail', () => {
    const v = run({
      p33Body: JSON.stringify({
        allow: false,
        symbol: 'BTCUSDT',
        reason: 'cooldown_in_flight',
        context: { age: 3 },
        created_at: 1,
      }),
    });
    expect(v).toMatchObject({
      ok: false,
      error: 'p33_permit_denied',
      detail: { reason: 'cooldown_in_flight', context: { age: 3 } },
    });
  });
  it('when either body names another symbol then permit_symbol_mismatch (the seed ignored symbols)', () => {
    expect(error({ governorBody: gov({ symbol: 'ETHUSDT' }) })).toBe('permit_symbol_mismatch');
    expect(error({ p33Body: allow({ symbol: 'ETHUSDT' }) })).toBe('permit_symbol_mismatch');
  });
  it('when safe_close_qty is missing, not finite or not positive then invalid_safe_close_qty', () => {
    const bodies = [
      allow({ safe_close_qty: undefined }),
      allow({ safe_close_qty: 0 }),
      allow({ safe_close_qty: -0.01 }),
      allow({ safe_close_qty: 'abc' }),
      allow({ safe_close_qty: null }),
      allow({ safe_close_qty: [1] }),
      '{"allow": true, "symbol": "BTCUSDT", "safe_close_qty": NaN}',
      '{"allow": true, "symbol": "BTCUSDT", "safe_close_qty": Infinity}',
    ];
    for (const body of bodies) expect(error({ p33Body: body })).toBe('invalid_safe_close_qty');
  });
  it('when safe_close_qty is a Python-float string then it is accepted like float() reads it', () => {
    expect(run({ p33Body: allow({ safe_close_qty: ' 0.046 ' }) })).toMatchObject({
      ok: true,
      quantity: '0.046',
    });
  });
  it('when safe_close_qty exceeds the position seen on the exchange then BLOCKED, never clamped', () => {
    expect(error({ position: '0.045' })).toBe('safe_qty_exceeds_position');
    expect(error({ position: '-0.045' })).toBe('safe_qty_exceeds_position');
    expect(error({ position: '0.046' })).toBe('ok');
    expect(error({ position: 'NaN' })).toBe('invalid_position_amount');
  });
  it('when the rounded quantity is zero then qty_below_step; a bad step is its own reason', () => {
    expect(error({ p33Body: allow({ safe_close_qty: 0.0009 }) })).toBe('qty_below_step');
    expect(error({ stepSize: 'abc' })).toBe('invalid_step_size');
  });
  it('when several things are wrong then the first in contract order wins', () => {
    const v = run({ governorBody: gov({ granted: false, symbol: 'ETHUSDT' }), p33Body: '{' });
    expect(v).toMatchObject({ error: 'governor_permit_not_granted' });
    expect(error({ p33Body: allow({ symbol: 'ETHUSDT', safe_close_qty: -1 }) })).toBe(
      'permit_symbol_mismatch',
    );
  });
  it('when a refusal is returned then its detail names the plan and symbol', () => {
    expect(run({ governorBody: gov({ granted: false }) })).toMatchObject({
      detail: { plan_id: plan().planId, symbol: 'BTCUSDT' },
    });
  });
});

describe('permit body parsers', () => {
  it('when the governor body has extra fields and null numbers then it is still read', () => {
    const r = parseGovernorPermit(
      gov({ computed_notional: null, extra: { a: 1 }, created_at: '2026-01-25T00:30:08Z' }),
    );
    expect(r).toMatchObject({
      ok: true,
      permit: { granted: true, computedNotional: null, createdAt: null, computedQty: 0.0465 },
    });
  });
  it('when a body uses Python json NaN tokens then it parses as Python would', () => {
    const r = parseGovernorPermit('{"granted": true, "symbol": "BTCUSDT", "computed_notional": NaN}');
    expect(r.ok && Number.isNaN(r.permit.computedNotional)).toBe(true);
  });
  it('when a body carries a __proto__ key then it stays plain data', () => {
    const r = parseP33Permit('{"allow": true, "symbol": "BTCUSDT", "__proto__": {"safe_close_qty": 5}}');
    expect(r).toMatchObject({ ok: true, permit: { safeCloseQty: null } });
  });
  it('when a P3.3 deny has no reason then the reason is unknown', () => {
    expect(parseP33Permit('{"allow": false, "symbol": "BTCUSDT"}')).toMatchObject({
      ok: true,
      permit: { allow: false, reason: 'unknown', context: null },
    });
  });
});

describe('validatePermits guards', () => {
  it('when the plan is not EXECUTE then nothing is authorised whatever the permits say', () => {
    const hold = plan('BTCUSDT', 'HOLD');
    expect(
      validatePermits({
        plan: hold,
        governorBody: gov(),
        p33Body: allow(),
        position: '1',
        stepSize: '0.001',
      }),
    ).toMatchObject({ ok: false, error: 'plan_not_execute' });
  });
  it('when a body is large but within the limit then it is parsed in one pass', () => {
    const filler = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, `v${i}`]));
    expect(run({ governorBody: gov({ filler }) })).toMatchObject({ ok: true });
  });
});
