import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareDecimal,
  floorToStep,
  parseDec,
  parsePlainDecimal,
  plainDecimal,
  quantityAtStep,
  toText,
} from '../../src/domain/decimal.js';

/** Test-side scaling: decimal text (no exponent) → integer count of 10^-scale units. */
function units(text: string, scale: number): bigint {
  const [i = '', f = ''] = text.replace(/^-/, '').split('.');
  const v = BigInt(i + f.padEnd(scale, '0').slice(0, scale));
  if (f.length > scale && /[1-9]/.test(f.slice(scale)))
    throw new Error(`scale ${scale} too small for ${text}`);
  return text.startsWith('-') ? -v : v;
}

const STEPS = ['1', '0.1', '0.001', '0.00001', '1e-3', '0.5', '10', '0.00100000', '25', '0.0001'];
const decimalsOf = (...texts: string[]) => Math.max(...texts.map((t) => (t.split('.')[1] ?? '').length));

describe('quantityAtStep', () => {
  it('when the contract-style examples are rounded then they go down to the step', () => {
    const cases: [number | string, string, string | null][] = [
      [0.3, '0.1', '0.3'],
      [0.0029, '0.001', '0.002'],
      ['0.0029', '0.001', '0.002'],
      [1.23456, '1e-3', '1.234'],
      [17, '1', '17'],
      [17.9999, '1', '17'],
      [0.0009, '0.001', '0.000'],
      ['1e-7', '0.00100000', '0.000'],
      [123.456, '10', '120'],
      [0.75, '0.5', '0.5'],
      [1e21, '0.001', '1000000000000000000000.000'],
      [-0, '0.001', '0.000'],
      [0.062, '0.001', '0.062'],
      [0.0465, '0.001', '0.046'],
    ];
    for (const [qty, step, want] of cases)
      expect({ qty, step, got: quantityAtStep(qty, step) }).toEqual({ qty, step, got: want });
  });
  it('when the input is not a finite non-negative decimal or the step is not positive then the result is null', () => {
    const cases: [number | string, string][] = [
      [NaN, '0.1'],
      [Infinity, '0.1'],
      [-1, '0.1'],
      [-0.0001, '0.001'],
      ['abc', '0.1'],
      ['', '0.1'],
      ['1.2.3', '0.1'],
      ['0x10', '1'],
      [' 1', '1'],
      [1, '0'],
      [1, '-0.1'],
      [1, 'x'],
      [1, ''],
      ['1e99999', '1'],
    ];
    for (const [qty, step] of cases)
      expect({ qty, step, got: quantityAtStep(qty, step) }).toEqual({ qty, step, got: null });
  });
  it('when any non-negative number is rounded then the result never exceeds it, is a step multiple and is within one step', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constantFrom(...STEPS), (qty, step) => {
        const out = quantityAtStep(qty, step);
        if (out === null) return false;
        const qText = plainDecimal(qty) as string;
        const sText = plainDecimal(Number(step)) as string;
        const scale = decimalsOf(qText, sText, out);
        const [q, s, r] = [units(qText, scale), units(sText, scale), units(out, scale)];
        return r <= q && r % s === 0n && q - r < s && r >= 0n;
      }),
      { numRuns: 10_000 },
    );
  });
  it('when any decimal string is rounded then the result never exceeds it and is a step multiple', () => {
    const text = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 12 }))
      .map(([n, d]) => {
        const s = n.toString().padStart(d + 1, '0');
        return d === 0 ? s : `${s.slice(0, -d)}.${s.slice(-d)}`;
      });
    fc.assert(
      fc.property(text, fc.constantFrom(...STEPS), (qty, step) => {
        const out = quantityAtStep(qty, step);
        if (out === null) return false;
        const sText = plainDecimal(Number(step)) as string;
        const scale = decimalsOf(qty, sText, out);
        const [q, s, r] = [units(qty, scale), units(sText, scale), units(out, scale)];
        return r <= q && r % s === 0n && q - r < s;
      }),
      { numRuns: 10_000 },
    );
  });
  it('when the step has trailing zeros then the output has only its significant decimals', () => {
    expect(quantityAtStep('0.12345', '0.00100000')).toBe('0.123');
    expect(quantityAtStep('5', '1.000')).toBe('5');
  });
});

describe('compareDecimal', () => {
  it('when two spellings of one value are compared then they are equal', () => {
    expect(compareDecimal('0.10', '0.1')).toBe(0);
    expect(compareDecimal('1e3', '1000.000')).toBe(0);
    expect(compareDecimal('-0', '0')).toBe(0);
  });
  it('when values differ then the order is exact', () => {
    expect(compareDecimal('0.30000000000000000001', '0.3')).toBe(1);
    expect(compareDecimal('-1', '0.0001')).toBe(-1);
    expect(compareDecimal('-2', '-1')).toBe(-1);
  });
  it('when any two doubles are compared by their shortest decimals then the order matches the numbers', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (a, b) => {
          const want = a < b ? -1 : a > b ? 1 : 0;
          return (
            compareDecimal(String(a), String(b)) === want && compareDecimal(String(b), String(a)) === -want
          );
        },
      ),
      { numRuns: 10_000 },
    );
  });
  it('when an input is not a decimal then it throws instead of guessing', () => {
    expect(() => compareDecimal('abc', '1')).toThrow(RangeError);
    expect(() => compareDecimal('1', '0x1')).toThrow(RangeError);
  });
  it('when exchange text has surrounding whitespace then it compares by its value', () => {
    expect(compareDecimal(' 0.010 ', '0.01')).toBe(0);
  });
});

describe('the readers', () => {
  it('when a field is read then exponents are accepted and the value normalized; junk and overlong text are null', () => {
    expect(parseDec(' -1.5e-3 ')).toEqual({ m: -15n, scale: 4 });
    expect(parseDec('0.0100')).toEqual({ m: 1n, scale: 2 });
    for (const bad of ['abc', '', '.', '1e', [], true, null, `0.${'1'.repeat(59)}`, `1e-41`]) {
      expect(parseDec(bad)).toBeNull();
    }
  });
  it('when exchange text is read then its own scale is kept and an exponent is refused', () => {
    expect(parsePlainDecimal('0.0010')).toEqual({ m: 10n, scale: 4 });
    expect(parsePlainDecimal(' -2.50 ')).toEqual({ m: -250n, scale: 2 });
    expect(parsePlainDecimal('1e-3')).toBeNull();
  });
});

describe('floorToStep', () => {
  it('when a value is floored then it goes toward minus infinity onto the step grid', () => {
    const floor = (v: string, step: string) => {
      const r = floorToStep(parseDec(v)!, parseDec(step)!);
      return r && toText(r);
    };
    expect(floor('0.0029', '0.001')).toBe('0.002');
    expect(floor('-0.0021', '0.001')).toBe('-0.003');
    expect(floor('5', '0')).toBeNull();
    expect(floor('5', '-1')).toBeNull();
  });
});
