import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { positionRiskParser } from '../../src/exchange/binance/position-rows.js';
import { positionRiskSchema } from '../../src/exchange/binance/schemas.js';

/** Values a field of a Binance answer could hold, valid or not. */
const anyValue = fc.oneof(
  fc.constantFrom(
    '0',
    '-0.010',
    '1',
    '12.5',
    '1e3',
    '',
    ' 1',
    '1.',
    '.5',
    '-',
    'NaN',
    '0x10',
    '00',
    '123456789',
  ),
  fc.stringMatching(/^-?\d{1,6}(\.\d{1,4})?$/),
  fc.string({ maxLength: 6 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -1, 1.5, NaN, Infinity, -Infinity, -0),
  fc.constantFrom(null, true, false, undefined),
  fc.constant({}),
  fc.constant([]),
);

const FIELDS = [
  'symbol',
  'positionSide',
  'positionAmt',
  'entryPrice',
  'markPrice',
  'unRealizedProfit',
  'leverage',
  'updateTime',
];

/** A row that is mostly valid, with any field missing or replaced by any value. */
const row = fc
  .record({
    symbol: fc.constantFrom('BTCUSDT', 'ETHUSDT'),
    positionSide: fc.constantFrom('BOTH', 'LONG'),
    positionAmt: fc.stringMatching(/^-?\d{1,4}(\.\d{1,3})?$/),
    entryPrice: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant('100.5')),
    markPrice: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant('101')),
    unRealizedProfit: fc.constant('0.00000000'),
    leverage: fc.constantFrom('20', 5),
    updateTime: fc.constantFrom(1769342400000, '1769342400000', 0),
  })
  .chain((r) =>
    fc
      .array(
        fc.tuple(fc.constantFrom(...FIELDS, 'extra'), fc.option(anyValue, { nil: undefined }), fc.boolean()),
        {
          maxLength: 3,
        },
      )
      .map((edits) => {
        const out: Record<string, unknown> = { ...r };
        for (const [field, value, drop] of edits) {
          if (drop) delete out[field];
          else out[field] = value;
        }
        return out;
      }),
  );

describe('positionRisk rows: the hand-written parser and the zod schema agree', () => {
  it('when any answer is parsed then both accept or refuse it, with the same rows', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.oneof(row, anyValue), { maxLength: 4 }), anyValue), (body) => {
        const ref = positionRiskSchema.safeParse(body);
        const fast = positionRiskParser.safeParse(body);
        expect(fast.success).toBe(ref.success);
        if (ref.success && fast.success) expect(fast.data).toEqual(ref.data);
      }),
      { numRuns: 20_000 },
    );
  });

  it('when a row is valid then its numbers come out as numbers and unknown fields are dropped', () => {
    const out = positionRiskParser.safeParse([
      {
        symbol: 'BTCUSDT',
        positionAmt: '-0.010',
        entryPrice: '100.5',
        markPrice: 101,
        unRealizedProfit: '0.1',
        updateTime: '1769342400000',
        notional: '-1.01',
      },
    ]);
    expect(out).toEqual({
      success: true,
      data: [
        {
          symbol: 'BTCUSDT',
          positionAmt: '-0.010',
          entryPrice: 100.5,
          markPrice: 101,
          unRealizedProfit: 0.1,
          updateTime: 1769342400000,
        },
      ],
    });
    expect(positionRiskParser.safeParse([{ symbol: 'X', positionAmt: '1e3' }]).success).toBe(false);
  });
});
