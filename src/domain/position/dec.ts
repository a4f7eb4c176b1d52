/**
 * Exact decimal arithmetic for position quantities (BigInt mantissa + decimal scale), so that a
 * ledger after N executions equals the exchange's decimal amount, and rounding to a step is
 * always down. Accepts plain and exponent notation ("0.010", "1e-05", "-2.5E+3").
 */

export interface Dec {
  /** value = m / 10^scale */
  m: bigint;
  scale: number;
}

const DEC = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

export function parseDec(raw: string | undefined | null): Dec | null {
  // Callers pass JSON values cast to string (a result's executed_qty may be [] or true): not a throw.
  if (typeof raw !== 'string' || raw.length > 60) return null;
  const s = raw.trim();
  const g = DEC.exec(s);
  if (!g) return null;
  const [, sign, int = '', frac = '', exp] = g;
  if (int === '' && frac === '') return null;
  let scale = frac.length - (exp ? Number(exp) : 0);
  let digits = `${int}${frac}`.replace(/^0+(?=\d)/, '') || '0';
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  if (scale > 40) return null;
  const m = BigInt(digits);
  return normalize({ m: sign === '-' ? -m : m, scale });
}

function normalize(d: Dec): Dec {
  let { m, scale } = d;
  while (scale > 0 && m % 10n === 0n) {
    m /= 10n;
    scale--;
  }
  return { m, scale };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [a.m * 10n ** BigInt(s - a.scale), b.m * 10n ** BigInt(s - b.scale), s];
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

export function cmp(a: Dec, b: Dec): number {
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

export const ZERO: Dec = { m: 0n, scale: 0 };

export function sign(a: Dec): number {
  return a.m > 0n ? 1 : a.m < 0n ? -1 : 0;
}

/** Largest multiple of `step` (> 0) not above `a` (a ≥ 0); null for a non-positive step. */
export function floorToStep(a: Dec, step: Dec): Dec | null {
  if (sign(step) <= 0) return null;
  const [x, st, s] = align(a, step);
  const q = x / st; // BigInt division truncates toward zero; callers pass a ≥ 0
  const floored = x < 0n && q * st !== x ? q - 1n : q;
  return normalize({ m: floored * st, scale: s });
}

export function toText(a: Dec): string {
  const neg = a.m < 0n;
  let digits = (neg ? -a.m : a.m).toString();
  if (a.scale === 0) return `${neg ? '-' : ''}${digits}`;
  digits = digits.padStart(a.scale + 1, '0');
  const int = digits.slice(0, digits.length - a.scale);
  const frac = digits.slice(digits.length - a.scale);
  return `${neg ? '-' : ''}${int}.${frac}`;
}

export function toNumber(a: Dec): number {
  return Number(toText(a));
}
