/**
 * Environment parsing primitives: zod field schemas over raw strings, and a reader that collects
 * every problem before failing once with a ConfigError. Secret values never reach a message.
 */
import { z } from 'zod';
import { SYMBOL_PATTERN } from '../../domain/proposal.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  variable: string;
  expected: string;
  /** What was given, already redacted for secrets. */
  given: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(service: string, problems: ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.variable}: expected ${p.expected}; got ${p.given}`);
    super(`invalid ${service} configuration (${problems.length} problem(s)):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const REDACTED = '<redacted>';

// SECRET anywhere: PERMIT_SECRET_GOVERNOR_PREVIOUS must be hidden as much as BINANCE_API_SECRET.
const SECRET_NAME = /SECRET|(_KEY|PASSWORD|PASSWD|TOKEN)$/i;

/** True for variables whose value is never printed (API keys, secrets, passwords). */
export function isSecretVariable(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A password-like query parameter and its value. */
const SECRET_PARAM = /([?&](?:password|pass|pwd|secret|token)=)[^&#]*/;

/**
 * Hides the password of a URL (and its password-like query parameters). A value without a
 * scheme but with an "@" loses everything before the last "@".
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  let hidden = url;
  if (at >= 0 && scheme !== undefined && at > scheme.length - 1) {
    // Everything up to the last "@" is userinfo: a password may itself hold "@", "/" or "?".
    const info = url.slice(scheme.length, at);
    const colon = info.indexOf(':');
    let rest = url.slice(at);
    // That "@" may sit inside a password query value (`?password=p@ss`): hide the value's tail.
    if (new RegExp(`${SECRET_PARAM.source}$`, 'i').test(info))
      rest = rest.replace(/^@[^&#]*/, `@${REDACTED}`);
    hidden = `${scheme}${colon >= 0 ? info.slice(0, colon) : ''}:${REDACTED}${rest}`;
  } else if (at >= 0) {
    hidden = `${REDACTED}${url.slice(at)}`;
  }
  return hidden.replace(new RegExp(SECRET_PARAM.source, 'gi'), `$1${REDACTED}`);
}

/** How a given value is shown in an error message. */
export function showValue(name: string, raw: string | undefined): string {
  if (raw === undefined) return '(unset)';
  if (isSecretVariable(name)) return REDACTED;
  const text = /URL$/i.test(name) ? redactUrl(raw) : raw;
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}...` : text);
}

/** A variable's parser: a zod schema over the raw string plus the words used when it fails. */
export interface Field<T> {
  expected: string;
  schema: z.ZodType<T, string>;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface NumberBounds {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
}

export function numberField(b: NumberBounds = {}): Field<number> {
  let n = z.number();
  if (b.int) n = n.int();
  if (b.min !== undefined) n = n.min(b.min);
  if (b.max !== undefined) n = n.max(b.max);
  if (b.gt !== undefined) n = n.gt(b.gt);
  const parts: string[] = [];
  if (b.gt !== undefined) parts.push(`> ${b.gt}`);
  if (b.min !== undefined && b.max !== undefined) parts.push(`in [${b.min}, ${b.max}]`);
  else if (b.min !== undefined) parts.push(`>= ${b.min}`);
  else if (b.max !== undefined) parts.push(`<= ${b.max}`);
  return {
    expected: `${b.int ? 'an integer' : 'a finite number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`,
    schema: z
      .string()
      .trim()
      .regex(NUMBER_TEXT)
      .transform((s) => Number(s))
      .pipe(n),
  };
}

export const portField = (): Field<number> => numberField({ int: true, min: 0, max: 65535 });

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

export function boolField(): Field<boolean> {
  return {
    expected: 'a boolean (true/false, 1/0, yes/no)',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .refine((s) => TRUE_WORDS.includes(s) || FALSE_WORDS.includes(s))
      .transform((s) => TRUE_WORDS.includes(s)),
  };
}

/**
 * A switch the fleet reads as `value.lower() == 'true'`: there every other value is false, so 1,
 * yes and on would mean off in the fleet and on here. Accepted: true, and the words both read as
 * false (false, 0, no, off); anything else is refused rather than guessed.
 */
