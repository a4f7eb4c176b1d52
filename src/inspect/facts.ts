/**
 * Pure: a raw PlanTrace parsed into typed facts (bodies, steps, times). Unreadable values become
 * short reasons, never exceptions: explain must work on whatever Redis holds.
 */
import {
  parseGovernorPermit,
  parseP33Permit,
  type GovernorPermit,
  type P33Permit,
} from '../domain/permits.js';
import { planIdOf } from '../domain/plan.js';
import { parseProposal } from '../domain/proposal.js';
import { parsePyFloat } from '../domain/pyfloat.js';
import { pyJsonParse, type PyJson } from '../domain/pyjson.js';
import type { StreamEntry } from '../store/port.js';
import { entryMs } from './stream-scan.js';
import type { KeyRead, PlanTrace } from './trace.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface PlanFact {
  entry: StreamEntry;
  atMs: number | null;
  decision: string;
  reasons: string[];
  action: string;
}

export interface ResultFact {
  entry: StreamEntry;
  atMs: number | null;
  decision: string;
  executed: boolean;
  wouldExecute: boolean;
  error: string;
  steps: Record<string, PyJson>[];
}

export interface ProposalFact {
  symbol: string;
  present: boolean;
  /** Plan id the current hash yields (null: it yields no plan, see parseError). */
  currentPlanId: string | null;
  parseError: string | null;
  atMs: number | null;
  fields: Record<string, string>;
}

export interface Facts {
  planId: string;
  symbol: string | null;
  plan: PlanFact | null;
  result: ResultFact | null;
  governorPermit: (KeyRead & { body: Parsed<GovernorPermit> }) | null;
  p33Permit: (KeyRead & { body: Parsed<P33Permit> }) | null;
  governorBlock: { reason: string; atMs: number | null; ttlMs: number } | null;
  /** What the atomic consume took, by authority, from the receipt. */
  consumed: { bodies: Record<string, string>; atMs: number | null; ttlMs: number } | null;
  proposal: ProposalFact | null;
}

export const RECEIPT_TTL_SEC = 3600;

function json(text: string | null | undefined): PyJson | undefined {
  if (text === null || text === undefined) return undefined;
  return pyJsonParse(text)?.value;
}

function obj(v: PyJson | undefined): Record<string, PyJson> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
}

export const secToMs = (s: number | null | undefined): number | null =>
  s === null || s === undefined || !Number.isFinite(s) ? null : Math.round(s * 1000);

export function parseBody<T>(
  value: string,
  parse: (b: string) => { ok: true; permit: T } | { ok: false; reason: string },
): Parsed<T> {
  const r = parse(value);
  return r.ok ? { ok: true, value: r.permit } : { ok: false, reason: r.reason };
}

export function planFact(e: StreamEntry): PlanFact {
  const reasons = (e.fields.reason_codes ?? '').split(',').filter((r) => r.trim() !== '');
  return {
    entry: e,
    atMs: entryMs(e.id),
    decision: e.fields.decision ?? '?',
    reasons,
    action: e.fields.action ?? '?',
  };
}

export function resultFact(e: StreamEntry): ResultFact {
  const steps = json(e.fields.steps_results);
  return {
    entry: e,
    atMs: entryMs(e.id),
    decision: e.fields.decision ?? '?',
    executed: e.fields.executed === 'True',
    wouldExecute: e.fields.would_execute === 'True',
    error: e.fields.error ?? '',
    steps: Array.isArray(steps) ? steps.map(obj).filter((s): s is Record<string, PyJson> => s !== null) : [],
  };
}

/** Receipt `{token, bodies}` → bodies by authority (configured order, else by body shape). */
export function receiptBodies(value: string, authorities: readonly string[]): Record<string, string> {
  const bodies = obj(json(value))?.bodies;
  const out: Record<string, string> = {};
  if (!Array.isArray(bodies)) return out;
  bodies.forEach((b, i) => {
    if (typeof b !== 'string') return;
    const shape = obj(json(b));
    // A body that names its authority wins over its shape (a third authority may also say "granted").
    const declared = shape && typeof shape.authority === 'string' ? shape.authority : null;
    const byShape = shape && 'granted' in shape ? 'governor' : shape && 'allow' in shape ? 'p33' : null;
    const guess = bodies.length === authorities.length ? authorities[i] : (declared ?? byShape);
    const name = guess && !(guess in out) ? guess : `permit_${i + 1}`;
    out[name] = b;
  });
  return out;
}

function proposalTime(fields: Record<string, string>): number | null {
  const iso = Date.parse(fields.computed_at_utc ?? '');
  if (Number.isFinite(iso)) return iso;
  return secToMs(parsePyFloat(fields.last_update_epoch));
}

export function proposalFact(symbol: string, fields: Record<string, string>): ProposalFact {
  const present = Object.keys(fields).length > 0;
  const parsed = present ? parseProposal(symbol, fields) : null;
  return {
    symbol,
    present,
    currentPlanId: parsed?.ok ? planIdOf(parsed.proposal) : null,
    parseError: parsed && !parsed.ok ? parsed.reason : null,
    atMs: present ? proposalTime(fields) : null,
    fields,
  };
}

export function factsOf(t: PlanTrace, authorities: readonly string[]): Facts {
  const plan = t.planEntries.length > 0 ? planFact(t.planEntries[0]!) : null;
  const result = t.resultEntries.length > 0 ? resultFact(t.resultEntries[t.resultEntries.length - 1]!) : null;
  const block = obj(json(t.governorBlock.value));
  const receipt = t.receipt.value;
  const proposals = Object.entries(t.proposals).map(([s, f]) => proposalFact(s, f));
  const proposal =
    proposals.find((p) => p.currentPlanId === t.planId) ?? (proposals.length === 1 ? proposals[0]! : null);
  const symbol =
    plan?.entry.fields.symbol ??
    result?.entry.fields.symbol ??
    t.intent.symbol ??
    bodySymbol(t) ??
    (proposal?.currentPlanId === t.planId ? proposal.symbol : null);
  return {
    planId: t.planId,
    symbol,
    plan,
    result,
    governorPermit:
      t.governorPermit.value === null
        ? null
        : { ...t.governorPermit, body: parseBody(t.governorPermit.value, parseGovernorPermit) },
    p33Permit:
      t.p33Permit.value === null
        ? null
        : { ...t.p33Permit, body: parseBody(t.p33Permit.value, parseP33Permit) },
    governorBlock:
      t.governorBlock.value === null
        ? null
        : {
            reason: typeof block?.reason === 'string' ? block.reason : 'unreadable_block_record',
            atMs: secToMs(typeof block?.timestamp === 'number' ? block.timestamp : null),
            ttlMs: t.governorBlock.ttlMs,
          },
    consumed:
      receipt === null
        ? null
        : {
            bodies: receiptBodies(receipt, authorities),
            // SET EX RECEIPT_TTL_SEC at consume time: its age is what the TTL has lost since.
            atMs: t.receipt.ttlMs > 0 ? t.readAtMs - (RECEIPT_TTL_SEC * 1000 - t.receipt.ttlMs) : null,
            ttlMs: t.receipt.ttlMs,
          },
    proposal,
  };
}

function bodySymbol(t: PlanTrace): string | null {
  for (const v of [t.governorPermit.value, t.p33Permit.value, t.governorBlock.value]) {
    const s = obj(json(v))?.symbol;
    if (typeof s === 'string') return s;
  }
  return null;
}
