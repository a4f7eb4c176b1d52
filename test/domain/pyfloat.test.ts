/**
 * Python float semantics. Expected values come from two independent sources:
 * - fixtures/pyfloat-vectors.json, written by CPython itself (fixtures/gen_pyfloat.py, fixed seed):
 *   '%.6f' % x, str(x) and float(text) for ~4,000 doubles and ~80 awkward strings;
 * - support/py-oracle.ts, exact digit-string oracles checked on 10,000+ random doubles per property.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFixed6, parsePyFloat, pyStr } from '../../src/domain/pyfloat.js';
import { doubleFromHex, hexOfDouble, oracleFixed6, oraclePyStr } from './support/py-oracle.js';

interface Vectors {
  python: string;
  floats: [string, string, string, string | null][];
  parse: [string, string | null][];
}
const vectors = JSON.parse(
  readFileSync(new URL('./fixtures/pyfloat-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

const RUNS = 10_000;
const anyDouble = fc.double();
/** Exact ties at the 6th decimal (q/128, q odd), their neighbours, and tiny values near ±5e-7. */
const nearTie = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(-1, 0, 1), fc.boolean())
  .map(([q, ulp, neg]) => {
    const tie = (2 * q + 1) / 128;
    const x = ulp === 0 ? tie : ulp > 0 ? tie + Number.EPSILON * tie : tie - Number.EPSILON * tie;
    return neg ? -x : x;
  });
const tiny = fc.double({ min: -1e-5, max: 1e-5 });

describe('formatFixed6', () => {
  it('when a double from the CPython table is formatted then it equals %.6f', () => {
    for (const [hex, fixed] of vectors.floats) expect(formatFixed6(doubleFromHex(hex))).toBe(fixed);
  });
  it('when the contract examples are formatted then ties go to even and signs stay', () => {
    expect(formatFixed6(0.0078125)).toBe('0.007812');
    expect(formatFixed6(0.0234375)).toBe('0.023438');
    expect(formatFixed6(-0)).toBe('-0.000000');
    expect(formatFixed6(-1e-9)).toBe('-0.000000');
    expect(formatFixed6(1e22)).toBe('10000000000000000000000.000000');
    expect([formatFixed6(NaN), formatFixed6(Infinity), formatFixed6(-Infinity)]).toEqual([
      'nan',
      'inf',
      '-inf',
    ]);
  });
  it('when any double is formatted then it matches the exact-decimal oracle', () => {
    fc.assert(
      fc.property(anyDouble, (x) => formatFixed6(x) === oracleFixed6(x)),
      { numRuns: RUNS },
    );
  });
  it('when a value sits on or next to a 6th-decimal tie then it matches the oracle', () => {
    fc.assert(
      fc.property(fc.oneof(nearTie, tiny), (x) => formatFixed6(x) === oracleFixed6(x)),
      { numRuns: RUNS },
    );
  });
});

describe('pyStr', () => {
  it('when a double from the CPython table is printed then it equals str(x)', () => {
    for (const [hex, , str] of vectors.floats) expect(pyStr(doubleFromHex(hex))).toBe(str);
  });
  it('when the contract examples are printed then they read like Python', () => {
    const cases: [number, string][] = [
      [100, '100.0'],
      [0.00001, '1e-05'],
      [1e16, '1e+16'],
      [1.5e16, '1.5e+16'],
      [1.2345e-7, '1.2345e-07'],
      [-0, '-0.0'],
      [142.35, '142.35'],
      [0.0001, '0.0001'],
      [1e15, '1000000000000000.0'],
      [5e-324, '5e-324'],
    ];
    for (const [x, s] of cases) expect(pyStr(x)).toBe(s);
    expect([pyStr(NaN), pyStr(Infinity), pyStr(-Infinity)]).toEqual(['nan', 'inf', '-inf']);
  });
  it('when any double is printed then it matches the shortest-digit oracle', () => {
    fc.assert(
      fc.property(anyDouble, (x) => pyStr(x) === oraclePyStr(x)),
      { numRuns: RUNS },
    );
  });
});

describe('parsePyFloat', () => {
  it('when a CPython-table text is parsed then the double is bit-identical', () => {
    let checked = 0;
    for (const [hex, , , text] of vectors.floats) {
      if (text === null) continue;
      expect(hexOfDouble(parsePyFloat(text) as number)).toBe(hex);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
  });
  it('when an awkward string is parsed then the outcome is what float() does', () => {
    for (const [text, expected] of vectors.parse) {
      const got = parsePyFloat(text);
      const shown = got === null ? null : Number.isNaN(got) ? 'nan' : hexOfDouble(got);
      expect({ text, got: shown }).toEqual({ text, got: expected });
    }
  });
  it('when the input is absent or blank then the result is null', () => {
    for (const t of [undefined, null, '', '   ', '\t']) expect(parsePyFloat(t)).toBeNull();
  });
  it('when any double is printed by pyStr then it parses back to the same bits', () => {
    fc.assert(
      fc.property(anyDouble, (x) => {
        const back = parsePyFloat(pyStr(x));
        return back !== null && (Number.isNaN(x) ? Number.isNaN(back) : Object.is(back, x));
      }),
      { numRuns: RUNS },
    );
  });
  it('when digits are grouped with single underscores and padded with blanks then the value is unchanged', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[1-9][0-9]{0,8}\.[0-9]{1,8}$/),
        fc.constantFrom('', ' ', '\t', '\n ', '\u00a0', '\u3000'),
        (text, pad) => {
          const grouped = text.replace(/(\d)(?=\d)/g, '$1_');
          return Object.is(parsePyFloat(`${pad}${grouped}${pad}`), Number(text));
        },
      ),
      { numRuns: 2_000 },
    );
  });
  it('when underscores are doubled, leading or trailing then the text is refused', () => {
    for (const t of ['1__0', '_1', '1_', '1_.5', '1._5', '1e_1', '1_e1']) expect(parsePyFloat(t)).toBeNull();
  });
});
