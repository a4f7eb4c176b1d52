/**
 * Independent oracles for the pyfloat properties: they work on the full exact decimal expansion
 * of a double as a digit string (m·2^e = m·5^k / 10^k), never on the production code's integer
 * division (formatFixed6) or on the engine's shortest-digit conversion (pyStr).
 */

export function doubleFromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

export function hexOfDouble(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

/** Exact decimal expansion of |x| as integer and fraction digit strings. */
export function exactDecimal(x: number): { int: string; frac: string } {
  const bits = BigInt(`0x${hexOfDouble(Math.abs(x))}`);
  const expField = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  const m = expField === 0 ? fraction : fraction + (1n << 52n);
  const e = expField === 0 ? -1074 : expField - 1075;
  if (e >= 0) return { int: (m * 2n ** BigInt(e)).toString(), frac: '' };
  const k = -e;
  const s = (m * 5n ** BigInt(k)).toString().padStart(k + 1, '0');
  return { int: s.slice(0, -k), frac: s.slice(-k) };
}

/** Adds one to a string of decimal digits. */
function incrementDigits(d: string): string {
  return (BigInt(d) + 1n).toString().padStart(d.length, '0');
}

export function oracleFixed6(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const { int, frac } = exactDecimal(x);
  const f = frac.padEnd(7, '0');
  let kept = int + f.slice(0, 6);
  const next = f[6] as string;
  const rest = f.slice(7);
  const lastOdd = Number(kept[kept.length - 1]) % 2 === 1;
  if (next > '5' || (next === '5' && (/[1-9]/.test(rest) || lastOdd))) kept = incrementDigits(kept);
  const intPart = kept.slice(0, -6).replace(/^0+(?=\d)/, '') || '0';
  return `${sign}${intPart}.${kept.slice(-6)}`;
}

/** Shortest digits that read back as x (closest among equals), searched length by length. */
export function oracleShortest(x: number): { digits: string; point: number } {
  const { int, frac } = exactDecimal(x);
  const all = int + frac;
  const lead = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(lead).replace(/0+$/, '');
  const point = int.length - lead;
  const ax = Math.abs(x);
  const exact = BigInt(digits);
  for (let p = 1; p <= 17; p++) {
    const trunc = digits.slice(0, p).padEnd(p, '0');
    const scale = 10n ** BigInt(Math.max(0, digits.length - p));
    const lo = BigInt(trunc);
    const hi = lo + 1n;
    const reads = (c: bigint) => Number(`${c}e${point - p}`) === ax;
    const options = [lo, hi].filter((c) => c !== 0n && reads(c));
    if (options.length === 0) continue;
    let pick = options[0] as bigint;
    if (options.length === 2) {
      const dLo = exact * (digits.length < p ? 10n ** BigInt(p - digits.length) : 1n) - lo * scale;
      const dHi = hi * scale - exact * (digits.length < p ? 10n ** BigInt(p - digits.length) : 1n);
      pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2n === 0n ? lo : hi;
    }
    let s = pick.toString().padStart(p, '0');
    let pt = point;
    if (s.length > p) pt += 1; // 99..9 + 1 carried into a new digit
    s = s.replace(/0+$/, '');
    return { digits: s, point: pt };
  }
  throw new Error(`no shortest form found for ${x}`);
}

/** Python's float repr rule: exponent form when decpt <= -4 or decpt > 16 (value = 0.DIGITS × 10^decpt). */
export function oraclePyStr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  const { digits, point } = oracleShortest(x);
  if (point <= -4 || point > 16) {
    const e = point - 1;
    const rest = digits.slice(1);
    return `${sign}${digits[0]}${rest ? `.${rest}` : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const padded = point >= digits.length ? digits + '0'.repeat(point - digits.length) : digits;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  const fracPart = padded.slice(point);
  return `${sign}${padded.slice(0, point)}.${fracPart || '0'}`;
}
