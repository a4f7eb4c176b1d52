/** How a recorded plan ended (planEnd), on stories built by hand, and parseTimeArg. */
import { describe, expect, it } from 'vitest';
import { parseTimeArg, type PlanStory } from '../../src/history/query.js';
import { planEnd } from '../../src/history/stats.js';
import { toText } from '../../src/domain/decimal.js';
import { T0 } from '../helpers/clock.js';
import { decision, order, plan, result } from './recorded-rows.js';

const ID = 'e000000000000005';
const story = (over: Partial<PlanStory> = {}): PlanStory => ({
  plan: plan(ID, 'BTCUSDT', 'PARTIAL_50', 'EXECUTE', '', T0),
  decisions: [],
  orders: [],
  results: [],
  ...over,
});

describe('planEnd', () => {
  it('a dry run would have executed: dry_run, nothing closed', () => {
    const r = { ...result(ID, 'BTCUSDT', 'EXECUTE', false, '', T0 + 9), would_execute: 1 };
    expect(planEnd(story({ results: [r] }))).toMatchObject({ executed: false, stoppedBy: 'dry_run' });
  });

  it("P3.3's deny names P3.3 and its reason", () => {
    const deny = decision('p33', ID, 'BTCUSDT', 'DENY', 'reconcile_required_qty_mismatch', T0 + 3);
    const r = result(ID, 'BTCUSDT', 'EXECUTE', false, 'permit_timeout_or_missing:missing_p33', T0 + 9);
    expect(planEnd(story({ decisions: [deny], results: [r] }))).toMatchObject({
      stoppedBy: 'p33',
      reason: 'reconcile_required_qty_mismatch',
    });
  });

  it('granted by both but refused by the exchange: the result error, stopped at apply', () => {
    const r = result(ID, 'BTCUSDT', 'EXECUTE', false, 'order_rejected:-2022', T0 + 9);
    const d = [decision('governor', ID, 'BTCUSDT', 'GRANTED', '', T0 + 1)];
    expect(planEnd(story({ decisions: d, results: [r] }))).toMatchObject({
      stoppedBy: 'apply',
      reason: 'order_rejected:-2022',
    });
  });

  it('no result yet: pending; two fills add up exactly', () => {
    const fills = [
      order(ID, 'BTCUSDT', '0.1', '30000.1', T0 + 5),
      { ...order(ID, 'BTCUSDT', '0.2', '30000.2', T0 + 6), client_order_id: 'qa-x-2' },
    ];
    const e = planEnd(story({ orders: fills }));
    expect(e.stoppedBy).toBe('pending');
    // 0.1 * 30000.1 + 0.2 * 30000.2 = 3000.01 + 6000.04
    expect([toText(e.qtyClosed), toText(e.notionalClosed)]).toEqual(['0.3', '9000.05']);
  });

  it("apply's own stop keeps its reasons, without the warning-close note", () => {
    const p = plan(ID, 'BTCUSDT', 'UPDATE_SL', 'BLOCKED', 'kill_score_warning_close_ok,stale_proposal', T0);
    expect(planEnd(story({ plan: p }))).toMatchObject({ stoppedBy: 'apply', reason: 'stale_proposal' });
  });
});

describe('parseTimeArg', () => {
  it('reads spans back from now and ISO times; anything else is null', () => {
    expect(parseTimeArg('2h', T0)).toBe(T0 - 7_200_000);
    expect(parseTimeArg('7d', T0)).toBe(T0 - 7 * 86_400_000);
    expect(parseTimeArg('2026-01-25', T0)).toBe(Date.UTC(2026, 0, 25));
    expect(parseTimeArg('2026-01-25T12:00:00Z', 0)).toBe(T0);
    for (const bad of ['yesterday', '2h ago', '-2h', '2026-13-45', ''])
      expect(parseTimeArg(bad, T0), bad).toBeNull();
  });
});
