/**
 * JSON as the Python fleet writes and reads it: `json.dumps` layout (", " and ": " separators,
 * ensure_ascii, floats via repr, NaN/Infinity tokens) and a `json.loads`-compatible parser
 * that also accepts NaN/Infinity/-Infinity (Python permits may contain them).
 */
import { pyStr } from './pyfloat.js';

export type PyJson = null | boolean | number | string | PyJson[] | { [key: string]: PyJson };

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function dumpString(s: string): string {
  // Python's ensure_ascii escapes everything outside ' '..'~', UTF-16 unit by unit.
  return `"${s.replace(/[^ -~]|["\\]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

function dumpNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyStr(x);
}

/** Python `json.dumps(value)`; every number is written as a Python float (100 → 100.0). */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return dumpNumber(value);
  if (typeof value === 'string') return dumpString(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${dumpString(k)}: ${pyJsonDumps(v)}`);
    return `{${parts.join(', ')}}`;
  }
  return 'null';
}

const MAX_DEPTH = 32;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- JSON strings forbid raw control characters
const STRING = /"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WORDS: [string, PyJson][] = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
];

class ParseError extends Error {}

/**
 * Python `json.loads(text)`; null when Python would raise, or past MAX_DEPTH levels of nesting.
 * Text that JSON.parse accepts means the same to json.loads, so JSON.parse reads it (a permit
 * body in ~1/8 of the time); the rest (NaN/Infinity tokens, or not JSON at all) goes through
 * pyJsonParseTokens. A property test holds the two to the same answers.
 */
export function pyJsonParse(text: string): { value: PyJson } | null {
  let value: PyJson;
  try {
    value = JSON.parse(text) as PyJson;
  } catch {
    return pyJsonParseTokens(text);
  }
  return withinDepth(value, 0) ? { value } : null;
}

/** pyJsonParseTokens' depth rule: a key or a value deeper than MAX_DEPTH fails the whole text. */
function withinDepth(v: PyJson, depth: number): boolean {
  if (v === null || typeof v !== 'object') return true;
  const children = Array.isArray(v) ? v : Object.values(v);
  if (children.length === 0) return true;
  if (depth + 1 > MAX_DEPTH) return false;
  return children.every((c) => withinDepth(c, depth + 1));
}

/** The reference reader, token by token: json.loads' grammar, NaN/Infinity included. */
export function pyJsonParseTokens(text: string): { value: PyJson } | null {
  let pos = 0;
  const ws = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos] as string)) pos++;
  };
  const value = (depth: number): PyJson => {
    if (depth > MAX_DEPTH) throw new ParseError();
    ws();
    const c = text[pos];
    if (c === '{' || c === '[') {
      const isObj = c === '{';
      pos++;
      const obj: Record<string, PyJson> = {};
      const arr: PyJson[] = [];
      ws();
      if (text[pos] === (isObj ? '}' : ']')) {
        pos++;
        return isObj ? obj : arr;
      }
      for (;;) {
        if (isObj) {
          ws();
          const key = value(depth + 1);
          if (typeof key !== 'string') throw new ParseError();
          ws();
          if (text[pos++] !== ':') throw new ParseError();
          // defineProperty: a "__proto__" key must stay data, never reach the prototype.
          Object.defineProperty(obj, key, {
            value: value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          arr.push(value(depth + 1));
        }
        ws();
        const sep = text[pos++];
        if (sep === ',') continue;
        if (sep === (isObj ? '}' : ']')) return isObj ? obj : arr;
        throw new ParseError();
      }
    }
    if (c === '"') {
      STRING.lastIndex = pos;
      const m = STRING.exec(text);
      if (!m) throw new ParseError();
      pos += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    for (const [word, v] of WORDS) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) throw new ParseError();
    pos += m[0].length;
    return Number(m[0]);
  };
  try {
    const v = value(0);
    ws();
    return pos === text.length ? { value: v } : null;
  } catch (err) {
    if (err instanceof ParseError) return null;
    throw err;
  }
}
