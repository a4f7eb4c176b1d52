import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainDecimal } from '../../src/domain/decimal.js';
import { checkStopPrice, STOP_PRICE_REASONS, type StopPriceInput } from '../../src/domain/stop-price.js';
import { addDecimal, compareDecimal, isMultipleOf } from '../../src/domain/decimal.js';

// PRICE_FILTERs as Binance USD-M lists them (BTCUSDT, ETHUSDT, DOGEUSDT), and one without bounds.
const BTC = { tickSize: '0.10', minPrice: '556.80', maxPrice: '4529764' };
const ETH = { tickSize: '0.01', minPrice: '39.86', maxPrice: '306177' };
const DOGE = { tickSize: '0.000010', minPrice: '0.002440', maxPrice: '30' };
const UNBOUNDED = { tickSize: '0.01', minPrice: '0', maxPrice: '0' };

const sell = (price: number, markPrice: number, f = BTC) =>
  checkStopPrice({ price, side: 'SELL', markPrice, ...f });
const buy = (price: number, markPrice: number, f = BTC) =>
  checkStopPrice({ price, side: 'BUY', markPrice, ...f });
const ok = (triggerPrice: string) => ({ ok: true, triggerPrice });
const refused = (reason: string) => expect.objectContaining({ ok: false, reason });

describe('checkStopPrice: rounding to the tick', () => {
  it("when a long's SELL stop is off the tick then it is rounded down, away from the mark", () => {
    expect(sell(55000.04, 60000)).toEqual(ok('55000.0'));
    expect(sell(55000.09, 60000)).toEqual(ok('55000.0'));
    expect(sell(2812.345, 3000, ETH)).toEqual(ok('2812.34'));
    expect(sell(0.1234567, 0.15, DOGE)).toEqual(ok('0.12345'));
  });
  it("when a short's BUY stop is off the tick then it is rounded up, away from the mark", () => {
    expect(buy(61000.01, 60000)).toEqual(ok('61000.1'));
    expect(buy(3100.005, 3000, ETH)).toEqual(ok('3100.01'));
    expect(buy(0.1500001, 0.15, DOGE)).toEqual(ok('0.15001'));
  });
  it('when the stop is on the tick then it is kept, written with the tick decimals', () => {
    expect(sell(55000.1, 60000)).toEqual(ok('55000.1'));
    expect(sell(55000, 60000)).toEqual(ok('55000.0'));
    expect(buy(3100, 3000, ETH)).toEqual(ok('3100.00'));
    expect(sell(12340, 20000, { tickSize: '10', minPrice: '0', maxPrice: '0' })).toEqual(ok('12340'));
  });
  it('when the price is a float like 0.1 + 0.2 then its shortest decimal (0.30000000000000004) is what is rounded', () => {
    expect(sell(0.1 + 0.2, 0.5, UNBOUNDED)).toEqual(ok('0.30'));
    expect(buy(0.1 + 0.2, 0.2, UNBOUNDED)).toEqual(ok('0.31'));
    expect(buy(142.35, 100, UNBOUNDED)).toEqual(ok('142.35'));
  });
});

describe('checkStopPrice: PRICE_FILTER range', () => {
  it('when the stop equals minPrice or maxPrice then it is accepted', () => {
    expect(sell(556.8, 60000)).toEqual(ok('556.8'));
    expect(buy(4529764, 60000)).toEqual(ok('4529764.0'));
  });
  it('when rounding takes the stop below minPrice or above maxPrice then stop_price_out_of_range', () => {
    expect(sell(556.79, 60000)).toEqual(refused('stop_price_out_of_range'));
    expect(sell(100, 60000)).toEqual(refused('stop_price_out_of_range'));
    expect(buy(4529764.01, 60000)).toEqual(refused('stop_price_out_of_range'));
  });
  it('when a SELL stop just above maxPrice rounds down onto it then it is accepted', () => {
    expect(sell(4529764.05, 5_000_000)).toEqual(ok('4529764.0'));
  });
  it('when the price is 1e308 then stop_price_out_of_range, bounded or not, and cheaply', () => {
    expect(buy(1e308, 60000)).toEqual(refused('stop_price_out_of_range'));
    expect(sell(1e308, 60000)).toEqual(refused('stop_price_out_of_range'));
    expect(buy(1e308, 60000, UNBOUNDED)).toEqual(refused('stop_price_out_of_range'));
    expect(buy(Number.MAX_VALUE, 60000, UNBOUNDED)).toEqual(refused('stop_price_out_of_range'));
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) buy(1e308, 60000);
    expect(performance.now() - started).toBeLessThan(1000);
  });
  it('when minPrice and maxPrice are 0 then neither bounds the stop', () => {
    expect(buy(1e12, 1, UNBOUNDED)).toEqual(ok('1000000000000.00'));
    expect(sell(0.01, 1, UNBOUNDED)).toEqual(ok('0.01'));
  });
});

