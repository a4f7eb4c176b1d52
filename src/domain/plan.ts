/**
 * Plan id, decision rules and the plan-stream entry (PROTOCOL.md "Plan id", "Decision rules",
 * "Plan stream entry"). The dedupe step needs Redis, so it is applied by the service through
 * markDuplicate() after decide().
 */
import { createHash } from 'node:crypto';
import { computedAtSec, type Proposal } from './proposal.js';
import { formatFixed6, pyStr } from './pyfloat.js';
import { pyJsonDumps } from './pyjson.js';

export type Decision = 'EXECUTE' | 'SKIP' | 'BLOCKED' | 'ERROR';

export type CloseStepName = 'CLOSE_FULL' | 'CLOSE_PARTIAL_75' | 'CLOSE_PARTIAL_50';

export type Step =
  | { step: CloseStepName; type: 'market_reduce_only'; side: 'close'; pct: number }
  | { step: 'UPDATE_SL'; type: 'stop_loss_order'; price: number };

export interface Plan {
  planId: string;
  symbol: string;
  action: string;
  decision: Decision;
  /** Decision reasons (comma-joined on the stream); the proposal's own codes stay on `proposal`. */
  reasonCodes: string[];
  /** Present only while the decision is EXECUTE. */
  steps: Step[];
  proposal: Proposal;
  /** Fraction of the position a close action removes; null for non-close actions. */
  closeFraction: number | null;
}

export interface DecisionConfig {
  killSwitch: boolean;
  allowlist: ReadonlySet<string>;
  kBlockCritical: number;
  kBlockWarning: number;
  /** The deciding host's clock, unix seconds (proposal freshness). */
  nowSec: number;
  /** APPLY_MAX_PROPOSAL_AGE_SEC: an older `computed_at_utc` never executes. */
  maxProposalAgeSec: number;
}

/**
 * How far in the future a proposal's `computed_at_utc` may lie (clock differences between the
 * exit brain's host and ours). Beyond it the time is not trusted: a proposal from the future
 * would otherwise stay "fresh" for as long as it sits in Redis.
 */
export const PROPOSAL_FUTURE_SKEW_SEC = 60;

/**
 * Why a proposal that would execute is too old to: null when it is fresh. Absent, malformed
 * and future times cannot prove freshness, so they never execute either.
 */
export function proposalAgeProblem(
  p: Proposal,
  nowSec: number,
  maxAgeSec: number,
): 'stale_proposal' | 'invalid_computed_at' | null {
  const at = computedAtSec(p.computedAtUtc);
  if (at === null || !Number.isFinite(nowSec)) return 'invalid_computed_at';
  if (at - nowSec > Math.min(PROPOSAL_FUTURE_SKEW_SEC, maxAgeSec)) return 'invalid_computed_at';
  return nowSec - at > maxAgeSec ? 'stale_proposal' : null;
}

const CLOSE_ACTIONS: Record<
  string,
  { step: CloseStepName; fraction: number; fractionText: string; pct: number }
> = {
  FULL_CLOSE_PROPOSED: { step: 'CLOSE_FULL', fraction: 1, fractionText: '1', pct: 100 },
  PARTIAL_75: { step: 'CLOSE_PARTIAL_75', fraction: 0.75, fractionText: '0.75', pct: 75 },
  PARTIAL_50: { step: 'CLOSE_PARTIAL_50', fraction: 0.5, fractionText: '0.5', pct: 50 },
};

const closeAction = (action: string) =>
  Object.prototype.hasOwnProperty.call(CLOSE_ACTIONS, action) ? CLOSE_ACTIONS[action] : undefined;

/** FULL_CLOSE_PROPOSED 1, PARTIAL_75 0.75, PARTIAL_50 0.5, anything else null. */
export function actionFraction(action: string): number | null {
  return closeAction(action)?.fraction ?? null;
}

/** The same fraction as exact decimal text ("0.5"), for quantity arithmetic without floats. */
export function actionFractionText(action: string): string | null {
  return closeAction(action)?.fractionText ?? null;
}

export function isCloseAction(action: string): boolean {
  return actionFraction(action) !== null;
}

/** A close action's one step, as an EXECUTE plan carries it; null for any other action. */
export function closeStepOf(action: string): Step | null {
  const close = closeAction(action);
  return close ? { step: close.step, type: 'market_reduce_only', side: 'close', pct: close.pct } : null;
}

/** An apply plan id: the first 16 hex digits of the fingerprint's SHA-256 (planIdOf). */
export const PLAN_ID_PATTERN = /^[0-9a-f]{16}$/;

/** The exact text hashed into the plan id (exported for diagnostics and the CLI). */
export function planFingerprint(p: Proposal): string {
  const newSl = p.newSl === null ? 'None' : pyStr(p.newSl);
  return `${p.symbol}:${p.harvestAction}:${formatFixed6(p.killScore)}:${newSl}:${p.computedAtUtc}`;
}

/** First 16 hex digits of SHA-256 over the fingerprint, as the Python fleet computes it. */
export function planIdOf(p: Proposal): string {
  return createHash('sha256').update(planFingerprint(p), 'utf8').digest('hex').slice(0, 16);
}

