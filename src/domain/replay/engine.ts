/**
 * Replay (what-if): recorded plans re-decided in time order under other settings, by the same
 * rules the services run: apply's decide() (src/domain/plan.ts) and the governor's kill-score
 * gate and counting rule (src/domain/governor/gates.ts). Pure: the governor's execution lists
 * and daily totals are simulated here, from this replay's own grants.
 *
 * What no setting decides is taken as recorded: a disarm (kill_switch_active while the replayed
 * APPLY_KILL_SWITCH is off), a duplicate, a stale proposal whose computed_at was not recorded,
 * and a governor block for a failed position read or evaluation (after the rate gates, which
 * the governor checks first for such a plan too).
 */
import { countingVerdict, HOUR_SEC, killScoreGate, utcDay, type GovernorLimits } from '../governor/gates.js';
import { decide, type Decision } from '../plan.js';
import type { Proposal } from '../proposal.js';

/** The settings a replay varies: apply's decision settings and the governor's limits. */
export interface ReplaySettings {
  killSwitch: boolean;
  allowlist: readonly string[];
  kBlockCritical: number;
  kBlockWarning: number;
  maxProposalAgeSec: number;
  limits: GovernorLimits;
  /** GOV_AUTO_APPROVE: no governor gate applies. */
  autoApprove: boolean;
}

/** What a replay needs of one recorded plan. */
export interface ReplayPlan {
  planId: string;
  symbol: string;
  action: string;
  killScore: number;
  newSl: number | null;
  /** When apply decided it (the plan entry's time), unix ms. */
  atMs: number;
  /** The proposal's computed_at_utc when recorded; null: its freshness is taken as recorded. */
  computedAtUtc: string | null;
  /** Apply's recorded decision and reasons. */
  decision: string;
  reasons: readonly string[];
  /** The governor's recorded decision; null when it made none (or none was recorded). */
  governor: { granted: boolean; reason: string; atMs: number } | null;
  /** What executing it adds to the governor's daily totals (its permit's figures); null: unknown. */
  amount: { qty: number; notional: number | null } | null;
  /** How it really ended, for the report (`executed`, `p33:cooldown_in_flight`); not replayed. */
  recordedEnd?: string;
}

export type Stage = 'apply' | 'governor';

export interface Outcome {
  decision: Decision;
  /** Who stopped it; null for EXECUTE (passed apply and the governor). */
  by: Stage | null;
  /** The stopping reason ('' for EXECUTE). */
  reason: string;
  /** EXECUTE without a known amount: the daily cap could not be checked for it. */
  dailyUnchecked?: boolean;
}

export interface ReplayedPlan {
  plan: ReplayPlan;
  outcome: Outcome;
}

/** Recorded facts no setting changes (see the module comment). */
const RECORDED_APPLY = new Set(['duplicate_plan']);
const FRESHNESS = new Set(['stale_proposal', 'invalid_computed_at']);
const RECORDED_GOVERNOR = new Set(['position_fetch_failed', 'limit_computation_error', 'evaluation_error']);

const EXECUTE: Outcome = { decision: 'EXECUTE', by: null, reason: '' };

function proposalOf(p: ReplayPlan): Proposal {
  return {
    symbol: p.symbol,
    harvestAction: p.action,
    killScore: p.killScore,
    kRegimeFlip: null,
    kSigmaSpike: null,
    kTsDrop: null,
    kAgePenalty: null,
    newSl: p.newSl,
    rNet: null,
    lastUpdateEpoch: null,
    // Not recorded: stamped at the decision itself, so freshness holds unless recorded otherwise.
    computedAtUtc: p.computedAtUtc ?? new Date(p.atMs).toISOString(),
    reasonCodes: [],
    raw: {},
  };
}

