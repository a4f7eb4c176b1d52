/**
 * Proposals as upstream writes them (and as it should not): parseProposal → planIdOf → decide
 * never throw; every input ends as a plan with a decision and reasons, or a rejection reason
 * from the closed set; only allowlisted, below-threshold close/stop actions can be EXECUTE.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, planIdOf, planStreamFields } from '../../src/domain/plan.js';
import { computedAtSec, parseProposal } from '../../src/domain/proposal.js';
import { DECISION_DEFAULTS, FIXED_AT } from '../helpers/decide.js';
import { actionArb, fieldMap, mostly, nastyText, numText, RUNS, symbolArb } from './arbitraries.js';

const REJECTIONS = new Set([
  'missing_harvest_action',
  'missing_kill_score',
  'invalid_kill_score',
  'invalid_symbol',
  'field_too_long',
  'too_many_fields',
]);
const DECISIONS = new Set(['EXECUTE', 'SKIP', 'BLOCKED', 'ERROR']);
const REASON = /^[a-z0-9_]+(_[A-Za-z0-9_]*)?$/;

const proposalFields = fieldMap({
  harvest_action: actionArb,
  kill_score: mostly(numText(0, 1.2)),
  k_regime_flip: mostly(numText(0, 1)),
  k_sigma_spike: nastyText,
  k_ts_drop: nastyText,
  k_age_penalty: nastyText,
  new_sl_proposed: mostly(numText(-10, 100_000)),
  R_net: nastyText,
  last_update_epoch: nastyText,
  // Mostly fresh (a plan that would execute needs a fresh time); old, future, empty and nasty too.
  computed_at_utc: fc.oneof(
    { weight: 8, arbitrary: fc.constant(FIXED_AT) },
    fc.constantFrom('2026-01-24T00:00:00Z', '2026-01-26T00:00:00Z', ''),
    nastyText,
  ),
  reason_codes: fc.oneof(fc.constantFrom('a,b', ',,', ''), fc.string({ maxLength: 30 })),
});

const config = fc.record({
  killSwitch: fc.boolean(),
  kBlockCritical: fc.oneof(fc.constant(0.8), fc.double()),
  kBlockWarning: fc.oneof(fc.constant(0.6), fc.double()),
  maxAge: fc.constantFrom(300, 1, 86_400 * 2),
  allow: fc.subarray(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']),
});

describe('fuzz: proposals', () => {
  it('when any proposal hash is read then it yields a plan with a decision and reasons, or a rejection reason, never a throw', () => {
    let plans = 0;
    let executes = 0;
    fc.assert(
      fc.property(symbolArb, proposalFields, config, (symbol, fields, cfg) => {
        const parsed = parseProposal(symbol, fields);
        if (!parsed.ok) {
          expect(REJECTIONS.has(parsed.reason)).toBe(true);
          return;
        }
        plans++;
        const id = planIdOf(parsed.proposal);
        expect(id).toMatch(/^[0-9a-f]{16}$/);
        const plan = decide(parsed.proposal, {
          ...cfg,
          allowlist: new Set(cfg.allow),
          nowSec: DECISION_DEFAULTS.nowSec,
          maxProposalAgeSec: cfg.maxAge,
        });
        expect(DECISIONS.has(plan.decision)).toBe(true);
        expect(plan.planId).toBe(id);
        for (const r of plan.reasonCodes) expect(r).toMatch(REASON);
        if (plan.decision !== 'EXECUTE') {
          // Every refusal says why; an EXECUTE may carry none (a plain close).
          expect(plan.reasonCodes.length).toBeGreaterThan(0);
          expect(plan.steps).toEqual([]);
        } else {
          executes++;
          // Independent oracle: what may never be EXECUTE.
          const ks = parsed.proposal.killScore;
          expect(cfg.killSwitch).toBe(false);
          expect(cfg.allow).toContain(symbol);
          expect(Number.isFinite(ks) && ks >= 0 && ks <= 1).toBe(true);
          expect(ks < cfg.kBlockCritical).toBe(true);
          const at = computedAtSec(fields.computed_at_utc ?? '');
          expect(at).not.toBeNull();
          expect(DECISION_DEFAULTS.nowSec - at!).toBeLessThanOrEqual(cfg.maxAge);
          expect(at! - DECISION_DEFAULTS.nowSec).toBeLessThanOrEqual(60);
          expect(plan.steps).toHaveLength(1);
          const a = fields.harvest_action;
          expect(['FULL_CLOSE_PROPOSED', 'PARTIAL_75', 'PARTIAL_50', 'UPDATE_SL']).toContain(a);
          if (a === 'UPDATE_SL') {
            const step = plan.steps[0]!;
            expect(step.type === 'stop_loss_order' && Number.isFinite(step.price) && step.price > 0).toBe(
              true,
            );
          }
        }
        const entry = planStreamFields(plan, 1769300000.25);
        for (const v of Object.values(entry)) expect(typeof v).toBe('string');
        expect(entry.decision).toBe(plan.decision);
      }),
      { numRuns: RUNS },
    );
    // The generators must actually reach the interesting paths, or the property proves little.
    if (process.env.FUZZ_DEBUG) console.log('proposal.fuzz.test.ts plans', plans);
    expect(plans).toBeGreaterThan(RUNS / 20);
    if (process.env.FUZZ_DEBUG) console.log('proposal.fuzz.test.ts executes', executes);
    expect(executes).toBeGreaterThan(RUNS / 100);
  });
});
