import { describe, expect, it } from 'vitest';
import { decide, type Plan } from '../../src/domain/plan.js';
import { parseGovernorPermit, parseP33Permit, validatePermits } from '../../src/domain/permits.js';
import { parseProposal } from '../../src/domain/proposal.js';

function plan(symbol = 'BTCUSDT', action = 'PARTIAL_75'): Plan {
  const r = parseProposal(symbol, { harvest_action: action, kill_score: '0.2', computed_at_utc: 'x' });
  if (!r.ok) throw new Error(r.reason);
  return decide(r.proposal, {
    killSwitch: false,
    allowlist: new Set([symbol]),
    kBlockCritical: 0.8,
    kBlockWarning: 0.6,
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
    positionAmount: 0.062,
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
    expect(v).toMatchObject({ ok: true, quantity: '0.046', safeCloseQty: 0.046 });
    expect(run({ p33Body: allow({ safe_close_qty: 0.0469 }) })).toMatchObject({
      ok: true,
      quantity: '0.046',
    });
    expect(run({ p33Body: allow({ safe_close_qty: 3 }), positionAmount: -5, stepSize: '1' })).toMatchObject({
      quantity: '3',
    });
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
    expect(error({ positionAmount: 0.045 })).toBe('safe_qty_exceeds_position');
    expect(error({ positionAmount: -0.045 })).toBe('safe_qty_exceeds_position');
    expect(error({ positionAmount: 0 })).toBe('safe_qty_exceeds_position');
    expect(error({ positionAmount: 0.046 })).toBe('ok');
    expect(error({ positionAmount: NaN })).toBe('invalid_position_amount');
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
        positionAmount: 1,
        stepSize: '0.001',
      }),
    ).toMatchObject({ ok: false, error: 'plan_not_execute' });
  });
  it('when a body is large but within the limit then it is parsed in one pass', () => {
    const filler = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, `v${i}`]));
    expect(run({ governorBody: gov({ filler }) })).toMatchObject({ ok: true });
  });
});