/** Reason text for an unknown action, limited to a label-safe charset and length. */
function unknownActionReason(action: string): string {
  return `unknown_action_${action.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 64)}`;
}

/**
 * Every rule of the contract except the dedupe step (see markDuplicate), then freshness: a plan
 * that would execute on a proposal older than `maxProposalAgeSec` (or of unknown age) is
 * BLOCKED instead, so a proposal left in Redis never acts on an old decision.
 */
export function decide(p: Proposal, cfg: DecisionConfig): Plan {
  const plan = decideRules(p, cfg);
  if (plan.decision !== 'EXECUTE') return plan;
  const stale = proposalAgeProblem(p, cfg.nowSec, cfg.maxProposalAgeSec);
  return stale
    ? { ...plan, decision: 'BLOCKED', reasonCodes: [...plan.reasonCodes, stale], steps: [] }
    : plan;
}

/** A kill score the gates can compare: finite and within [0, 1] (the scale the thresholds use). */
export function isValidKillScore(score: number): boolean {
  return Number.isFinite(score) && score >= 0 && score <= 1;
}

function decideRules(p: Proposal, cfg: DecisionConfig): Plan {
  const base = {
    planId: planIdOf(p),
    symbol: p.symbol,
    action: p.harvestAction,
    proposal: p,
    closeFraction: actionFraction(p.harvestAction),
  };
  const plan = (decision: Decision, reasonCodes: string[], steps: Step[] = []): Plan => ({
    ...base,
    decision,
    reasonCodes,
    steps,
  });
  if (cfg.killSwitch) return plan('BLOCKED', ['kill_switch_active']);
  if (!cfg.allowlist.has(p.symbol)) return plan('SKIP', ['not_in_allowlist']);
  // Python compares NaN as "below every threshold" and would execute; a score off the [0, 1]
  // scale (-5, 1e308) is no score the thresholds were set for. Both fail closed.
  if (!isValidKillScore(p.killScore)) return plan('BLOCKED', ['invalid_kill_score']);
  if (!Number.isFinite(cfg.kBlockCritical) || !Number.isFinite(cfg.kBlockWarning)) {
    return plan('BLOCKED', ['kill_thresholds_invalid']);
  }
  const reasons: string[] = [];
  if (p.killScore >= cfg.kBlockCritical) return plan('BLOCKED', ['kill_score_critical']);
  if (p.killScore >= cfg.kBlockWarning) {
    if (!isCloseAction(p.harvestAction)) return plan('BLOCKED', ['kill_score_warning_risk_increase']);
    reasons.push('kill_score_warning_close_ok');
  }
  const close = closeStepOf(p.harvestAction);
  if (close) return plan('EXECUTE', reasons, [close]);
  if (p.harvestAction === 'UPDATE_SL') {
    if (p.newSl === null || p.newSl === 0) return plan('ERROR', [...reasons, 'missing_new_sl']);
    // A NaN, infinite or negative stop price cannot be sent; the seed would have tried.
    if (!Number.isFinite(p.newSl) || p.newSl < 0) return plan('ERROR', [...reasons, 'invalid_new_sl']);
    return plan('EXECUTE', reasons, [{ step: 'UPDATE_SL', type: 'stop_loss_order', price: p.newSl }]);
  }
  if (p.harvestAction === 'HOLD') return plan('SKIP', [...reasons, 'action_hold']);
  return plan('ERROR', [...reasons, unknownActionReason(p.harvestAction)]);
}

/** The dedupe key already existed: an EXECUTE plan becomes SKIP (duplicate_plan) without steps. */
export function markDuplicate(plan: Plan): Plan {
  if (plan.decision !== 'EXECUTE') return plan;
  return { ...plan, decision: 'SKIP', reasonCodes: [...plan.reasonCodes, 'duplicate_plan'], steps: [] };
}

/**
 * The plan-stream entry, field for field as the fleet writes it: numbers as Python str(),
 * absent k components as "0.0" and absent R_net as "None" (the seed's defaults), steps as
 * Python json.dumps, close_qty "0.0" unless given.
 */
export function planStreamFields(
  plan: Plan,
  nowSec: number,
  closeQty?: string,
  price?: number | null,
): Record<string, string> {
  const p = plan.proposal;
  const k = (x: number | null) => pyStr(x ?? 0);
  return {
    plan_id: plan.planId,
    symbol: plan.symbol,
    action: plan.action,
    kill_score: pyStr(p.killScore),
    k_regime_flip: k(p.kRegimeFlip),
    k_sigma_spike: k(p.kSigmaSpike),
    k_ts_drop: k(p.kTsDrop),
    k_age_penalty: k(p.kAgePenalty),
    new_sl_proposed: p.newSl === null || p.newSl === 0 ? '' : pyStr(p.newSl),
    R_net: p.rNet === null ? 'None' : pyStr(p.rNet),
    decision: plan.decision,
    reason_codes: plan.reasonCodes.join(','),
    steps: pyJsonDumps(plan.steps),
    close_qty: closeQty ?? '0.0',
    price: price === undefined || price === null || price === 0 ? '' : pyStr(price),
    timestamp: String(Math.floor(nowSec)),
  };
}
