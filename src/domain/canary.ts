/**
 * Canary plans (PROTOCOL.md "Canary plans"): a plan entry the authorities judge with their real
 * gates and reads, whose permits apply consumes and then drops. Nothing of a canary counts
 * (limits, ledger, reservations, cooldown) and nothing of it can become an order:
 *  - its decision is `CANARY`: the fleet's governor and P3.3 act only on `EXECUTE` and skip it;
 *  - its plan id is `canary-<16 hex>`, never a real plan id (16 hex digits, the proposal's hash),
 *    so no canary key can stand for a real plan's and no real plan's for a canary's; an entry
 *    whose decision and id disagree is refused by our authorities (canaryIdProblem);
 *  - its permits say so: the governor's `decision` is `CANARY` (apply's order path refuses any
 *    other than EXECUTE), and both carry `canary: true`.
 */
import { z } from 'zod';
import { parseGovernorPermit, parseObject, parseP33Permit } from './permits.js';
import { closeStepOf, planStreamFields } from './plan.js';
import { isValidSymbol, type Proposal } from './proposal.js';

export const CANARY_DECISION = 'CANARY';
export const CANARY_PLAN_ID = /^canary-[0-9a-f]{16}$/;
/** The actions a canary may stand for: the closes (a stop move reserves nothing to report). */
export const CANARY_ACTIONS = ['FULL_CLOSE_PROPOSED', 'PARTIAL_75', 'PARTIAL_50'] as const;
export type CanaryAction = (typeof CANARY_ACTIONS)[number];

export function isCanaryPlanId(planId: string): boolean {
  return CANARY_PLAN_ID.test(planId);
}

/** A canary plan id from 8 random bytes (as 16 lower-case hex digits). */
export function canaryPlanId(randomHex: string): string {
  const id = `canary-${randomHex}`;
  if (!isCanaryPlanId(id)) throw new Error('canary plan id needs 16 lower-case hex digits');
  return id;
}

/**
 * Why an authority must refuse an entry for the pairing of its decision and plan id, or null:
 * a CANARY entry with a real plan's id would pre-empt that plan's decision markers, and an
 * EXECUTE entry with a canary's id is a canary replayed as a real plan.
 */
export function canaryIdProblem(decision: string, planId: string): string | null {
  const canaryId = isCanaryPlanId(planId);
  if (decision === CANARY_DECISION && !canaryId) return 'canary_plan_id_required';
  if (decision !== CANARY_DECISION && canaryId) return 'canary_plan_id_reserved';
  return null;
}

/**
 * The canary's plan stream entry: the fleet's fields in the fleet's order (planStreamFields, the
 * one place that writes them), a neutral kill score, decision `CANARY`, reason `canary`, the
 * close's step (the authorities size from the action).
 */
export function canaryEntryFields(c: {
  planId: string;
  symbol: string;
  action: CanaryAction;
  nowSec: number;
}): Record<string, string> {
  const proposal: Proposal = {
    symbol: c.symbol,
    harvestAction: c.action,
    killScore: 0,
    kRegimeFlip: null,
    kSigmaSpike: null,
    kTsDrop: null,
    kAgePenalty: null,
    newSl: null,
    rNet: null,
    lastUpdateEpoch: null,
    computedAtUtc: '',
    reasonCodes: [],
    raw: {},
  };
  const entry = planStreamFields(
    {
      planId: c.planId,
      symbol: c.symbol,
      action: c.action,
      // The entry's decision is CANARY (below), which no Plan carries.
      decision: 'EXECUTE',
      reasonCodes: ['canary'],
      // Every canary action is a close, so it has a step.
      steps: [closeStepOf(c.action)!],
      proposal,
      closeFraction: null,
    },
    c.nowSec,
  );
  return { ...entry, decision: CANARY_DECISION };
}

/** What the governor records of a canary's gates (in its permit or block record, `canary`). */
export interface CanaryGates {
  /** The gates evaluated, in order (none with GOV_AUTO_APPROVE). */
  gates: string[];
  exec_hour?: number;
  exec_5min?: number;
  daily_total?: number | null;
  amount?: number;
  cap?: number;
}

