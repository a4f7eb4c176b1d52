/**
 * Stream entries and hashes the authorities read: the plan entry (governor and P3.3 share
 * parseAuthorityPlan), the result entry P3.3's ledger follows, and the snapshot/ledger hashes.
 * Never a throw; garbage always has a snake_case reason; what parses is exactly what was sent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAuthorityPlan } from '../../src/domain/governor/plan-input.js';
import { parseLedger, parseSnapshot } from '../../src/domain/position/checks.js';
import { parseResultEntry } from '../../src/domain/position/ledger.js';
import { sign } from '../../src/domain/decimal.js';
import { actionArb, fieldMap, jsonish, mostly, nastyText, numText, RUNS, symbolArb } from './arbitraries.js';

const REASON = /^[a-z][a-z0-9_]*$/;

const planEntry = fieldMap({
  plan_id: mostly(fc.stringMatching(/^[0-9a-f]{16}$/)),
  symbol: symbolArb,
  action: actionArb,
  decision: mostly(fc.constantFrom('EXECUTE', 'SKIP', 'BLOCKED', 'ERROR')),
  kill_score: mostly(numText(0, 1)),
  steps: nastyText,
  close_qty: nastyText,
  timestamp: nastyText,
});

const stepArb = fc.record(
  {
    step: fc.constantFrom('CLOSE_FULL', 'UPDATE_SL'),
    side: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('BUY', 'SELL') },
      fc.constantFrom('buy', ''),
      jsonish,
    ),
    executed_qty: fc.oneof({ weight: 4, arbitrary: numText(-1, 10) }, jsonish),
    order_id: jsonish,
  },
  { requiredKeys: [] },
);

const resultEntry = fieldMap({
  plan_id: mostly(fc.stringMatching(/^[0-9a-f]{16}$/)),
  symbol: fc.oneof({ weight: 4, arbitrary: fc.constant('BTCUSDT') }, symbolArb),
  executed: fc.oneof(
    { weight: 4, arbitrary: fc.constant('True') },
    fc.constantFrom('False', 'true', '1', ''),
  ),
  steps_results: fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(fc.oneof({ weight: 3, arbitrary: stepArb }, jsonish), { maxLength: 3 })
        .map((a) => JSON.stringify(a)),
    },
    nastyText,
  ),
});

describe('fuzz: plan and result entries', () => {
  it('when any plan entry is read by an authority then it parses to exactly its fields or to a reason, never a throw', () => {
    let ok = 0;
    fc.assert(
      fc.property(planEntry, (fields) => {
        const r = parseAuthorityPlan(fields);
        if (!r.ok) {
          expect(r.reason).toMatch(REASON);
          return;
        }
        ok++;
        expect(r.plan.planId).toBe(fields.plan_id);
        expect(r.plan.symbol).toBe(fields.symbol);
        expect(r.plan.symbol).toMatch(/^[A-Z0-9]{2,30}$/);
        expect(r.plan.decision).toBe(fields.decision);
        // A NaN/inf kill score would slip past a >= gate: it must never parse.
        expect(Number.isFinite(r.plan.killScore)).toBe(true);
      }),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_DEBUG) console.log('plan-entry.fuzz.test.ts ok', ok);
    expect(ok).toBeGreaterThan(RUNS / 20);
  });

  it('when any result entry is followed by P3.3 then only executed entries with a side and a positive quantity move the ledger', () => {
    let fills = 0;
    fc.assert(
      fc.property(resultEntry, (fields) => {
        const out = parseResultEntry(fields);
        expect(out.length).toBeGreaterThan(0);
        for (const r of out) {
          if (r.kind === 'invalid') expect(r.reason).toMatch(REASON);
          if (r.kind !== 'fill') continue;
          fills++;
          expect(fields.executed).toBe('True');
          expect(['BUY', 'SELL']).toContain(r.fill.side);
          expect(sign(r.fill.executedQty)).toBe(1);
          expect(r.fill.symbol).toBe(fields.symbol);
        }
      }),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_DEBUG) console.log('plan-entry.fuzz.test.ts fills', fills);
    expect(fills).toBeGreaterThan(RUNS / 200);
  });

  it('when any snapshot or ledger hash is read then it parses or says snapshot_invalid / ledger_invalid, never a throw', () => {
    const hash = fieldMap({
      position_amt: mostly(numText(-5, 5)),
      ts_epoch: mostly(numText(1.7e9, 1.8e9)),
      mark_price: nastyText,
      last_known_amt: mostly(numText(-5, 5)),
      updated_at: nastyText,
      source: nastyText,
    });
    fc.assert(
      fc.property(hash, (h) => {
        const s = parseSnapshot(h);
        if (!s.ok) expect(s.reason).toBe('snapshot_invalid');
        else if (s.value) expect(Number.isFinite(s.value.tsEpoch)).toBe(true);
        const l = parseLedger(h);
        if (!l.ok) expect(l.reason).toBe('ledger_invalid');
        else if (l.value) expect(Number.isFinite(l.value.updatedAt)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('result entries with non-text quantities', () => {
  it.each([['[]'], ['true'], ['{}'], ['null']])(
    'when executed_qty is %s then the entry is invalid, not a throw that stalls the ledger',
    (qty) => {
      const out = parseResultEntry({
        symbol: 'BTCUSDT',
        executed: 'True',
        steps_results: `[{"side":"SELL","executed_qty":${qty}}]`,
      });
      expect(out.some((r) => r.kind === 'fill')).toBe(false);
    },
  );
});
