/**
 * `--env-file <path>`: variables from a dotenv-style file. Lines are `KEY=VALUE` (an optional
 * `export ` before the key); blank lines and lines starting with `#` are skipped. A value is
 * unquoted (trimmed; ` #` starts a comment), single-quoted (taken as written) or double-quoted
 * (`\n`, `\"` and `\\` unescaped). Any other line is refused by its number, never its text,
 * which may hold a secret. The real environment wins over the file.
 */
import { readFileSync } from 'node:fs';
import type { Env } from './env.js';

/** The file could not be read or parsed; the message names the path, never a value. */
export class EnvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvFileError';
  }
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

function unquote(raw: string): string | null {
  const q = raw[0];
  if (q === "'" || q === '"') {
    const end = raw.indexOf(q, 1);
    if (q === "'") return end > 0 && /^\s*(#.*)?$/.test(raw.slice(end + 1)) ? raw.slice(1, end) : null;
    // Double quotes: the closing quote is the first one not escaped.
    const m = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(raw);
    if (!m) return null;
    return m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  const hash = raw.search(/\s#/);
  return (hash >= 0 ? raw.slice(0, hash) : raw).trim();
}

/** The variables of an env file's text; throws an EnvFileError naming the first bad line. */
export function parseEnvText(text: string, source = 'env file'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (/^\s*(#.*)?$/.test(line)) return;
    const m = LINE.exec(line);
    const value = m ? unquote(m[2]!) : null;
    if (!m || value === null)
      throw new EnvFileError(`${source}: line ${i + 1} is not KEY=VALUE (or a quote is not closed)`);
    out[m[1]!] = value;
  });
  return out;
}

/** Reads and parses an env file; throws an EnvFileError naming the path. */
export function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new EnvFileError(`cannot read env file ${path} (${code})`);
  }
  return parseEnvText(text, `env file ${path}`);
}

/** The environment with the file's variables added where it has none (the environment wins). */
export function withEnvFile(env: Env, fromFile: Readonly<Record<string, string>>): Env {
  return { ...fromFile, ...definedOnly(env) };
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