export type CanaryVerdict =
  | {
      pass: true;
      safeCloseQty: number;
      gates: string[];
      exchangePositionAmt: number | null;
    }
  | { pass: false; reason: string; gates: string[]; p33Reason?: string };

/** The gates a governor record of a canary lists (its permit or block record); [] if none. */
export function canaryGatesOf(body: string | null): string[] {
  const o = parseObject(body);
  const c = o?.canary;
  const g = c !== null && typeof c === 'object' && !Array.isArray(c) ? c.gates : undefined;
  return Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * A consumed canary permit set: passed when the governor granted this canary (decision CANARY,
 * the plan's symbol) and P3.3 allowed a finite positive quantity for the plan's symbol.
 */
export function judgeCanary(symbol: string, governorBody: string, p33Body: string): CanaryVerdict {
  const gates = canaryGatesOf(governorBody);
  const gov = parseGovernorPermit(governorBody);
  if (!gov.ok) return { pass: false, reason: gov.reason, gates };
  if (gov.permit.granted !== true) return { pass: false, reason: 'governor_permit_not_granted', gates };
  if (gov.permit.decision !== CANARY_DECISION)
    return { pass: false, reason: 'governor_permit_not_canary', gates };
  const p33 = parseP33Permit(p33Body);
  if (!p33.ok) return { pass: false, reason: p33.reason, gates };
  if (!p33.permit.allow)
    return { pass: false, reason: 'p33_permit_denied', gates, p33Reason: p33.permit.reason };
  if (gov.permit.symbol !== symbol || p33.permit.symbol !== symbol)
    return { pass: false, reason: 'permit_symbol_mismatch', gates };
  const q = p33.permit.safeCloseQty;
  if (q === null || !Number.isFinite(q) || q <= 0)
    return { pass: false, reason: 'invalid_safe_close_qty', gates };
  return { pass: true, safeCloseQty: q, gates, exchangePositionAmt: p33.permit.exchangePositionAmt };
}

// ---------------------------------------------------------------- canary requests

/** A canary request's id (`quantum-apply canary` makes one per run): 16 lower-case hex digits. */
export const CANARY_REQUEST_ID = /^[0-9a-f]{16}$/;

/** Which apply process handled a canary (its heartbeat's instance, host and pid). */
export interface CanaryHandler {
  instance: string;
  host: string;
  pid: number;
}

/** A canary request as the running apply reads it from the request stream. */
export interface CanaryRequest {
  requestId: string;
  symbol: string;
  action: CanaryAction;
  count: number;
  /** Who asked (informational: the command's host and pid). */
  host: string;
  pid: string;
}

/** The request stream entry `quantum-apply canary` writes (PROTOCOL.md "Canary plans"). */
export function canaryRequestFields(r: CanaryRequest & { atMs: number }): Record<string, string> {
  return {
    request_id: r.requestId,
    symbol: r.symbol,
    action: r.action,
    count: String(r.count),
    host: r.host,
    pid: r.pid,
    at: String(Math.floor(r.atMs)),
  };
}

const requestSchema = z.object({
  request_id: z.string().regex(CANARY_REQUEST_ID),
  symbol: z.string().refine(isValidSymbol),
  action: z.enum(CANARY_ACTIONS),
  count: z.string().regex(/^[1-9][0-9]{0,5}$/),
  host: z.string().max(256).default(''),
  pid: z.string().max(32).default(''),
});

/**
 * A request stream entry, parsed at the boundary: the request, or why not (`bad_request_<field>`).
 * `requestId` is set whenever the entry carries a valid one, so a refusal can still answer it.
 */
export function parseCanaryRequest(
  fields: Record<string, string>,
): { ok: true; request: CanaryRequest } | { ok: false; reason: string; requestId: string | null } {
  const p = requestSchema.safeParse(fields);
  if (!p.success) {
    const field = String(p.error.issues[0]?.path[0] ?? 'entry');
    const id = fields.request_id;
    return {
      ok: false,
      reason: `bad_request_${field}`,
      requestId: id !== undefined && CANARY_REQUEST_ID.test(id) ? id : null,
    };
  }
  const d = p.data;
  return {
    ok: true,
    request: {
      requestId: d.request_id,
      symbol: d.symbol,
      action: d.action,
      count: Number(d.count),
      host: d.host,
      pid: d.pid,
    },
  };
}
