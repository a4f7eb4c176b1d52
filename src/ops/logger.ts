/**
 * pino JSON logs to stdout. Secrets are redacted by field name (top level and two levels deep);
 * they must never be put into `msg` text, which no redaction can reach.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

const SECRET_KEYS = [
  'apiKey',
  'apiSecret',
  'api_key',
  'api_secret',
  'secret',
  'password',
  'authorization',
  'Authorization',
  'signature',
  'X-MBX-APIKEY',
  'x-mbx-apikey',
];

function pathsFor(key: string): string[] {
  const seg = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
  const top = seg.startsWith('.') ? seg.slice(1) : seg;
  return [top, `*${seg}`, `*.*${seg}`];
}

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap(pathsFor);

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Defaults to asynchronous stdout; call flushLogger() before exiting. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: '<redacted>' },
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
