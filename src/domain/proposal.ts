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
