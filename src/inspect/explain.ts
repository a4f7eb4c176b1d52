/**
 * `explain <plan_id>`: one plan's whole story from what Redis still holds, in time order, and a
 * closing verdict. readPlanTrace (I/O) → factsOf / timelineOf / verdictOf (pure). Once the
 * streams no longer hold the plan, explainStory tells it from the history database's rows.
 */
import type { Store } from '../store/port.js';
import { factsOf } from './facts.js';
import { timelineOf, type Source, type TimelineEvent } from './timeline.js';
import { readPlanTrace, type PlanTrace, type TraceOptions } from './trace.js';
import { VERDICT_KINDS, verdictOf, type Verdict, type VerdictContext } from './verdict.js';
import type { PlanStory } from '../history/query.js';
import { planEnd } from '../history/stats.js';

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

const SOURCES: Record<string, Source> = { governor: 'governor', p33: 'p33' };

/** The verdict the history's rows give (planEnd), in explain's kinds. */
function storyVerdict(s: PlanStory): Verdict {
  const e = planEnd(s);
  if (e.executed) return { kind: 'EXECUTED', line: 'EXECUTED: the result says executed', reason: null };
  if (e.stoppedBy === 'dry_run')
    return { kind: 'DRY_RUN', line: 'DRY RUN: would have executed, no order sent', reason: null };
  if (e.stoppedBy === 'pending')
    return { kind: 'INCOMPLETE', line: 'INCOMPLETE: the history holds no result for it', reason: null };
  const kind = e.stoppedBy === 'apply' && s.plan.decision !== 'EXECUTE' ? s.plan.decision : 'BLOCKED';
  const who = e.stoppedBy === 'apply' ? 'apply' : e.stoppedBy === 'p33' ? 'P3.3' : 'the governor';
  const k = (VERDICT_KINDS as readonly string[]).includes(kind) ? (kind as Verdict['kind']) : 'ERROR';
  return { kind: k, line: `${k}: ${who}: ${e.reason || 'no reason recorded'}`, reason: e.reason || null };
}

/**
 * One plan's story from the history database (`explain`'s fallback once the streams no longer
 * hold it): the same Explanation, dated by the recorded rows.
 */
export function explainStory(s: PlanStory, readAtMs: number): Explanation {
  const p = s.plan;
  const timeline: TimelineEvent[] = [
    {
      atMs: p.at_ms,
      approx: false,
      source: 'apply',
      what: `plan published: ${p.decision}${p.reason_codes ? ` (${p.reason_codes})` : ''}`,
      details: { action: p.action, kill_score: p.kill_score },
    },
  ];
  for (const d of s.decisions)
    timeline.push({
      atMs: d.at_ms,
      approx: false,
      source: SOURCES[d.authority] ?? 'event',
      what: `${d.verdict}${d.reason ? ` ${d.reason}` : ''}`,
      details: {},
    });
  for (const o of s.orders) {
    timeline.push({
      atMs: o.intent_at_ms,
      approx: false,
      source: 'order',
      what: `${o.kind} ${o.side} ${o.quantity || o.trigger_price} intent`,
      details: { client_order_id: o.client_order_id, step: o.step },
    });
    if (o.updated_at_ms > o.intent_at_ms)
      timeline.push({
        atMs: o.updated_at_ms,
        approx: false,
        source: 'order',
        what: o.state,
        details: {
          order_id: o.order_id,
          executed_qty: o.executed_qty,
          avg_price: o.avg_price,
          reason: o.reason,
        },
      });
  }
  for (const r of s.results)
    timeline.push({
      atMs: r.at_ms,
      approx: false,
      source: 'result',
      what: `${r.stream}: ${r.decision} executed=${r.executed === 1 ? 'True' : 'False'}`,
      details: { error: r.error },
    });
  timeline.sort((a, b) => a.atMs! - b.atMs!);
  return {
    planId: p.plan_id,
    symbol: p.symbol,
    found: true,
    readAtMs,
    verdict: storyVerdict(s),
    timeline,
    proposal: null,
    scanned: { plan: 1, result: s.results.length, decisions: s.decisions.length, events: 0, complete: true },
  };
}