function applyOutcome(p: ReplayPlan, s: ReplaySettings): Outcome {
  const disarmed = p.reasons.includes('kill_switch_active') && p.decision === 'BLOCKED';
  const plan = decide(proposalOf(p), {
    killSwitch: s.killSwitch || disarmed,
    allowlist: new Set(s.allowlist),
    kBlockCritical: s.kBlockCritical,
    kBlockWarning: s.kBlockWarning,
    nowSec: p.atMs / 1000,
    maxProposalAgeSec: s.maxProposalAgeSec,
  });
  if (plan.decision !== 'EXECUTE') {
    const reason = plan.reasonCodes.find((r) => r !== 'kill_score_warning_close_ok') ?? '';
    return { decision: plan.decision, by: 'apply', reason };
  }
  const kept = p.reasons.find((r) => RECORDED_APPLY.has(r) || (p.computedAtUtc === null && FRESHNESS.has(r)));
  if (kept === undefined) return EXECUTE;
  return { decision: kept === 'duplicate_plan' ? 'SKIP' : 'BLOCKED', by: 'apply', reason: kept };
}

/** The governor's simulated state: each symbol's grant times and each (symbol, day)'s total. */
class GovernorState {
  private readonly execs = new Map<string, number[]>();
  private readonly daily = new Map<string, number>();

  execTimestamps(symbol: string, nowSec: number): string[] {
    // Only the last hour counts (the widest window): older grants are dropped.
    const kept = (this.execs.get(symbol) ?? []).filter((t) => t > nowSec - HOUR_SEC);
    this.execs.set(symbol, kept);
    return kept.map(String);
  }

  dailyTotal(symbol: string, day: string): string | null {
    const v = this.daily.get(`${symbol}|${day}`);
    return v === undefined ? null : String(v);
  }

  grant(symbol: string, nowSec: number, day: string, total: number): void {
    this.execs.get(symbol)!.push(nowSec);
    this.daily.set(`${symbol}|${day}`, total);
  }
}

function governorOutcome(p: ReplayPlan, s: ReplaySettings, state: GovernorState): Outcome {
  const enforce = !s.autoApprove;
  if (enforce && !killScoreGate(p.action, p.killScore, s.limits).pass)
    return { decision: 'BLOCKED', by: 'governor', reason: 'kill_score_critical_non_close' };
  const atMs = p.governor?.atMs ?? p.atMs;
  const nowSec = atMs / 1000;
  const day = utcDay(atMs);
  const recordedBlock = p.governor && !p.governor.granted && RECORDED_GOVERNOR.has(p.governor.reason);
  const amount = p.amount;
  const priced = amount !== null && amount.notional !== null && amount.notional > 0;
  const verdict = countingVerdict({
    execTimestamps: state.execTimestamps(p.symbol, nowSec),
    dailyTotal: state.dailyTotal(p.symbol, day),
    nowSec,
    // A plan the governor blocked before counting is checked against the rate gates only.
    enforce,
    limits: s.limits,
    amount: amount === null ? 0 : priced ? amount.notional! : amount.qty,
    cap:
      amount === null || recordedBlock
        ? Infinity
        : priced
          ? s.limits.maxReduceNotionalPerDayUsd
          : s.limits.maxReduceQtyPerDay,
  });
  if (verdict.code !== 'granted') return { decision: 'BLOCKED', by: 'governor', reason: verdict.reason };
  if (recordedBlock) return { decision: 'BLOCKED', by: 'governor', reason: p.governor!.reason };
  state.grant(p.symbol, nowSec, day, verdict.newDailyTotal);
  return amount === null ? { ...EXECUTE, dailyUnchecked: true } : EXECUTE;
}

/** Every plan re-decided, in time order (ties by plan id), under `settings`. */
export function replay(plans: readonly ReplayPlan[], settings: ReplaySettings): ReplayedPlan[] {
  const state = new GovernorState();
  const ordered = [...plans].sort((a, b) => a.atMs - b.atMs || (a.planId < b.planId ? -1 : 1));
  return ordered.map((plan) => {
    const applied = applyOutcome(plan, settings);
    const outcome = applied.decision === 'EXECUTE' ? governorOutcome(plan, settings, state) : applied;
    return { plan, outcome };
  });
}

/** The outcome the recording shows; null when the governor's decision on an EXECUTE is missing. */
export function recordedOutcome(p: ReplayPlan): Outcome | null {
  if (p.decision !== 'EXECUTE') {
    const reason = p.reasons.find((r) => r !== 'kill_score_warning_close_ok') ?? '';
    return { decision: p.decision as Decision, by: 'apply', reason };
  }
  if (p.governor === null) return null;
  return p.governor.granted ? EXECUTE : { decision: 'BLOCKED', by: 'governor', reason: p.governor.reason };
}
