import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pyJsonDumps, pyJsonParse, pyJsonParseTokens } from '../../src/domain/pyjson.js';

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
        (text) => JSON.stringify(pyJsonParseTokens(text)?.value) === JSON.stringify(JSON.parse(text)),
      ),
      { numRuns: 2_000 },
    );
  });
  it('when any text is parsed then the JSON.parse path and the token reader give the same answer', () => {
    const nest = (depth: number, open: string, close: string, inner: string) =>
      open.repeat(depth) + inner + close.repeat(depth);
    const pyToken = fc.constantFrom('NaN', 'Infinity', '-Infinity');
    const text = fc.oneof(
      fc.json({ depthSize: 'large' }),
      // Python's tokens somewhere inside: only the token reader takes those.
      fc.tuple(fc.json(), pyToken).map(([j, t]) => `[${j}, ${t}]`),
      // Around the depth limit, in arrays and in objects.
      fc
        .tuple(fc.integer({ min: 28, max: 36 }), fc.constantFrom('1', '[]', '{}', '"x"'))
        .map(([d, i]) => nest(d, '[', ']', i)),
      fc
        .tuple(fc.integer({ min: 28, max: 36 }), fc.constantFrom('1', '[]', '{}'))
        .map(([d, i]) => nest(d, '{"k": ', '}', i)),
      // Broken or padded text.
      fc.tuple(fc.json(), fc.constantFrom('', ' ', ',', ']', '}', 'x', '\u00a0')).map(([j, s]) => j + s),
      fc.string({ unit: 'binary-ascii' }),
    );
    fc.assert(
      fc.property(text, (t) => {
        expect(pyJsonParse(t)).toEqual(pyJsonParseTokens(t));
      }),
      { numRuns: 3_000 },
    );
    // The limit itself: 32 levels below the top are read, a 33rd is refused, by both paths.
    expect(pyJsonParse(nest(32, '[', ']', '1'))).not.toBeNull();
    expect(pyJsonParse(nest(33, '[', ']', '1'))).toBeNull();
    expect(pyJsonParse(nest(33, '[', ']', ''))).not.toBeNull();
  });

  it('when a body has a "__proto__" key then it stays a plain data field', () => {
    for (const parse of [pyJsonParse, pyJsonParseTokens]) {
      const v = parse('{"__proto__": {"granted": true}, "a": 1}')?.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.keys(v)).toEqual(['__proto__', 'a']);
      expect((v as { granted?: unknown }).granted).toBeUndefined();
    }
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