describe('checkStopPrice: invalid prices and filters', () => {
  it('when the price is not finite, not positive or not a number then invalid_stop_price', () => {
    for (const price of [NaN, Infinity, -Infinity, 0, -0, -5, '55000' as unknown as number])
      expect({ price, r: sell(price, 60000) }).toEqual({ price, r: refused('invalid_stop_price') });
  });
  it('when a SELL stop rounds down to zero then invalid_stop_price (it cannot be put on the grid)', () => {
    expect(sell(5e-324, 1, UNBOUNDED)).toEqual(refused('invalid_stop_price'));
    expect(sell(1e-7, 1, UNBOUNDED)).toEqual(refused('invalid_stop_price'));
  });
  it('when a tiny BUY stop rounds up to one tick then that tick is the trigger (no exponent) unless below minPrice', () => {
    expect(buy(1e-7, 5e-8, UNBOUNDED)).toEqual(ok('0.01'));
    expect(buy(1e-7, 5e-8, DOGE)).toEqual(refused('stop_price_out_of_range'));
  });
  it('when the side is neither BUY nor SELL then invalid_stop_price', () => {
    const input = { price: 55000, side: 'LONG', markPrice: 60000, ...BTC } as unknown as StopPriceInput;
    expect(checkStopPrice(input)).toEqual(refused('invalid_stop_price'));
  });
  it('when the PRICE_FILTER is malformed, inverted or its minPrice is off the tick then invalid_price_filter', () => {
    const bad = [
      { ...BTC, tickSize: '0' },
      { ...BTC, tickSize: '-0.1' },
      { ...BTC, tickSize: '1e-1' },
      { ...BTC, minPrice: '' },
      { ...BTC, maxPrice: undefined as unknown as string },
      { ...BTC, minPrice: '5000000' },
      { ...BTC, minPrice: '556.85' },
      { ...BTC, tickSize: `0.${'0'.repeat(40)}1` },
    ];
    for (const f of bad)
      expect({ f, r: sell(55000, 60000, f) }).toEqual({ f, r: refused('invalid_price_filter') });
  });
});

describe('checkStopPrice: the mark', () => {
  it('when the stop equals the mark then stop_price_would_trigger on both sides', () => {
    expect(sell(60000, 60000)).toEqual(refused('stop_price_would_trigger'));
    expect(buy(60000, 60000)).toEqual(refused('stop_price_would_trigger'));
  });
  it("when a long's SELL stop is above the mark or a short's BUY stop below it then stop_price_would_trigger", () => {
    expect(sell(60000.1, 60000)).toEqual(refused('stop_price_would_trigger'));
    expect(buy(59999.9, 60000)).toEqual(refused('stop_price_would_trigger'));
  });
  it('when the stop asked for is through the mark then it is refused even if rounding would move it back', () => {
    expect(sell(60000.05, 60000.03)).toEqual(refused('stop_price_would_trigger'));
    expect(buy(60000.01, 60000.03)).toEqual(refused('stop_price_would_trigger'));
  });
  it('when the stop is a hair inside the mark then it is accepted, rounded away from it', () => {
    expect(sell(60000.05, 60000.06)).toEqual(ok('60000.0'));
    expect(buy(60000.07, 60000.06)).toEqual(ok('60000.1'));
  });
  it('when the mark is not finite or not positive then mark_price_unavailable', () => {
    for (const mark of [NaN, Infinity, 0, -1])
      expect({ mark, r: sell(55000, mark) }).toEqual({ mark, r: refused('mark_price_unavailable') });
  });
  it('when the reasons are listed then each is short snake_case', () => {
    for (const r of STOP_PRICE_REASONS) expect(r).toMatch(/^[a-z][a-z_]{2,40}$/);
  });
});

describe('checkStopPrice: property', () => {
  const RUNS = 3000;
  const filters = fc.constantFrom(
    BTC,
    ETH,
    DOGE,
    UNBOUNDED,
    { tickSize: '0.0100', minPrice: '0.4200', maxPrice: '6857' },
    { tickSize: '0.0001', minPrice: '0.0143', maxPrice: '100000' },
    { tickSize: '5', minPrice: '0', maxPrice: '100000' },
  );
  const mark = fc.oneof(
    fc.constantFrom(60000, 3000, 150, 0.6, 0.15),
    fc.double({ min: 1e-4, max: 5e6, noNaN: true }),
  );
  it('when any finite price is checked then an ok result is on the grid, in range, on the safe side of the mark and within one tick', () => {
    let oks = 0;
    fc.assert(
      fc.property(
        filters,
        mark,
        fc.constantFrom<'BUY' | 'SELL'>('BUY', 'SELL'),
        fc.oneof(fc.double({ noNaN: true }), fc.double({ min: 0.5, max: 1.5, noNaN: true })),
        fc.boolean(),
        (f, markPrice, side, raw, relative) => {
          const price = relative ? markPrice * raw : raw;
          const r = checkStopPrice({ price, side, markPrice, ...f });
          if (!r.ok) {
            expect(STOP_PRICE_REASONS).toContain(r.reason);
            expect(r.detail).not.toBe('');
            return;
          }
          oks++;
          const t = r.triggerPrice;
          expect(t).toMatch(/^\d+(\.\d+)?$/);
          expect(isMultipleOf(t, f.tickSize)).toBe(true);
          if (compareDecimal(f.minPrice, '0') > 0)
            expect(compareDecimal(t, f.minPrice)).toBeGreaterThanOrEqual(0);
          if (compareDecimal(f.maxPrice, '0') > 0)
            expect(compareDecimal(t, f.maxPrice)).toBeLessThanOrEqual(0);
          const vsMark = compareDecimal(t, plainDecimal(markPrice)!);
          expect(side === 'SELL' ? vsMark < 0 : vsMark > 0).toBe(true);
          const moved = addDecimal(t, `-${plainDecimal(price)!}`);
          expect(compareDecimal(moved.replace(/^-/, ''), f.tickSize)).toBeLessThan(0);
          // away from the mark: a SELL stop only goes down, a BUY stop only up
          const direction = compareDecimal(moved, '0');
          expect(side === 'SELL' ? direction <= 0 : direction >= 0).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
    expect(oks).toBeGreaterThan(RUNS / 10);
  });
});
