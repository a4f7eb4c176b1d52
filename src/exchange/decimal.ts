/**
 * Exact decimal-string arithmetic for exchange filters (scaled bigints, never floats):
 * comparing step sizes and checking that a quantity is a multiple of a step.
 */

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/;

export interface Scaled {
  units: bigint;
  scale: number;
}

/** Parses a plain decimal ("0.001", "12", "-2.50"); null for anything else (exponents included). */
export function parseDecimal(text: string): Scaled | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const [, sign = '', int = '', frac = ''] = m;
  if (int === '' && frac === '') return null;
  const units = BigInt(`${int || '0'}${frac}`);
  return { units: sign === '-' ? -units : units, scale: frac.length };
}

function align(a: Scaled, b: Scaled): [bigint, bigint] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale)];
}

export function compareDecimal(a: string, b: string): number {
  const pa = parseDecimal(a);
  const pb = parseDecimal(b);
  if (!pa || !pb) throw new Error(`not a decimal: ${!pa ? a : b}`);
  const [x, y] = align(pa, pb);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when `qty` is an exact multiple of `step` (step > 0). */
export function isMultipleOf(qty: string, step: string): boolean {
  const pq = parseDecimal(qty);
  const ps = parseDecimal(step);
  if (!pq || !ps || ps.units <= 0n) return false;
  const [q, s] = align(pq, ps);
  return q % s === 0n;
}

/** Canonical text of a decimal: no trailing zeros, no leading '+'. */
export function formatScaled(v: Scaled): string {
  const neg = v.units < 0n;
  const digits = (neg ? -v.units : v.units).toString().padStart(v.scale + 1, '0');
  const int = digits.slice(0, digits.length - v.scale);
  const frac = digits.slice(digits.length - v.scale).replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** a + b exactly, as canonical text. */
export function addDecimal(a: string, b: string): string {
  const pa = parseDecimal(a);
  const pb = parseDecimal(b);
  if (!pa || !pb) throw new Error(`not a decimal: ${!pa ? a : b}`);
  const [x, y] = align(pa, pb);
  return formatScaled({ units: x + y, scale: Math.max(pa.scale, pb.scale) });
}

/** The larger of two decimal strings (the coarser step, the stricter minimum). */
export function maxDecimal(a: string, b: string): string {
  return compareDecimal(a, b) >= 0 ? a : b;
}

/** `value` rounded to a multiple of `step` (> 0), down or up, exactly; canonical text. */
export function roundToStep(value: string, step: string, mode: 'down' | 'up'): string {
  const pv = parseDecimal(value);
  const ps = parseDecimal(step);
  if (!pv || !ps || ps.units <= 0n) throw new Error(`cannot round ${value} to step ${step}`);
  const [v, s] = align(pv, ps);
  let q = v / s;
  if (v % s !== 0n && (mode === 'up') === v > 0n) q += v > 0n ? 1n : -1n;
  return formatScaled({ units: q * s, scale: Math.max(pv.scale, ps.scale) });
}
