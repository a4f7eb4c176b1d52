/**
 * `explain <plan_id>`: one plan's whole story from what Redis still holds, in time order, and a
 * closing verdict. readPlanTrace (I/O) → factsOf / timelineOf / verdictOf (pure).
 */
import type { Store } from '../store/port.js';
import { factsOf } from './facts.js';
import { timelineOf, type TimelineEvent } from './timeline.js';
import { readPlanTrace, type PlanTrace, type TraceOptions } from './trace.js';
import { verdictOf, type Verdict, type VerdictContext } from './verdict.js';

export type { Source, TimelineEvent } from './timeline.js';

export interface Explanation {
  planId: string;
  symbol: string | null;
  found: boolean;
  readAtMs: number;
  verdict: Verdict;
  timeline: TimelineEvent[];
  /** The symbol's current proposal: does it still yield this plan id? */
  proposal: {
    symbol: string;
    present: boolean;
    currentPlanId: string | null;
    yieldsThisPlan: boolean;
  } | null;
  scanned: PlanTrace['scanned'];
}

export interface ExplainOptions extends TraceOptions, VerdictContext {}

export function explainTrace(t: PlanTrace, opts: ExplainOptions): Explanation {
  const f = factsOf(t, opts.authorities ?? ['governor', 'p33']);
  const verdict = verdictOf(f, t, opts);
  return {
    planId: t.planId,
    symbol: f.symbol,
    found: verdict.kind !== 'UNKNOWN',
    readAtMs: t.readAtMs,
    verdict,
    timeline: timelineOf(f, t),
    proposal: f.proposal
      ? {
          symbol: f.proposal.symbol,
          present: f.proposal.present,
          currentPlanId: f.proposal.currentPlanId,
          yieldsThisPlan: f.proposal.currentPlanId === t.planId,
        }
      : null,
    scanned: t.scanned,
  };
}

export async function explainPlan(store: Store, planId: string, opts: ExplainOptions): Promise<Explanation> {
  return explainTrace(await readPlanTrace(store, planId, opts), opts);
}
