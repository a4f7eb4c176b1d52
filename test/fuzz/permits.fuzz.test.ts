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
import { jsonish, nastyText, RUNS } from './arbitraries.js';

function executePlan(symbol: string) {
  const p = parseProposal(symbol, { harvest_action: 'FULL_CLOSE_PROPOSED', kill_score: '0.3' });
  if (!p.ok) throw new Error('fixture');
  return decide(p.proposal, {
    killSwitch: false,
    allowlist: new Set([symbol]),
    kBlockCritical: 0.8,
    kBlockWarning: 0.6,
  });
}
const PLANS = { BTCUSDT: executePlan('BTCUSDT'), SOLUSDT: executePlan('SOLUSDT') };

const symbolField = fc.oneof(
  { weight: 8, arbitrary: fc.constant('BTCUSDT') },
  fc.constantFrom('btcusdt', 'BTCUSDT ', '', 'SOLUSDT'),
  jsonish,
);
const qtyField = fc.oneof(
  // Integer-based: fc.double is uniform over bit patterns, so it is mostly far below any step.
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => n / 1000) },
  fc.integer({ min: 1, max: 20_000 }).map((n) => n / 997),
  fc.double({ min: 0, max: 10, noNaN: true }).map(String),
  fc.constantFrom(0, -0, -1, 1e-12, 'nan', 'inf', '1e400', ' 2 ', '0x1'),
  jsonish,
);

const govObject = fc.record(
  {
    granted: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, jsonish),
    symbol: symbolField,
    decision: fc.oneof({ weight: 5, arbitrary: fc.constant('EXECUTE') }, jsonish),
    computed_qty: jsonish,
    computed_notional: jsonish,
    created_at: jsonish,
    consumed: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, jsonish),
  },
  { requiredKeys: ['granted', 'symbol'] },
);
const p33Object = fc.record(
  {
    allow: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, jsonish),
    symbol: symbolField,
    safe_close_qty: qtyField,
    exchange_position_amt: jsonish,
    ledger_amt: jsonish,
    created_at: jsonish,
    reason: jsonish,
  },
  { requiredKeys: ['allow', 'symbol', 'safe_close_qty'] },
);

/** A JSON text of `obj`, sometimes with a repeated key (Python's json keeps the last one). */
function bodyOf(objArb: fc.Arbitrary<Record<string, unknown>>, dupKey: string) {
  return fc.oneof(
    { weight: 8, arbitrary: objArb.map((o) => JSON.stringify(o)) },
    {
      weight: 1,
      arbitrary: fc.tuple(objArb, fc.nat()).map(([o, n]) => {
        const keys = Object.keys(o);
        const copy = { ...o };
        if (keys.length > 0) delete copy[keys[n % keys.length]!];
        return JSON.stringify(copy);
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(objArb, jsonish)
        .map(([o, v]) =>
          JSON.stringify({ ...o, [dupKey]: true }).replace(
            /}$/,
            `,"${dupKey}":${JSON.stringify(v) ?? 'null'}}`,
          ),
        ),
    },
    { weight: 1, arbitrary: nastyText },
  );
}

function json(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The contract's reasons to refuse, judged on the JSON as JavaScript reads it. */
function mustRefuse(gov: string, p33: string, symbol: string, position: number): string | null {
  const g = json(gov);
  const p = json(p33);
  if (!g || !p) return 'not_an_object';
  if (g.granted !== true) return 'not_granted';
  if (p.allow !== true) return 'not_allowed';
  if (g.symbol !== symbol || p.symbol !== symbol) return 'symbol';
  if (g.consumed === true) return 'consumed';
  if ('decision' in g && g.decision !== null && g.decision !== 'EXECUTE') return 'decision';
  const raw = p.safe_close_qty;
  const q = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
  if (typeof raw === 'string' && raw.trim() === '') return 'qty';
  if (!Number.isFinite(q) || q <= 0) return 'qty';
  if (q > Math.abs(position)) return 'above_position';
  return null;
}

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
            positionAmount: position,
            stepSize: step,
          });
          const why = mustRefuse(gov, p33, symbol, position);
          if (why !== null) refusedByOracle++;
          if (!v.ok) {
            expect(v.error).toMatch(/^[a-z0-9_]+$/);
            return;
          }
          oks++;
          expect(why).toBeNull();
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
    expect(oks).toBeGreaterThan(RUNS / 100);
    expect(refusedByOracle).toBeGreaterThan(RUNS / 4);
  });
});
