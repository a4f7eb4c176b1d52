/**
 * Shared fast-check generators for the fuzz suite: hostile text, Python-float-ish numbers,
 * field maps that mix known names with garbage, and JSON bodies near the permit shapes.
 * FUZZ_RUNS overrides the per-target case count (default 10,000, the CI size).
 */
import fc from 'fast-check';

export const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

/** Text that breaks naive parsers: blanks, signs, exponents, unicode digits, NUL, huge. */
export const nastyText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'nan',
    'NaN',
    '-nan',
    'inf',
    '-inf',
    'Infinity',
    '+inf ',
    '1e309',
    '-1e309',
    '1e-400',
    '-0',
    '0',
    '0.0',
    ' 0.8 ',
    '0.6',
    '0.5999999999999999',
    '0x10',
    '1_000',
    '１',
    '٣',
    '1.5.2',
    '--1',
    '\u0000',
    'None',
    'null',
    'true',
    'True',
    '[]',
    '{}',
    '"1"',
    'x'.repeat(300),
    '9'.repeat(400),
  ),
  fc.double().map(String),
  fc.integer().map(String),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

export const symbolArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('BTCUSDT', 'ETHUSDT', 'SOLUSDT') },
  { weight: 1, arbitrary: fc.constantFrom('btcusdt', 'B', '', 'BTC USDT', 'BTCUSDT\n', 'X'.repeat(31)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

export const actionArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('FULL_CLOSE_PROPOSED', 'PARTIAL_75', 'PARTIAL_50', 'UPDATE_SL', 'HOLD'),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', 'full_close_proposed', 'OPEN_LONG', '__proto__', 'constructor'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/** A field map drawn from `known` names (each present or not) plus random extra keys. */
export function fieldMap(
  known: Record<string, fc.Arbitrary<string>>,
  extraKeys = 3,
): fc.Arbitrary<Record<string, string>> {
  return fc
    .tuple(
      fc.record(known, { requiredKeys: [] }),
      fc.dictionary(
        fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor')),
        nastyText,
        {
          maxKeys: extraKeys,
        },
      ),
    )
    .map(([k, extra]) => {
      const out: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [key, v] of Object.entries(extra)) out[key] = v;
      for (const [key, v] of Object.entries(k)) if (typeof v === 'string') out[key] = v;
      return { ...out };
    });
}

/** Either a valid-looking value of `good` or hostile text. */
export const mostly = (good: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: nastyText });

export const numText = (min: number, max: number): fc.Arbitrary<string> =>
  fc.double({ min, max, noNaN: true }).map(String);

/** A JSON value that may be anything at all, or one of the values permits are judged on. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    true,
    false,
    null,
    0,
    -0,
    1,
    -1,
    0.0001,
    1e-9,
    1e308,
    '1',
    '0.5',
    'nan',
    'inf',
    '',
    'True',
    [],
    {},
  ),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
);
