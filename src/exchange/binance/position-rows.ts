/**
 * positionRisk answers without zod: an account-wide read (P3.3's snapshot refresh) returns a row
 * per position, and zod's safeParse of such an answer stood out in a busy reader's CPU profile
 * (BENCHMARKS.md, Pipeline). Same rules and output as `positionRowSchema` in schemas.ts, which
 * stays the reference: a property test feeds both the same inputs
 * (test/exchange/position-rows.test.ts).
 */
import type { BinancePositionRow } from './schemas.js';

const DECIMAL = /^-?\d+(\.\d+)?$/;
const DIGITS = /^\d+$/;

type Fail = { success: false };
const FAIL: Fail = { success: false };
/** Marks a field that failed; never a valid output value. */
const BAD = Symbol('bad');

/** z.number(): finite numbers only; or a decimal string, as Number. */
function numeric(v: unknown): number | typeof BAD {
  if (typeof v === 'number') return Number.isFinite(v) ? v : BAD;
  return typeof v === 'string' && DECIMAL.test(v) ? Number(v) : BAD;
}

/** z.number().int() (safe integers) or a string of digits, as Number. */
function intLike(v: unknown): number | typeof BAD {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : BAD;
  return typeof v === 'string' && DIGITS.test(v) ? Number(v) : BAD;
}

function row(v: unknown): BinancePositionRow | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  const { symbol, positionSide, positionAmt } = r;
  if (typeof symbol !== 'string') return null;
  if (positionSide !== undefined && typeof positionSide !== 'string') return null;
  if (typeof positionAmt !== 'string' || !DECIMAL.test(positionAmt)) return null;
  const entryPrice = numeric(r.entryPrice);
  const markPrice = numeric(r.markPrice);
  const unRealizedProfit = numeric(r.unRealizedProfit);
  const leverage = r.leverage === undefined ? undefined : numeric(r.leverage);
  const updateTime = r.updateTime === undefined ? undefined : intLike(r.updateTime);
  if (entryPrice === BAD || markPrice === BAD || unRealizedProfit === BAD) return null;
  if (leverage === BAD || updateTime === BAD) return null;
  const out: BinancePositionRow = { symbol, positionAmt, entryPrice, markPrice, unRealizedProfit };
  if (positionSide !== undefined) out.positionSide = positionSide;
  if (leverage !== undefined) out.leverage = leverage;
  if (updateTime !== undefined) out.updateTime = updateTime;
  return out;
}

/** A positionRisk answer: every row valid, or nothing (→ bad_response). */
export const positionRiskParser = {
  safeParse(body: unknown): { success: true; data: BinancePositionRow[] } | Fail {
    if (!Array.isArray(body)) return FAIL;
    const data: BinancePositionRow[] = new Array(body.length);
    for (let i = 0; i < body.length; i++) {
      const r = row(body[i]);
      if (!r) return FAIL;
      data[i] = r;
    }
    return { success: true, data };
  },
};
