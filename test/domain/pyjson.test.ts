import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pyJsonDumps, pyJsonParse } from '../../src/domain/pyjson.js';

describe('pyJsonDumps', () => {
  it('when values are dumped then the layout is Python json.dumps (checked against python3 output)', () => {
    // python3 -c "import json; print(json.dumps([{'pct': 100.0, 'b': True, 'n': None}, 'é\x7f', float('nan'), -float('inf'), {}]))"
    expect(pyJsonDumps([{ pct: 100, b: true, n: null }, 'é\x7f', NaN, -Infinity, {}])).toBe(
      '[{"pct": 100.0, "b": true, "n": null}, "\\u00e9\\u007f", NaN, -Infinity, {}]',
    );
  });
  it('when any JSON value without non-finite numbers is dumped then JSON.parse reads it back', () => {
    fc.assert(
      fc.property(fc.jsonValue({ noUnicodeString: false }), (v) => {
        const normal = JSON.parse(JSON.stringify(v)) as unknown;
        return JSON.stringify(JSON.parse(pyJsonDumps(normal))) === JSON.stringify(normal);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('pyJsonParse', () => {
  it('when any standard JSON text is parsed then it equals JSON.parse', () => {
    fc.assert(
      fc.property(
        fc.json(),
        (text) => JSON.stringify(pyJsonParse(text)?.value) === JSON.stringify(JSON.parse(text)),
      ),
      { numRuns: 2_000 },
    );
  });
  it('when Python json tokens NaN/Infinity appear then they parse; other extensions do not', () => {
    const v = pyJsonParse('{"a": NaN, "b": [Infinity, -Infinity]}')?.value as { a: number; b: number[] };
    expect(Number.isNaN(v.a)).toBe(true);
    expect(v.b).toEqual([Infinity, -Infinity]);
    for (const bad of [
      'nan',
      '{"a":1,}',
      '[1,]',
      "{'a': 1}",
      '01',
      '1.',
      '"\t"',
      '[1] [2]',
      '',
      '{"a" 1}',
      '['.repeat(100) + ']'.repeat(100),
    ]) {
      expect({ bad, v: pyJsonParse(bad) }).toEqual({ bad, v: null });
    }
  });
});