export function fleetBoolField(): Field<boolean> {
  return {
    expected: 'true or false (the fleet reads every value but "true" as false, 1, yes and on included)',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .refine((s) => s === 'true' || FALSE_WORDS.includes(s))
      .transform((s) => s === 'true'),
  };
}

export function enumField<const T extends string>(values: readonly T[]): Field<T> {
  return {
    expected: `one of ${values.join(' | ')}`,
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(values as [T, ...T[]])),
  };
}

/** Comma-separated symbols, trimmed and upper-cased; blanks between commas are dropped. */
export function symbolListField(opts: { nonEmpty: boolean }): Field<readonly string[]> {
  return {
    expected: `comma-separated symbols matching ${SYMBOL_PATTERN.source}${opts.nonEmpty ? ' (at least one)' : ''}`,
    schema: z
      .string()
      .transform((s) => [
        ...new Set(
          s
            .split(',')
            .map((x) => x.trim().toUpperCase())
            .filter((x) => x !== ''),
        ),
      ])
      .pipe(z.array(z.string().regex(SYMBOL_PATTERN)).min(opts.nonEmpty ? 1 : 0)),
  };
}

/** Comma-separated lower-case names (e.g. authorities), at least one. */
export function nameListField(): Field<readonly string[]> {
  return {
    expected: 'comma-separated lower-case names matching ^[a-z0-9_]{1,32}$ (at least one)',
    schema: z
      .string()
      .transform((s) => [
        ...new Set(
          s
            .split(',')
            .map((x) => x.trim().toLowerCase())
            .filter((x) => x !== ''),
        ),
      ])
      .pipe(z.array(z.string().regex(/^[a-z0-9_]{1,32}$/)).min(1)),
  };
}

export function urlField(protocols: readonly string[]): Field<string> {
  return {
    expected: `a URL (${protocols.map((p) => `${p}//`).join(' or ')})`,
    schema: z
      .string()
      .trim()
      .refine((s) => {
        try {
          const u = new URL(s);
          return protocols.includes(u.protocol) && u.hostname !== '';
        } catch {
          return false;
        }
      })
      .transform((s) => s.replace(/\/+$/, '')),
  };
}

export function textField(): Field<string> {
  return { expected: 'text', schema: z.string() };
}

/** A credential; blank counts as absent (null). */
export function secretField(): Field<string | null> {
  return {
    expected: 'a non-blank value without surrounding spaces',
    schema: z
      .string()
      .refine((s) => s.trim() === s || s.trim() === '')
      .transform((s) => (s === '' || s.trim() === '' ? null : s)),
  };
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const LEVEL_ALIASES: Record<string, LogLevel> = {
  fatal: 'fatal',
  critical: 'fatal',
  error: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  silent: 'silent',
};

/** pino levels; the fleet's Python names (INFO, WARNING, CRITICAL) are accepted too. */
export function logLevelField(): Field<LogLevel> {
  return {
    expected: 'a log level (trace, debug, info, warn, error, fatal, silent)',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .refine((s) => s in LEVEL_ALIASES)
      .transform((s) => LEVEL_ALIASES[s] as LogLevel),
  };
}

/** Reads variables, keeps going after a bad one, and throws every problem at once in finish(). */
export class EnvReader {
  private readonly problems: ConfigProblem[] = [];
  private readonly bad = new Set<string>();

  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    return this.env[name];
  }

  isSet(name: string): boolean {
    return this.env[name] !== undefined;
  }

  /** The parsed value, `fallback` when unset; a bad value is recorded and `fallback` returned. */
  get<T>(name: string, field: Field<T>, fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined) return fallback;
    const parsed = field.schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.problem(name, field.expected);
    return fallback;
  }

  /** True when no problem has been recorded for every one of these variables. */
  valid(...names: string[]): boolean {
    return names.every((n) => !this.bad.has(n));
  }

  problem(name: string, expected: string, given?: string): void {
    this.bad.add(name);
    this.problems.push({ variable: name, expected, given: given ?? showValue(name, this.env[name]) });
  }

  finish(service: string): void {
    if (this.problems.length > 0) throw new ConfigError(service, this.problems);
  }
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
