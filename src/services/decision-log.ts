/**
 * Ours: the governor decisions stream (`keys.governorDecisions()`), one compact entry per grant
 * or block and per change of the arm state. The fleet's `governor.events` stream is kept to
 * AUTO_DISARM entries, since a fleet reader may take any entry there for a disarm.
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
