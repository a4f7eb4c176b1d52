/**
 * The proposal hash (`quantum:harvest:proposal:<S>`) parsed at the boundary: numbers like
 * Python's float() (unparseable = absent), absurd sizes and malformed symbols refused with a reason.
 */
import { parsePyFloat } from './pyfloat.js';

export interface Proposal {
  symbol: string;
  harvestAction: string;
  killScore: number;
  kRegimeFlip: number | null;
  kSigmaSpike: number | null;
  kTsDrop: number | null;
  kAgePenalty: number | null;
  newSl: number | null;
  rNet: number | null;
  lastUpdateEpoch: number | null;
  computedAtUtc: string;
  /** The proposal's own codes (comma list, blanks dropped); decision reasons live on the Plan. */
  reasonCodes: string[];
  /** The known fields exactly as received. */
  raw: Readonly<Record<string, string>>;
}

export type ProposalRejection =
  | 'missing_harvest_action'
  | 'missing_kill_score'
  | 'invalid_kill_score'
  | 'invalid_symbol'
  | 'field_too_long'
  | 'too_many_fields';

export type ProposalParse =
  { ok: true; proposal: Proposal } | { ok: false; reason: ProposalRejection; field?: string };

export const SYMBOL_PATTERN = /^[A-Z0-9]{2,30}$/;
export const MAX_FIELD_CHARS = 256;
export const MAX_REASON_CODES_CHARS = 2048;
export const MAX_FIELDS = 200;

export const PROPOSAL_FIELDS = [
  'harvest_action',
  'kill_score',
  'k_regime_flip',
  'k_sigma_spike',
  'k_ts_drop',
  'k_age_penalty',
  'new_sl_proposed',
  'R_net',
  'last_update_epoch',
  'computed_at_utc',
  'reason_codes',
] as const;

export function isValidSymbol(symbol: unknown): symbol is string {
  return typeof symbol === 'string' && SYMBOL_PATTERN.test(symbol);
}

export function parseProposal(symbol: string, fields: Record<string, string>): ProposalParse {
  if (!isValidSymbol(symbol)) return { ok: false, reason: 'invalid_symbol' };
  if (fields === null || typeof fields !== 'object') return { ok: false, reason: 'missing_harvest_action' };
  if (Object.keys(fields).length > MAX_FIELDS) return { ok: false, reason: 'too_many_fields' };
  const raw: Record<string, string> = {};
  for (const name of PROPOSAL_FIELDS) {
    if (!Object.prototype.hasOwnProperty.call(fields, name)) continue;
    const value = fields[name];
    if (typeof value !== 'string') continue;
    const limit = name === 'reason_codes' ? MAX_REASON_CODES_CHARS : MAX_FIELD_CHARS;
    if (value.length > limit) return { ok: false, reason: 'field_too_long', field: name };
    raw[name] = value;
  }
  const action = raw.harvest_action;
  if (action === undefined || action === '') return { ok: false, reason: 'missing_harvest_action' };
  const killText = raw.kill_score;
  if (killText === undefined || killText.trim() === '') return { ok: false, reason: 'missing_kill_score' };
  const killScore = parsePyFloat(killText);
  if (killScore === null) return { ok: false, reason: 'invalid_kill_score' };
  const num = (name: string) => parsePyFloat(raw[name]);
  return {
    ok: true,
    proposal: {
      symbol,
      harvestAction: action,
      killScore,
      kRegimeFlip: num('k_regime_flip'),
      kSigmaSpike: num('k_sigma_spike'),
      kTsDrop: num('k_ts_drop'),
      kAgePenalty: num('k_age_penalty'),
      newSl: num('new_sl_proposed'),
      rNet: num('R_net'),
      lastUpdateEpoch: num('last_update_epoch'),
      computedAtUtc: raw.computed_at_utc ?? '',
      reasonCodes: (raw.reason_codes ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
      raw: Object.freeze(raw),
    },
  };
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * `computed_at_utc` as unix seconds, or null when it is absent or not an ISO-8601 date and time.
 * A time without a zone is UTC: the exit brain writes Python's `datetime.utcnow().isoformat()`
 * (`2026-01-25T00:43:45.123456`, no zone); `Z` and `+hh:mm` offsets are honoured too.
 */
export function computedAtSec(text: string): number | null {
  const m = ISO_TIME.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as number[];
  if (month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59) return null;
  const ms = Date.UTC(year!, month! - 1, day!, hour, minute, second);
  // Date.UTC rolls 2026-02-30 over into March: refuse a day the month does not have.
  if (new Date(ms).getUTCDate() !== day) return null;
  let offsetMin = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '');
    const oh = Number(digits.slice(1, 3));
    const om = Number(digits.slice(3, 5));
    if (oh > 23 || om > 59) return null;
    offsetMin = (digits.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  return ms / 1000 + Number(`0.${frac ?? '0'}`) - offsetMin * 60;
}
