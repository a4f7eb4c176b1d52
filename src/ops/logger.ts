/**
 * pino JSON logs to stdout. Secrets are redacted by field name, case-insensitively, in logged
 * objects and child bindings down to MAX_DEPTH levels; they must never be put into `msg` text,
 * which no redaction can reach.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyDestination } from './log-pretty.js';

export type Logger = PinoLogger;

export const REDACTED_KEYS: readonly string[] = [
  'apiKey',
  'apiSecret',
  'api_key',
  'api_secret',
  'secret',
  'password',
  'authorization',
  'signature',
  'X-MBX-APIKEY',
];

const SECRET = new Set(REDACTED_KEYS.map((k) => k.toLowerCase()));
const BINDING_PATHS = [...new Set([...REDACTED_KEYS, ...REDACTED_KEYS.map((k) => k.toLowerCase())])].map(
  (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`),
);
const MAX_DEPTH = 6;

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(v);
}

/**
 * Copy-on-write scrub: objects without secrets are returned as they are. Chosen over pino's
 * path redaction, whose wildcard paths cost far more per line than a scrub that finds nothing.
 */
export function scrub<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) return errorForLog(value, depth) as T;
  if (!isPlain(value)) return value;
  const src = value as Record<string, unknown>;
  let out: Record<string, unknown> | unknown[] | null = null;
  for (const key of Object.keys(src)) {
    const v = src[key];
    const next =
      SECRET.has(key.toLowerCase()) && v !== null && v !== undefined ? '<redacted>' : scrub(v, depth + 1);
    if (next !== v) {
      out ??= Array.isArray(src) ? [...(src as unknown[])] : { ...src };
      (out as Record<string, unknown>)[key] = next;
    }
  }
  return (out ?? value) as T;
}

/**
 * Errors become plain objects: type, message, stack, primitive fields and scrubbed plain
 * objects. Anything else is dropped: HTTP client errors carry the request (raw headers with
 * X-MBX-APIKEY) and its config, which a generic serializer would print.
 */
function errorForLog(e: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: e.constructor?.name ?? e.name,
    message: e.message,
    stack: e.stack,
  };
  for (const key of Object.keys(e)) {
    const v = (e as unknown as Record<string, unknown>)[key];
    if (SECRET.has(key.toLowerCase())) out[key] = '<redacted>';
    else if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[key] = v;
    else if (typeof v === 'object' && (v instanceof Error || isPlain(v))) out[key] = scrub(v, depth + 1);
  }
  if (e.cause !== undefined && depth < MAX_DEPTH) out.cause = scrub(e.cause, depth + 1);
  return out;
}

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Defaults to buffered asynchronous stdout (STDOUT_BUFFER); call flushLogger() before exiting. */
  destination?: DestinationStream;
  /** LOG_FORMAT: `json` (default) or `pretty` (log-pretty.ts), for people at a terminal. */
  format?: 'json' | 'pretty';
}

const CHINDINGS = pino.symbols.chindingsSym;

/**
 * pino appends a child's bindings to its parent's, so a key bound at two levels (`all` binds
 * `component: 'apply'`, the exchange adapter under it `component: 'exchange'`) appeared twice in
 * one line, and JSON readers keep either one. Here the child's value replaces the parent's,
 * except `component`, where both are kept as a path (`apply/exchange`). Only a child that repeats
 * a key pays for the merge.
 */
function mergeRepeatedBindings(child: PinoLogger): void {
  const c = child as unknown as Record<symbol, string>;
  const own = c[CHINDINGS];
  const parent = (Object.getPrototypeOf(child) as Record<symbol, string>)[CHINDINGS];
  if (own === undefined || parent === undefined || !own.startsWith(parent) || own === parent) return;
  const added = JSON.parse(`{${own.slice(parent.length + 1)}}`) as Record<string, unknown>;
  const repeated = Object.keys(added).filter((k) => parent.includes(`${JSON.stringify(k)}:`));
  if (repeated.length === 0) return;
  const merged = JSON.parse(`{${parent.slice(1)}}`) as Record<string, unknown>;
  for (const [k, v] of Object.entries(added)) {
    const before = merged[k];
    merged[k] =
      k === 'component' && typeof before === 'string' && typeof v === 'string' ? `${before}/${v}` : v;
  }
  c[CHINDINGS] = `,${JSON.stringify(merged).slice(1, -1)}`;
}

/**
 * stdout is written once 4 KB of lines are buffered, and at least every 100 ms. A write per line
 * was the largest single item of the governor's and P3.3's CPU near capacity (BENCHMARKS.md,
 * Pipeline). A line is late by at most 100 ms. Shutdown flushes (flushLogger), and so does any
 * exit, crashes included (pino flushes synchronously on process exit); a process killed by
 * SIGKILL or the OOM killer loses at most its last 100 ms of lines.
 */
export const STDOUT_BUFFER = { minLength: 4096, periodicFlush: 100 } as const;

export function createLogger(opts: LoggerOptions): Logger {
  // Pretty lines are for a person watching: written as they come, not batched.
  const destination =
    opts.format === 'pretty'
      ? prettyDestination(opts.destination ?? pino.destination({ dest: 1, sync: true }))
      : (opts.destination ?? pino.destination({ dest: 1, sync: false, ...STDOUT_BUFFER }));
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors were already made plain by scrub(); pino's own serializer would re-type them.
      serializers: { err: (v: unknown) => (v instanceof Error ? errorForLog(v, 0) : v) },
      formatters: { level: (label) => ({ level: label }), log: (o) => scrub(o) },
      // pino applies no formatter to child bindings; top-level paths (cheap, no wildcards) cover them.
      redact: { paths: BINDING_PATHS, censor: '<redacted>' },
      onChild: mergeRepeatedBindings,
    },
    destination,
  );
}

/** A child logger bound to one plan (and its symbol when known). */
export function planLogger(log: Logger, planId: string, symbol?: string): Logger {
  return log.child(symbol === undefined ? { plan: planId } : { plan: planId, symbol });
}

interface DrainableStream {
  _writing?: boolean;
  once(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
}

/**
 * Writes out buffered lines before exit. pino's flush(cb) on an asynchronous SonicBoom with
 * minLength 0 calls back at once while a write may still be in flight, so we also wait for the
 * stream's `drain` (bounded: a blocked stdout must not hang shutdown).
 */
export async function flushLogger(log: Logger, timeoutMs = 2_000): Promise<void> {
  await new Promise<void>((resolve) => {
    try {
      log.flush(() => resolve());
    } catch {
      resolve();
    }
  });
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    DrainableStream | undefined;
  if (stream?._writing !== true || typeof stream.once !== 'function') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stream.off('drain', done);
      stream.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    stream.once('drain', done);
    stream.once('error', done);
  });
}

export interface CapturedLogger {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Raw text written so far (to prove a secret never appears anywhere). */
  text(): string;
}

/** A logger writing synchronously into memory, for tests. */
export function captureLogger(opts: { level?: string; service?: string } = {}): CapturedLogger {
  const chunks: string[] = [];
  const sink: DestinationStream = { write: (s: string) => void chunks.push(s) };
  const logger = createLogger({
    service: opts.service ?? 'test',
    level: opts.level ?? 'trace',
    destination: sink,
  });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
