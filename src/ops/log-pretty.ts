/**
 * LOG_FORMAT=pretty: pino's JSON lines rewritten for a person at a terminal, one line each:
 * `time LEVEL service[component] message key=value …`, an error's stack indented below. It
 * formats the finished JSON line, so redaction has already happened and a secret cannot appear
 * here unless it was in the JSON line too.
 */
import type { DestinationStream } from 'pino';

/** Fields the line's head already shows. */
const HEAD = new Set(['time', 'level', 'service', 'component', 'msg', 'pid', 'hostname']);

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON log line as a readable line (text that is not a JSON object passes unchanged). */
export function prettyLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
    o = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const who = `${show(o.service ?? '-')}${o.component !== undefined ? `[${show(o.component)}]` : ''}`;
  const level = String(o.level ?? '')
    .toUpperCase()
    .padEnd(5);
  const fields: string[] = [];
  let stack = '';
  for (const [k, v] of Object.entries(o)) {
    if (HEAD.has(k)) continue;
    const err = k === 'err' && typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
    if (err && typeof err.stack === 'string') {
      fields.push(`err=${show(err.message)}`);
      stack = `\n    ${err.stack.split('\n').join('\n    ')}`;
    } else fields.push(`${k}=${show(v)}`);
  }
  const head = [String(o.time ?? ''), level, who, String(o.msg ?? '')].filter((s) => s !== '');
  return `${[...head, ...fields].join(' ')}${stack}\n`;
}

/** A destination writing each line through prettyLine() to `inner`. */
export function prettyDestination(inner: DestinationStream): DestinationStream {
  return { write: (line: string) => inner.write(prettyLine(line)) };
}
