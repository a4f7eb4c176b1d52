/**
 * What the authorities (governor, P3.3) read from a plan stream entry, parsed at the boundary.
 * A field that fails to parse makes the whole entry garbage with a short snake_case reason:
 * garbage is acknowledged and counted, never granted.
 */
import {
  actionFraction as closeFraction,
  actionFractionText as closeFractionText,
  isCloseAction,
} from '../plan.js';
import { canaryIdProblem } from '../canary.js';
import { entryTooLarge } from '../entry-limits.js';
import type { PermitKey } from '../permit-signing.js';
import { PLAN_SIG_FIELD, verifyPlanSignature, type PlanSignatureReason } from '../plan-signing.js';
import { parsePyFloat as pyFloat } from '../pyfloat.js';
import { isValidSymbol } from '../proposal.js';

export type AuthorityPlan = {
  planId: string;
  symbol: string;
  action: string;
  decision: string;
  /** Always finite (NaN/inf kill scores are garbage: they would slip past a `>=` gate). */
  killScore: number;
};

export type PlanParse = { ok: true; plan: AuthorityPlan } | { ok: false; reason: string };

/** How an authority treats plan signatures (SECURITY.md "Signed plan entries"). */
export interface PlanSignaturePolicy {
  /** Verification keys: PLAN_SECRET_APPLY, then PLAN_SECRET_APPLY_PREVIOUS. */
  keys: readonly PermitKey[];
  /** GOV_/P33_REQUIRE_SIGNED_PLANS: an entry without a valid signature is refused. */
  required: boolean;
}

/**
 * A parse under a signature policy. `signature` is set when a signature problem was found but
 * the entry is still handled (not required: the fleet's unsigned entries keep working), so the
 * caller can count and log it; a refused entry is `ok: false` with the signature reason.
 */
export type CheckedPlanParse =
  | {
      ok: true;
      plan: AuthorityPlan;
      signature?: { reason: PlanSignatureReason; detail: Record<string, string> };
    }
  | { ok: false; reason: string; detail?: Record<string, string> };

/** A plan id the authorities accept: the fleet's and ours (PLAN_ID_PATTERN) alike. */
export const AUTHORITY_PLAN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const WORD = /^[A-Z0-9_]{1,40}$/;
const MAX_NUMBER_TEXT = 100;

export { isCloseAction };

/** Python's float() on a field (shared semantics with the apply layer); over-long text → null. */
export function parsePyFloat(raw: string | undefined): number | null {
  return raw === undefined || raw.length > MAX_NUMBER_TEXT ? null : pyFloat(raw);
}

/**
 * Fraction of the position an action closes. Non-close actions (UPDATE_SL) count as the full
 * position, like the fleet's "default to full": the stop protects all of it.
 */
export function actionFraction(action: string): number {
  return closeFraction(action) ?? 1;
}

/** The same fraction as an exact decimal string (for quantity arithmetic without floats). */
export function actionFractionText(action: string): string {
  return closeFractionText(action) ?? '1';
}

export function parseAuthorityPlan(fields: Record<string, string>): PlanParse {
  if (entryTooLarge(fields)) return { ok: false, reason: 'entry_too_large' };
  const planId = fields.plan_id;
  if (planId === undefined || planId === '') return { ok: false, reason: 'missing_plan_id' };
  if (!AUTHORITY_PLAN_ID.test(planId)) return { ok: false, reason: 'invalid_plan_id' };
  const symbol = fields.symbol;
  if (symbol === undefined || symbol === '') return { ok: false, reason: 'missing_symbol' };
  if (!isValidSymbol(symbol)) return { ok: false, reason: 'invalid_symbol' };
  const decision = fields.decision;
  if (decision === undefined || decision === '') return { ok: false, reason: 'missing_decision' };
  if (!WORD.test(decision)) return { ok: false, reason: 'invalid_decision' };
  const canaryId = canaryIdProblem(decision, planId);
  if (canaryId !== null) return { ok: false, reason: canaryId };
  const action = fields.action ?? '';
  if (action !== '' && !WORD.test(action)) return { ok: false, reason: 'invalid_action' };
  const ks = parsePyFloat(fields.kill_score);
  if (ks === null) return { ok: false, reason: 'missing_kill_score' };
  if (!Number.isFinite(ks)) return { ok: false, reason: 'invalid_kill_score' };
  return { ok: true, plan: { planId, symbol, action, decision, killScore: ks } };
}

/**
 * parseAuthorityPlan, then the signature. Parsing first bounds the entry's size before any MAC
 * is computed over it. Required: a missing or invalid signature refuses the entry. Not required:
 * an unsigned entry is handled as the fleet's always were, and a present signature is checked
 * only when this host holds a key (before it has one, apply's signatures cannot be read).
 */
export function parseCheckedPlan(
  fields: Record<string, string>,
  policy: PlanSignaturePolicy | null | undefined,
): CheckedPlanParse {
  const parsed = parseAuthorityPlan(fields);
  if (!parsed.ok || !policy) return parsed;
  if (!policy.required && (policy.keys.length === 0 || !Object.hasOwn(fields, PLAN_SIG_FIELD))) return parsed;
  const sig = verifyPlanSignature(fields, policy.keys);
  if (sig.ok) return parsed;
  if (policy.required) return { ok: false, reason: sig.reason, detail: sig.detail };
  return { ...parsed, signature: { reason: sig.reason, detail: sig.detail } };
}
