/**
 * The one decimal module: exact arithmetic on (mantissa, scale) pairs of integers, so money never
 * goes through float division (`0.3 / 0.1` is 2.9999999999999996) and rounding to a step is
 * always down. Three readers of decimal text, by where it comes from:
 * - parseDec: values read from Redis and permit bodies (plain or exponent, bounded length);
 * - parsePlainDecimal: the exchange's string forms, which Binance sends and accepts without an
 *   exponent (its scale is the text's own, trailing zeros kept: a step's precision);
 * - quantityAtStep: a quantity (number or text) rounded down to a symbol's step for an order.
 */

/** value = m / 10^scale, scale ≥ 0. */
export interface Dec {
  m: bigint;
  scale: number;
}

export const ZERO: Dec = { m: 0n, scale: 0 };

const WITH_EXPONENT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;
const PLAIN = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** What one reader accepts; every bound keeps the work of a hostile input small. */
interface Syntax {
  exponent: boolean;
  trim: boolean;
  maxChars: number;
  maxDigits: number;
  maxExponent: number;
  maxScale: number;
}

function scan(raw: unknown, syntax: Syntax): Dec | null {
  if (typeof raw !== 'string' || raw.length > syntax.maxChars) return null;
  const g = (syntax.exponent ? WITH_EXPONENT : PLAIN).exec(syntax.trim ? raw.trim() : raw);
  if (!g) return null;
  const [, sign, int = '', frac = '', exp] = g;
  const digits = int.length + frac.length;
  if (digits === 0 || digits > syntax.maxDigits) return null;
  const e = exp === undefined ? 0 : Number(exp);
  if (Math.abs(e) > syntax.maxExponent) return null;
  let m = BigInt(`${int}${frac}`);
  let scale = frac.length - e;
  if (scale < 0) {
    m *= 10n ** BigInt(-scale);
    scale = 0;
  }
  if (scale > syntax.maxScale) return null;
  return { m: sign === '-' ? -m : m, scale };
}

/** Redis fields and permit bodies: JSON values cast to string may be anything ([] or true), never a throw. */
const FIELD: Syntax = {
  exponent: true,
  trim: true,
  maxChars: 60,
  maxDigits: Infinity,
  maxExponent: Infinity,
  maxScale: 40,
};
/** Exchange text: no exponent; surrounding whitespace tolerated. */
const EXCHANGE: Syntax = {
  exponent: false,
  trim: true,
  maxChars: Infinity,
  maxDigits: Infinity,
  maxExponent: 0,
  maxScale: Infinity,
};
/** Comparisons: any spelling of a value, its expansion bounded by the exponent. */
const COMPARED: Syntax = {
  exponent: true,
  trim: true,
  maxChars: Infinity,
  maxDigits: Infinity,
  maxExponent: 400,
  maxScale: Infinity,
};
/** Quantities and steps to round: exponents allowed, expansion bounded. */
const BOUNDED: Syntax = {
  exponent: true,
  trim: false,
  maxChars: Infinity,
  maxDigits: 400,
  maxExponent: 400,
  maxScale: Infinity,
};

/** A decimal field ("0.010", "1e-05", "-2.5E+3"), normalized; null for anything else or over 60 characters. */
export function parseDec(raw: unknown): Dec | null {
  const d = scan(raw, FIELD);
  return d && normalize(d);
}

/** Exchange decimal text ("0.001", "12", "-2.50"), its scale as written; null for anything else (exponents included). */
export function parsePlainDecimal(text: string): Dec | null {
  return scan(text, EXCHANGE);
}

export function normalize(d: Dec): Dec {
  let { m, scale } = d;
  while (scale > 0 && m % 10n === 0n) {
    m /= 10n;
    scale--;
  }
  return { m, scale };
}

/** `d` at `scale` decimals: exact when raising the scale, truncated toward zero when lowering it. */
export function atScale(d: Dec, scale: number): Dec {
  return scale >= d.scale
    ? { m: d.m * 10n ** BigInt(scale - d.scale), scale }
    : { m: d.m / 10n ** BigInt(d.scale - scale), scale };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [atScale(a, s).m, atScale(b, s).m, s];
}

export function add(a: Dec, b: Dec): Dec {
  const [x, y, s] = align(a, b);
  return normalize({ m: x + y, scale: s });
}

export function sub(a: Dec, b: Dec): Dec {
  const [x, y, s] = align(a, b);
  return normalize({ m: x - y, scale: s });
}

export function mul(a: Dec, b: Dec): Dec {
  return normalize({ m: a.m * b.m, scale: a.scale + b.scale });
}

export function cmp(a: Dec, b: Dec): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function abs(a: Dec): Dec {
  return a.m < 0n ? { m: -a.m, scale: a.scale } : a;
}

