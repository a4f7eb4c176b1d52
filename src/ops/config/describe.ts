/** A loggable copy of a config: credentials replaced by "<redacted>", URL passwords hidden. */
import { REDACTED, redactUrl } from './env.js';

const SECRET_FIELDS = new Set(['apiKey', 'apiSecret', 'secret', 'password', 'token']);
/** Any field naming a secret (permit secrets: secret, previousSecret). */
const SECRET_FIELD = /secret|password|token/i;

function redact(key: string, value: unknown): unknown {
  if (SECRET_FIELDS.has(key) || SECRET_FIELD.test(key))
    return value === null || value === undefined ? value : REDACTED;
  if (typeof value === 'string') return /url$/i.test(key) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map((v) => redact('', v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(k, v);
    return out;
  }
  return value;
}

export function describeConfig(cfg: object): Record<string, unknown> {
  return redact('', cfg) as Record<string, unknown>;
}
