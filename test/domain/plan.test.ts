import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  actionFraction,
  decide,
  markDuplicate,
  planIdOf,
  planStreamFields,
  type DecisionConfig,
} from '../../src/domain/plan.js';
import { parseProposal, type Proposal } from '../../src/domain/proposal.js';

function proposal(symbol: string, fields: Record<string, string>): Proposal {
  const r = parseProposal(symbol, fields);
  if (!r.ok) throw new Error(r.reason);
  return r.proposal;
}

const at = '2026-01-25T00:43:45Z';
const atSec = Date.UTC(2026, 0, 25, 0, 43, 45) / 1000;
const cfg: DecisionConfig = {
  killSwitch: false,
  allowlist: new Set(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']),
  kBlockCritical: 0.8,
  kBlockWarning: 0.6,
  nowSec: atSec + 2,
  maxProposalAgeSec: 300,
};
const p = (action: string, kill: string, extra: Record<string, string> = {}) =>
  proposal('BTCUSDT', { harvest_action: action, kill_score: kill, computed_at_utc: at, ...extra });

describe('planIdOf', () => {
  it('when the three contract vectors are hashed then the ids match', () => {
    expect(planIdOf(p('PARTIAL_75', '0.539', { new_sl_proposed: '' }))).toBe('9fc366d9a9b3ef10');
    expect(
      planIdOf(
        proposal('ETHUSDT', {
          harvest_action: 'FULL_CLOSE_PROPOSED',
          kill_score: '0.81',
          new_sl_proposed: '100',
          computed_at_utc: '2026-01-25T00:45:45.123456+00:00',
        }),
      ),
    ).toBe('7db55e142b929234');
    expect(
      planIdOf(
        proposal('SOLUSDT', {
          harvest_action: 'UPDATE_SL',
          kill_score: '0.2',
          new_sl_proposed: '142.35',
          computed_at_utc: '2026-01-25T01:00:00Z',
        }),
      ),
    ).toBe('c46aa3399ef524cb');
  });
  it('when CPython computes ids for awkward proposals (fixtures/gen_pyfloat.py) then ours agree, including "no plan"', () => {
    const vectors = JSON.parse(
      readFileSync(new URL('./fixtures/pyfloat-vectors.json', import.meta.url), 'utf8'),
    ) as { plan_ids: [string, Record<string, string>, string | null][] };
    expect(vectors.plan_ids.length).toBeGreaterThan(100);
    for (const [symbol, fields, want] of vectors.plan_ids) {
      const r = parseProposal(symbol, fields);
      expect({ symbol, fields, id: r.ok ? planIdOf(r.proposal) : null }).toEqual({
        symbol,
        fields,
        id: want,
      });
    }
  });
});

describe('decide', () => {
  const decision = (pr: Proposal, c: Partial<DecisionConfig> = {}) => {
    const plan = decide(pr, { ...cfg, ...c });
    return [plan.decision, plan.reasonCodes.join(',')];
  };
  it('when the kill switch is on then BLOCKED before every other rule', () => {
    expect(
      decision(proposal('XRPUSDT', { harvest_action: 'HOLD', kill_score: '0.99' }), { killSwitch: true }),
    ).toEqual(['BLOCKED', 'kill_switch_active']);
  });
  it('when the symbol is not allowlisted then SKIP not_in_allowlist, even at a critical score', () => {
    expect(
      decision(proposal('XRPUSDT', { harvest_action: 'FULL_CLOSE_PROPOSED', kill_score: '0.99' })),
    ).toEqual(['SKIP', 'not_in_allowlist']);
  });
  it('when kill_score reaches the critical threshold then BLOCKED for every action', () => {
    for (const a of ['FULL_CLOSE_PROPOSED', 'UPDATE_SL', 'HOLD', 'WHATEVER']) {
      expect(decision(p(a, '0.8'))).toEqual(['BLOCKED', 'kill_score_critical']);
    }
    expect(decision(p('HOLD', '1'))).toEqual(['BLOCKED', 'kill_score_critical']);
  });
  it('when kill_score is in the warning band then closes execute and everything else is blocked', () => {
    expect(decision(p('PARTIAL_50', '0.6'))).toEqual(['EXECUTE', 'kill_score_warning_close_ok']);
    expect(decision(p('FULL_CLOSE_PROPOSED', '0.79999'))).toEqual(['EXECUTE', 'kill_score_warning_close_ok']);
    for (const a of ['UPDATE_SL', 'HOLD', 'OPEN_LONG']) {
      expect(decision(p(a, '0.7', { new_sl_proposed: '1' }))).toEqual([
        'BLOCKED',
        'kill_score_warning_risk_increase',
      ]);
    }
  });
  it('when kill_score is not finite or off the [0, 1] scale then BLOCKED invalid_kill_score', () => {
    // NaN compares false in Python, so the seed executed it; -5 and -1e308 passed every gate.
    for (const k of ['nan', '-inf', 'inf', '-5', '-1e308', '1e308', '1.0000001', '-0.0000001']) {
      for (const a of ['FULL_CLOSE_PROPOSED', 'UPDATE_SL', 'HOLD']) {
        expect(decision(p(a, k, { new_sl_proposed: '90' })), `${a} ${k}`).toEqual([
          'BLOCKED',
          'invalid_kill_score',
        ]);
      }
    }
    expect(decision(p('FULL_CLOSE_PROPOSED', '0'))).toEqual(['EXECUTE', '']);
    expect(decision(p('FULL_CLOSE_PROPOSED', '-0.0'))).toEqual(['EXECUTE', '']);
    expect(decision(p('FULL_CLOSE_PROPOSED', '1'))).toEqual(['BLOCKED', 'kill_score_critical']);
  });
  it('when the proposal is older than the bound then a plan that would execute is BLOCKED stale_proposal', () => {
    const aged = (seconds: number, action = 'PARTIAL_50') =>
      decision(p(action, '0.1', { new_sl_proposed: '90' }), { nowSec: atSec + seconds });
    expect(aged(300)).toEqual(['EXECUTE', '']);
    expect(aged(300.5)).toEqual(['BLOCKED', 'stale_proposal']);
    expect(aged(6 * 3600)).toEqual(['BLOCKED', 'stale_proposal']);
    expect(aged(6 * 3600, 'UPDATE_SL')).toEqual(['BLOCKED', 'stale_proposal']);
    expect(decision(p('PARTIAL_50', '0.7'), { nowSec: atSec + 301 })).toEqual([
      'BLOCKED',
      'kill_score_warning_close_ok,stale_proposal',
    ]);
    // Plans that would not execute keep their own decision.
    expect(aged(6 * 3600, 'HOLD')).toEqual(['SKIP', 'action_hold']);
    expect(decision(p('PARTIAL_50', '0.9'), { nowSec: atSec + 9999 })).toEqual([
      'BLOCKED',
      'kill_score_critical',
    ]);
    expect(decide(p('PARTIAL_50', '0.1'), { ...cfg, nowSec: atSec + 301 }).steps).toEqual([]);
  });
  it('when computed_at_utc is absent, malformed or in the future then the plan never executes', () => {
    const withAt = (value: string | undefined, nowSec = atSec) => {
      const fields: Record<string, string> = { harvest_action: 'FULL_CLOSE_PROPOSED', kill_score: '0.1' };
      if (value !== undefined) fields.computed_at_utc = value;
      return decision(proposal('BTCUSDT', fields), { nowSec });
    };
    for (const bad of [
      undefined,
      '',
      'yesterday',
      '2026-01-25',
      '2026-02-30T00:00:00Z',
      '2026-01-25T24:00:00Z',
    ]) {
      expect(withAt(bad), String(bad)).toEqual(['BLOCKED', 'invalid_computed_at']);
    }
    expect(withAt(at, atSec - 61)).toEqual(['BLOCKED', 'invalid_computed_at']);
    expect(withAt(at, atSec - 60)).toEqual(['EXECUTE', '']);
    // The exit brain's own format: datetime.utcnow().isoformat(), UTC without a zone.
    expect(withAt('2026-01-25T00:43:44.123456', atSec)).toEqual(['EXECUTE', '']);
    expect(withAt('2026-01-25T01:43:45+01:00', atSec)).toEqual(['EXECUTE', '']);
  });
  it('when a threshold is not finite then BLOCKED', () => {
    expect(decision(p('FULL_CLOSE_PROPOSED', '0.1'), { kBlockCritical: NaN })).toEqual([
      'BLOCKED',
      'kill_thresholds_invalid',
    ]);
  });
  it('when a close action passes then one market_reduce_only step with its pct', () => {
    const steps = (a: string) => decide(p(a, '0.1'), cfg);
    expect(steps('FULL_CLOSE_PROPOSED')).toMatchObject({
      decision: 'EXECUTE',
      reasonCodes: [],
      closeFraction: 1,
      steps: [{ step: 'CLOSE_FULL', type: 'market_reduce_only', side: 'close', pct: 100 }],
    });
    expect(steps('PARTIAL_75').steps).toEqual([
      { step: 'CLOSE_PARTIAL_75', type: 'market_reduce_only', side: 'close', pct: 75 },
    ]);
    expect(steps('PARTIAL_50')).toMatchObject({
      closeFraction: 0.5,
      steps: [{ step: 'CLOSE_PARTIAL_50', pct: 50 }],
    });
  });
  it('when UPDATE_SL has a price then a stop_loss_order step, otherwise ERROR', () => {
    expect(decide(p('UPDATE_SL', '0.1', { new_sl_proposed: '142.35' }), cfg)).toMatchObject({
      decision: 'EXECUTE',
      closeFraction: null,
      steps: [{ step: 'UPDATE_SL', type: 'stop_loss_order', price: 142.35 }],
    });
    for (const sl of ['', 'abc', '0'])
      expect(decision(p('UPDATE_SL', '0.1', { new_sl_proposed: sl }))).toEqual(['ERROR', 'missing_new_sl']);
    expect(decision(p('UPDATE_SL', '0.1'))).toEqual(['ERROR', 'missing_new_sl']);
    for (const sl of ['nan', 'inf', '-5'])
      expect(decision(p('UPDATE_SL', '0.1', { new_sl_proposed: sl }))).toEqual(['ERROR', 'invalid_new_sl']);
  });
  it('when the action is HOLD or unknown then SKIP action_hold / ERROR unknown_action_<A>, without steps', () => {
    expect(decide(p('HOLD', '0.1'), cfg)).toMatchObject({
      decision: 'SKIP',
      reasonCodes: ['action_hold'],
      steps: [],
    });
    expect(decision(p('OPEN_LONG', '0.1'))).toEqual(['ERROR', 'unknown_action_OPEN_LONG']);
    expect(decision(p('a,b c', '0.1'))).toEqual(['ERROR', 'unknown_action_a_b_c']);
  });
  it('when a plan is decided then it carries the proposal and its own reason codes', () => {
    const plan = decide(p('PARTIAL_75', '0.539', { reason_codes: 'r_net_peak,trailing' }), cfg);
    expect(plan.planId).toBe('9fc366d9a9b3ef10');
    expect(plan.proposal.reasonCodes).toEqual(['r_net_peak', 'trailing']);
    expect(plan.reasonCodes).toEqual([]);
  });
});

describe('markDuplicate', () => {
  it('when an EXECUTE plan is a duplicate then SKIP duplicate_plan, reasons kept, no steps', () => {
    const dup = markDuplicate(decide(p('PARTIAL_50', '0.7'), cfg));
    expect(dup).toMatchObject({
      decision: 'SKIP',
      reasonCodes: ['kill_score_warning_close_ok', 'duplicate_plan'],
      steps: [],
    });
  });
  it('when the plan is not EXECUTE then it is returned unchanged', () => {
    const plan = decide(p('HOLD', '0.1'), cfg);
    expect(markDuplicate(plan)).toBe(plan);
  });
});

describe('actionFraction', () => {
  it('when the action closes then its fraction, otherwise null', () => {
    expect(
      ['FULL_CLOSE_PROPOSED', 'PARTIAL_75', 'PARTIAL_50', 'UPDATE_SL', 'HOLD', 'toString', ''].map(
        actionFraction,
      ),
    ).toEqual([1, 0.75, 0.5, null, null, null, null]);
  });
});

describe('planStreamFields', () => {
  it('when a plan is published then the fields are exactly the contract list in the fleet format', () => {
    const plan = decide(p('PARTIAL_75', '0.539'), cfg);
    expect(planStreamFields(plan, 1769301825.9)).toEqual({
      plan_id: '9fc366d9a9b3ef10',
      symbol: 'BTCUSDT',
      action: 'PARTIAL_75',
      kill_score: '0.539',
      k_regime_flip: '0.0',
      k_sigma_spike: '0.0',
      k_ts_drop: '0.0',
      k_age_penalty: '0.0',
      new_sl_proposed: '',
      R_net: 'None',
      decision: 'EXECUTE',
      reason_codes: '',
      steps: '[{"step": "CLOSE_PARTIAL_75", "type": "market_reduce_only", "side": "close", "pct": 75.0}]',
      close_qty: '0.0',
      price: '',
      timestamp: '1769301825',
    });
  });
  it('when numbers are awkward then they are written as Python str() would', () => {
    const plan = decide(
      p('UPDATE_SL', ' 0.0078125 ', {
        new_sl_proposed: '1e-5',
        k_ts_drop: '1e16',
        R_net: '-0',
        k_regime_flip: '1_0',
      }),
      cfg,
    );
    const f = planStreamFields(plan, 5, '0.002', 101.5);
    expect(f).toMatchObject({
      kill_score: '0.0078125',
      new_sl_proposed: '1e-05',
      k_ts_drop: '1e+16',
      k_regime_flip: '10.0',
      R_net: '-0.0',
      close_qty: '0.002',
      price: '101.5',
      steps: '[{"step": "UPDATE_SL", "type": "stop_loss_order", "price": 1e-05}]',
    });
  });
  it('when a plan is blocked then reason codes are comma-joined and steps is an empty list', () => {
    const plan = markDuplicate(decide(p('FULL_CLOSE_PROPOSED', '0.65'), cfg));
    expect(planStreamFields(plan, 0)).toMatchObject({
      decision: 'SKIP',
      reason_codes: 'kill_score_warning_close_ok,duplicate_plan',
      steps: '[]',
    });
  });
});