export function min(a: Dec, b: Dec): Dec {
  return cmp(a, b) <= 0 ? a : b;
}

export function max(a: Dec, b: Dec): Dec {
  return cmp(a, b) >= 0 ? a : b;
}

export function sign(a: Dec): -1 | 0 | 1 {
  return a.m > 0n ? 1 : a.m < 0n ? -1 : 0;
}

/** The largest multiple of `step` (> 0) not above `a` (toward minus infinity); null for a step ≤ 0. */
export function floorToStep(a: Dec, step: Dec): Dec | null {
  if (sign(step) <= 0) return null;
  const [x, st, s] = align(a, step);
  const q = x / st; // BigInt division truncates toward zero
  const floored = x < 0n && q * st !== x ? q - 1n : q;
  return normalize({ m: floored * st, scale: s });
}

/** Text at the value's own scale ("1.50" stays "1.50"). */
export function toText(a: Dec): string {
  const neg = a.m < 0n;
  const digits = (neg ? -a.m : a.m).toString().padStart(a.scale + 1, '0');
  const body = a.scale === 0 ? digits : `${digits.slice(0, -a.scale)}.${digits.slice(-a.scale)}`;
  return neg ? `-${body}` : body;
}

export function toNumber(a: Dec): number {
  return Number(toText(a));
}

/** Canonical text: no trailing zeros, no '+', never an exponent (what the exchange accepts). */
export function canonicalText(a: Dec): string {
  return toText(normalize(a));
}

/**
 * Exact order of two decimal texts (plain or exponent, surrounding whitespace ignored); throws a
 * RangeError on malformed input: validate first.
 */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const x = scan(a, COMPARED);
  const y = scan(b, COMPARED);
  if (!x || !y) throw new RangeError(`not a decimal: ${!x ? a : b}`);
  return cmp(x, y);
}

/** The shortest decimal that round-trips to x (what Python's repr shows), never the binary expansion. */
function decOfNumber(x: number): Dec | null {
  return Number.isFinite(x) ? scan(String(x), BOUNDED) : null;
}

/**
 * An order quantity: `qty` rounded DOWN to a multiple of `step`, with the step's decimals
 * (trailing zeros of the step ignored: "0.00100000" → 3 decimals). Numbers are taken at their
 * shortest round-trip decimal (0.3 means 0.3). Null for non-finite, negative or malformed input,
 * or a step that is not > 0.
 */
export function quantityAtStep(qty: number | string, step: string): string | null {
  const s = scan(step, BOUNDED);
  const q = typeof qty === 'number' ? decOfNumber(qty) : scan(qty, BOUNDED);
  if (!s || !q || q.m < 0n) return null;
  const floored = floorToStep(q, s);
  return floored && toText(atScale(floored, normalize(s).scale));
}

/** Plain (no exponent) decimal text of the shortest repr of x; null when x is not finite. */
export function plainDecimal(x: number): string | null {
  const d = decOfNumber(x);
  return d && canonicalText(d);
}

function plainPair(a: string, b: string): [Dec, Dec] {
  const x = parsePlainDecimal(a);
  const y = parsePlainDecimal(b);
  if (!x || !y) throw new RangeError(`not a decimal: ${!x ? a : b}`);
  return [x, y];
}

/** True when exchange text `qty` is an exact multiple of `step` (step > 0). */
export function isMultipleOf(qty: string, step: string): boolean {
  const q = parsePlainDecimal(qty);
  const s = parsePlainDecimal(step);
  if (!q || !s || s.m <= 0n) return false;
  const [x, y] = align(q, s);
  return x % y === 0n;
}

/** a + b exactly, of exchange texts, as canonical text. */
export function addDecimal(a: string, b: string): string {
  return canonicalText(add(...plainPair(a, b)));
}

/** The larger of two exchange texts (the coarser step, the stricter minimum). */
export function maxDecimal(a: string, b: string): string {
  return compareDecimal(a, b) >= 0 ? a : b;
}

/** Exchange text `value` rounded to a multiple of `step` (> 0), down or up, exactly; canonical text. */
export function roundToStep(value: string, step: string, mode: 'down' | 'up'): string {
  const v = parsePlainDecimal(value);
  const s = parsePlainDecimal(step);
  const neg = (d: Dec): Dec => ({ m: -d.m, scale: d.scale });
  // Up is minus the floor of minus the value.
  const r = v && s ? (mode === 'down' ? floorToStep(v, s) : floorToStep(neg(v), s)) : null;
  if (!r) throw new Error(`cannot round ${value} to step ${step}`);
  return canonicalText(mode === 'down' ? r : neg(r));
}
