import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalText, parsePlainDecimal } from '../../src/domain/decimal.js';
import { decimalOf } from '../../src/exchange/paper/state.js';

/** The exact definition decimalOf stands for: toFixed(10) through the exact decimal parser. */
function reference(n: number): string {
  const parsed = parsePlainDecimal(n.toFixed(10));
  return parsed ? canonicalText(parsed) : '0';
}

describe('paper exchange: decimalOf', () => {
  it('when given edge values then it answers canonical text, never "-0" or an exponent', () => {
    expect(decimalOf(0)).toBe('0');
    expect(decimalOf(-0)).toBe('0');
    expect(decimalOf(-1e-12)).toBe('0');
    expect(decimalOf(0.1 + 0.2)).toBe('0.3');
    expect(decimalOf(-2.5)).toBe('-2.5');
    expect(decimalOf(60000)).toBe('60000');
    expect(decimalOf(1e-10)).toBe('0.0000000001');
    expect(decimalOf(1e21)).toBe('0');
    expect(() => decimalOf(Number.NaN)).toThrow(/finite/);
  });

  it('when given any finite double then it equals the exact parse of toFixed(10)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.double({ min: -1e6, max: 1e6, noNaN: true }),
          fc.integer({ min: -1e9, max: 1e9 }).map((i) => i / 1e4),
        ),
        (n) => decimalOf(n) === reference(n),
      ),
      { numRuns: 20_000 },
    );
  });
});
