/**
 * Python float semantics the fleet's plan ids depend on: `float(text)`, `'%.6f' % x` and
 * `str(x)`. Pure functions; exactness is tested against a Python-generated table.
 */

// Non-ASCII characters Python's str.isspace() accepts; float() maps them to ' ' before stripping.
const UNICODE_SPACE = /^[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
// float() strips only these (Py_ISSPACE); \x1c-\x1f are isspace() but never stripped by float().
const ASCII_SPACE = ' \t\n\v\f\r';
const NUMERIC = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

/** Unicode guarantees Nd digits come in contiguous runs of ten, ascending from zero. */
function digitValue(cp: number): number {
  let start = cp;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** Python's _PyUnicode_TransformDecimalAndSpaceToASCII; null when a character cannot be part of a number. */
function toAscii(text: string): string | null {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 127) out += ch;
    else if (UNICODE_SPACE.test(ch)) out += ' ';
    else if (DECIMAL_DIGIT.test(ch)) out += String(digitValue(cp));
    else return null;
  }
  return out;
}

/** Python's _Py_string_to_number_with_underscores: '_' only between two digits. */
function dropUnderscores(s: string): string | null {
  if (!s.includes('_')) return s;
  let out = '';
  let prev = '';
  for (const ch of s) {
    const isDigit = ch >= '0' && ch <= '9';
    if (ch === '_') {
      if (!(prev >= '0' && prev <= '9')) return null;
    } else {
      if (prev === '_' && !isDigit) return null;
      out += ch;
    }
    prev = ch;
  }
  return prev === '_' ? null : out;
}

function strip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && ASCII_SPACE.includes(s[a] as string)) a++;
  while (b > a && ASCII_SPACE.includes(s[b - 1] as string)) b--;
  return s.slice(a, b);
}

/** Python `float(text)`; null where Python raises (and for empty/blank/absent input). */
export function parsePyFloat(text: string | undefined | null): number | null {
  if (typeof text !== 'string') return null;
  const ascii = toAscii(text);
  if (ascii === null) return null;
  const joined = dropUnderscores(ascii);
  if (joined === null) return null;
  const s = strip(joined);
  if (!NUMERIC.test(s)) return null;
  const body = s.replace(/^[+-]/, '').toLowerCase();
  const negative = s.startsWith('-');
  if (body === 'nan') return NaN;
  if (body === 'inf' || body === 'infinity') return negative ? -Infinity : Infinity;
  return Number(s);
}

/** |x| = mantissa * 2^exponent exactly, for finite x. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const expField = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  if (expField === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: expField - 1075 };
}

const MICRO = 1_000_000n;

/** Python `'%.6f' % x`: exact binary value, rounded half to even, sign kept on zero. */
export function formatFixed6(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const negative = x < 0 || Object.is(x, -0);
  const { mantissa, exponent } = decompose(Math.abs(x));
  let scaled: bigint;
  if (exponent >= 0) {
    scaled = (mantissa << BigInt(exponent)) * MICRO;
  } else {
    const shift = BigInt(-exponent);
    const numerator = mantissa * MICRO;
    const q = numerator >> shift;
    const r = numerator - (q << shift);
    const half = 1n << (shift - 1n);
    scaled = r > half || (r === half && (q & 1n) === 1n) ? q + 1n : q;
  }
  const digits = scaled.toString().padStart(7, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** Shortest round-trip digits (no leading/trailing zeros) and the decimal point position: |x| = 0.DIGITS × 10^point. */
export function shortestDigits(x: number): { digits: string; point: number } {
  const [mant = '', expText] = String(Math.abs(x)).split('e');
  const [intPart = '', fracPart = ''] = mant.split('.');
  let digits = intPart + fracPart;
  let point = intPart.length + (expText === undefined ? 0 : Number(expText));
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead).replace(/0+$/, '');
  point -= lead;
  return { digits, point };
}

/** Python `str(x)` / `repr(x)` for a float. */
export function pyStr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  const { digits, point } = shortestDigits(x);
  const exp = point - 1;
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
