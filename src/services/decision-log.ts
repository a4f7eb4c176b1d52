/**
 * Ours: the authorities' decision streams. The governor's (`keys.governorDecisions()`): one
 * compact entry per grant or block and per change of the arm state; the fleet's `governor.events`
 * stream is kept to AUTO_DISARM entries, since a fleet reader may take any entry there for a
 * disarm. P3.3's (`keys.p33Decisions()`): one entry per allow or deny, beside its permit.
 */
import type { Store } from '../store/port.js';

/** Capped like the plan stream: a follower that keeps up with plans keeps up with this. */
export const DECISIONS_MAXLEN = 10_000;

export type GovernorDecision = 'GRANTED' | 'BLOCKED' | 'ARMED' | 'DISARMED';

export interface DecisionRecord {
  /** Empty for a change of the arm state. */
  planId: string;
  symbol: string;
  decision: GovernorDecision;
  /** The block reason, the arm change's reason; empty for a grant. */
  reason: string;
  atMs: number;
  /** Who changed the arm state (arm changes only). */
  by?: string;
}

/** The entry's fields, in this order: plan_id, symbol, decision, reason, timestamp (unix s, 3 decimals)[, by]. */
export function decisionFields(d: DecisionRecord): Record<string, string> {
  return {
    plan_id: d.planId,
    symbol: d.symbol,
    decision: d.decision,
    reason: d.reason,
    timestamp: (d.atMs / 1000).toFixed(3),
    ...(d.by !== undefined ? { by: d.by } : {}),
  };
}

export async function recordDecision(store: Store, d: DecisionRecord): Promise<void> {
  await store.xadd(store.keys.governorDecisions(), decisionFields(d), DECISIONS_MAXLEN);
}

export type P33Decision = 'ALLOW' | 'DENY';

export interface P33DecisionRecord {
  planId: string;
  symbol: string;
  decision: P33Decision;
  /** The deny reason; empty for an allow. */
  reason: string;
  /** The quantity an allow permits to close; empty for a deny. */
  safeCloseQty: string;
  atMs: number;
}

/** The entry's fields, in this order: plan_id, symbol, decision, reason, safe_close_qty, timestamp (unix s, 3 decimals). */
export function p33DecisionFields(d: P33DecisionRecord): Record<string, string> {
  return {
    plan_id: d.planId,
    symbol: d.symbol,
    decision: d.decision,
    reason: d.reason,
    safe_close_qty: d.safeCloseQty,
    timestamp: (d.atMs / 1000).toFixed(3),
  };
}

export async function recordP33Decision(store: Store, d: P33DecisionRecord): Promise<void> {
  await store.xadd(store.keys.p33Decisions(), p33DecisionFields(d), DECISIONS_MAXLEN);
}
