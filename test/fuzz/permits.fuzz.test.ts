/**
 * Permit bodies as any authority (or anything else) might write them. The oracle is written
 * here, independently of src/domain/permits.ts, from the contract's rules: a verdict is ok only
 * when the governor body has granted === true, the P3.3 body allow === true, both name the
 * plan's symbol, safe_close_qty is a finite number > 0 not above the position, and the order
 * quantity is that value rounded down to the step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/plan.js';
import { validatePermits } from '../../src/domain/permits.js';
import { parseProposal } from '../../src/domain/proposal.js';
import { DECISION_DEFAULTS, FIXED_AT } from '../helpers/decide.js';
import { RUNS } from './arbitraries.js';
import { bodyOf, govObject, mustRefuse, p33Object } from './permit-oracle.js';

function executePlan(symbol: string) {
  const p = parseProposal(symbol, {
    harvest_action: 'FULL_CLOSE_PROPOSED',
    kill_score: '0.3',
    computed_at_utc: FIXED_AT,
  });
  if (!p.ok) throw new Error('fixture');
  return decide(p.proposal, { killSwitch: false, allowlist: new Set([symbol]), ...DECISION_DEFAULTS });
}
const PLANS = { BTCUSDT: executePlan('BTCUSDT'), SOLUSDT: executePlan('SOLUSDT') };

const STEPS = ['0.001', '1', '0.1', '0.00001'];

describe('fuzz: permit bodies', () => {
  it('when permit bodies are anything then no invalid set is ever ok, and an ok quantity is the safe quantity floored to the step', () => {
    let oks = 0;
    let refusedByOracle = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('BTCUSDT', 'BTCUSDT', 'BTCUSDT', 'SOLUSDT') as fc.Arbitrary<keyof typeof PLANS>,
        bodyOf(govObject, 'granted'),
        bodyOf(p33Object, 'allow'),
        fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: -30_000, max: 30_000 }).map((n) => n / 1000) },
          fc.double({ noNaN: false }),
          fc.constantFrom(0, Infinity, NaN, 1e-9),
        ),
        fc.constantFrom(...STEPS),
        (symbol, gov, p33, position, step) => {
          const v = validatePermits({
            plan: PLANS[symbol],
            governorBody: gov,
            p33Body: p33,
            position: String(position),
            stepSize: step,
          });
          // A flat position is no refusal: the plan is skipped (no_position), never sized.
          const why = position === 0 ? null : mustRefuse(gov, p33, symbol, position);
          if (why !== null) refusedByOracle++;
          if (!v.ok) {
            expect(v.error).toMatch(/^[a-z0-9_]+$/);
            return;
          }
          oks++;
          expect(why).toBeNull();
          if (v.quantity === null) {
            expect(Math.abs(position)).toBe(0); // 0 or -0: a flat position
            return;
          }
          const q = Number(v.quantity);
          expect(q).toBeGreaterThan(0);
          expect(q).toBeLessThanOrEqual(v.safeCloseQty);
          expect(v.safeCloseQty).toBeLessThanOrEqual(Math.abs(position));
          // On the grid: quantity / step is a whole number (checked in integer units).
          const decimals = step.includes('.') ? step.split('.')[1]!.length : 0;
          const units =
            BigInt(v.quantity.replace('.', '').replace(/^0+(?=\d)/, '')) *
            10n ** BigInt(Math.max(0, decimals - (v.quantity.split('.')[1]?.length ?? 0)));
          const stepUnits = BigInt(step.replace('.', '').replace(/^0+(?=\d)/, ''));
          expect(units % stepUnits).toBe(0n);
          // Rounded down by less than one step.
          expect(v.safeCloseQty - q).toBeLessThan(Number(step) + 1e-12);
        },
      ),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_DEBUG) console.log('permits.fuzz.test.ts oks', oks);
    expect(oks).toBeGreaterThan(RUNS / 100);
    if (process.env.FUZZ_DEBUG) console.log('permits.fuzz.test.ts refusedByOracle', refusedByOracle);
    expect(refusedByOracle).toBeGreaterThan(RUNS / 4);
  });
});
