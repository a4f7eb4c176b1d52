/**
 * Permit bodies for the fuzz suite and the oracle that judges them, written from the contract's
 * rules independently of src/domain/permits.ts.
 */
import fc from 'fast-check';
import { jsonish, nastyText } from './arbitraries.js';

const symbolField = fc.oneof(
  { weight: 8, arbitrary: fc.constant('BTCUSDT') },
  fc.constantFrom('btcusdt', 'BTCUSDT ', '', 'SOLUSDT'),
  jsonish,
);
const qtyField = fc.oneof(
  // Integer-based: fc.double is uniform over bit patterns, so it is mostly far below any step.
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => n / 1000) },
  fc.integer({ min: 1, max: 20_000 }).map((n) => n / 997),
  fc.double({ min: 0, max: 10, noNaN: true }).map(String),
  fc.constantFrom(0, -0, -1, 1e-12, 'nan', 'inf', '1e400', ' 2 ', '0x1'),
  jsonish,
);

export const govObject = fc.record(
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
export const p33Object = fc.record(
  {
    allow: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, jsonish),
    symbol: symbolField,
    safe_close_qty: qtyField,
    exchange_position_amt: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: -30_000, max: 30_000 }).map((n) => n / 1000) },
      jsonish,
    ),
    ledger_amt: jsonish,
    created_at: jsonish,
    reason: jsonish,
  },
  { requiredKeys: ['allow', 'symbol', 'safe_close_qty'] },
);

/** A JSON text of `obj`, sometimes with a repeated key (Python's json keeps the last one). */
export function bodyOf(objArb: fc.Arbitrary<Record<string, unknown>>, dupKey: string) {
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

const numberOf = (raw: unknown) =>
  typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN;

/**
 * The contract's reasons to refuse, judged on the JSON as JavaScript reads it. `fraction`: the
 * plan's share of the position (1 full close, 0.5 PARTIAL_50; null for a stop). Float slack
 * here is wider than the validator's, so a set the validator accepts is never refused here.
 */
export function mustRefuse(
  gov: string,
  p33: string,
  symbol: string,
  position: number,
  fraction: number | null = 1,
): string | null {
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
  if (fraction !== null) {
    const seen = numberOf(p.exchange_position_amt);
    if (!Number.isFinite(seen)) return 'position_seen';
    if (q > fraction * Math.abs(seen) * (1 + 1e-6)) return 'above_plan';
  }
  if (q > Math.abs(position)) return 'above_position';
  return null;
}
