/**
 * Decimal-safe quantity arithmetic: values are (coefficient, scale) pairs of integers, so rounding
 * down to an exchange step never goes through float division (`0.3 / 0.1` is 2.9999999999999996).
 */

/** value = (negative ? -1 : 1) × coef / 10^scale, with scale ≥ 0 and coef ≥ 0. */
interface Dec {
  negative: boolean;
  coef: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;
const MAX_DIGITS = 400;

function parseDec(text: string): Dec | null {
  const m = DECIMAL_TEXT.exec(text);
  if (!m) return null;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  if (intPart.length + fracPart.length === 0 || intPart.length + fracPart.length > MAX_DIGITS) return null;
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (Math.abs(exp) > MAX_DIGITS) return null;
  let coef = BigInt(intPart + fracPart);
  let scale = fracPart.length - exp;
  if (scale < 0) {
    coef *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { negative: m[1] === '-' && coef !== 0n, coef, scale };
}

/** The shortest decimal that round-trips to x (what Python's repr shows), never the binary expansion. */
function decOfNumber(x: number): Dec | null {
  return Number.isFinite(x) ? parseDec(String(x)) : null;
}

function normalize(d: Dec): Dec {
  let { coef, scale } = d;
  while (scale > 0 && coef % 10n === 0n) {
    coef /= 10n;
    scale -= 1;
  }
  return { negative: d.negative && coef !== 0n, coef, scale };
}

function atScale(d: Dec, scale: number): bigint {
  return d.coef * 10n ** BigInt(scale - d.scale);
}

function format(coef: bigint, scale: number, negative = false): string {
  const digits = coef.toString().padStart(scale + 1, '0');
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative && coef !== 0n ? `-${body}` : body;
}

/**
 * Rounds `qty` DOWN to a multiple of `step` and formats it with the step's decimals (trailing
 * zeros of the step ignored: "0.00100000" → 3 decimals). Numbers are taken at their shortest
 * round-trip decimal (0.3 means 0.3). Null for non-finite, negative or malformed input, or a
 * step that is not > 0.
 */
export function floorToStep(qty: number | string, step: string): string | null {
  const s = typeof step === 'string' ? parseDec(step) : null;
  const q = typeof qty === 'number' ? decOfNumber(qty) : typeof qty === 'string' ? parseDec(qty) : null;
  if (!s || !q || s.negative || s.coef === 0n || q.negative) return null;
  const scale = Math.max(s.scale, q.scale);
  const stepUnits = atScale(s, scale);
  const floored = (atScale(q, scale) / stepUnits) * stepUnits;
  const decimals = normalize(s).scale;
  return format(floored / 10n ** BigInt(scale - decimals), decimals);
}

/** Plain (no exponent) decimal text of the shortest repr of x; null when x is not finite. */
export function plainDecimal(x: number): string | null {
  const d = decOfNumber(x);
  if (!d) return null;
  const n = normalize(d);
  return format(n.coef, n.scale, n.negative);
}

/** True when `text` is a well-formed decimal (optional sign, digits, fraction, exponent). */
export function isDecimal(text: string): boolean {
  return parseDec(text) !== null;
}

/** Exact comparison of two decimal strings; throws RangeError on malformed input (validate first). */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const x = parseDec(a);
  const y = parseDec(b);
  if (!x || !y) throw new RangeError('invalid_decimal');
  const scale = Math.max(x.scale, y.scale);
  const xi = x.negative ? -atScale(x, scale) : atScale(x, scale);
  const yi = y.negative ? -atScale(y, scale) : atScale(y, scale);
  return xi < yi ? -1 : xi > yi ? 1 : 0;
}
