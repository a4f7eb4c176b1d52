/**
 * Input limits at the boundaries (SECURITY.md "Input limits"): out of bounds → a reason, never
 * a plan that can execute and never a permit that authorises an order.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ENTRY_CHARS, entryTooLarge } from '../../src/domain/entry-limits.js';
import { parseAuthorityPlan } from '../../src/domain/governor/plan-input.js';
import { decide } from '../../src/domain/plan.js';
import { MAX_PERMIT_BODY_CHARS, validatePermits } from '../../src/domain/permits.js';
import { parseResultEntry } from '../../src/domain/position/ledger.js';
import { MAX_FIELD_CHARS, parseProposal } from '../../src/domain/proposal.js';
import { DECISION_DEFAULTS, FIXED_AT } from '../helpers/decide.js';

const planEntry = (over: Record<string, string> = {}) => ({
  plan_id: '0123456789abcdef',
  symbol: 'BTCUSDT',
  action: 'FULL_CLOSE_PROPOSED',
  kill_score: '0.2',
  decision: 'EXECUTE',
  ...over,
});

const cfg = { killSwitch: false, allowlist: new Set(['BTCUSDT']), ...DECISION_DEFAULTS };

function executePlan() {
  const p = parseProposal('BTCUSDT', {
    harvest_action: 'FULL_CLOSE_PROPOSED',
    kill_score: '0.2',
    computed_at_utc: FIXED_AT,
  });
  if (!p.ok) throw new Error(p.reason);
  return decide(p.proposal, cfg);
}

describe('input limits', () => {
  it('when a plan or result entry exceeds the entry size then it is rejected before parsing', () => {
    const big = 'x'.repeat(MAX_ENTRY_CHARS);
    expect(entryTooLarge({ a: big })).toBe(true);
    expect(entryTooLarge({ a: 'x'.repeat(MAX_ENTRY_CHARS - 1) })).toBe(false);
    expect(parseAuthorityPlan(planEntry({ junk: big }))).toEqual({ ok: false, reason: 'entry_too_large' });
    expect(parseAuthorityPlan(planEntry())).toMatchObject({ ok: true });
    const result = {
      plan_id: '0123456789abcdef',
      symbol: 'BTCUSDT',
      executed: 'True',
      steps_results: `[${'{"side": "SELL", "executed_qty": "1"},'.repeat(3000)}{}]`,
    };
    expect(parseResultEntry(result)).toEqual([{ kind: 'invalid', reason: 'entry_too_large' }]);
  });

  it.each([
    ['plan_id', 'a'.repeat(65), 'invalid_plan_id'],
    ['plan_id', '../../etc', 'invalid_plan_id'],
    ['symbol', 'BTC USDT', 'invalid_symbol'],
    ['symbol', 'btcusdt', 'invalid_symbol'],
    ['symbol', 'B'.repeat(31), 'invalid_symbol'],
    ['symbol', 'BTC*', 'invalid_symbol'],
    ['decision', 'EXECUTE\r\n', 'invalid_decision'],
    ['kill_score', 'nan', 'invalid_kill_score'],
    ['kill_score', '-inf', 'invalid_kill_score'],
    ['kill_score', '1'.repeat(101), 'missing_kill_score'],
  ])('when a plan entry has %s=%j then the authorities reject it (%s)', (field, value, reason) => {
    expect(parseAuthorityPlan(planEntry({ [field]: value }))).toEqual({ ok: false, reason });
  });

  it('when a proposal has a bad symbol, an over-long field or a non-finite kill score then no EXECUTE plan', () => {
    expect(parseProposal('BTC:*', { harvest_action: 'HOLD', kill_score: '0' })).toMatchObject({
      ok: false,
      reason: 'invalid_symbol',
    });
    expect(
      parseProposal('BTCUSDT', { harvest_action: 'x'.repeat(MAX_FIELD_CHARS + 1), kill_score: '0' }),
    ).toMatchObject({ ok: false, reason: 'field_too_long' });
    const nan = parseProposal('BTCUSDT', { harvest_action: 'FULL_CLOSE_PROPOSED', kill_score: 'nan' });
    expect(nan.ok && decide(nan.proposal, cfg).decision).toBe('BLOCKED');
    const sl = parseProposal('BTCUSDT', {
      harvest_action: 'UPDATE_SL',
      kill_score: '0',
      new_sl_proposed: 'inf',
    });
    expect(sl.ok && decide(sl.proposal, cfg).reasonCodes).toEqual(['invalid_new_sl']);
  });

  it('when a permit body is too large, nested too deep or carries a non-finite quantity then no order', () => {
    const plan = executePlan();
    const gov = JSON.stringify({ granted: true, symbol: 'BTCUSDT', decision: 'EXECUTE' });
    const allow = (safe: string) =>
      `{"allow": true, "symbol": "BTCUSDT", "safe_close_qty": ${safe}, "exchange_position_amt": 1}`;
    const run = (governorBody: string, p33Body: string) => {
      const v = validatePermits({ plan, governorBody, p33Body, position: '1', stepSize: '0.001' });
      return v.ok ? 'ok' : v.error;
    };
    expect(run(gov, allow('0.5'))).toBe('ok');
    expect(run(gov, allow('NaN'))).toBe('invalid_safe_close_qty');
    expect(run(gov, allow('Infinity'))).toBe('invalid_safe_close_qty');
    expect(run(gov, allow('-1'))).toBe('invalid_safe_close_qty');
    expect(run(gov, allow('1e400'))).toBe('invalid_safe_close_qty');
    const padded = gov.replace('}', `, "pad": "${'x'.repeat(MAX_PERMIT_BODY_CHARS)}"}`);
    expect(run(padded, allow('0.5'))).toBe('invalid_governor_permit_format');
    const deep = `{"allow": true, "symbol": "BTCUSDT", "safe_close_qty": 0.5, "c": ${'['.repeat(40)}${']'.repeat(40)}}`;
    expect(run(gov, deep)).toBe('invalid_p33_permit_format');
  });
});
