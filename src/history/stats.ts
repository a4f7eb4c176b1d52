/**
 * What `history` and `history stats` say about recorded plans, from their stories (query.ts):
 * how each plan ended and who stopped it, what it closed, and the hand-off (the last permit
 * granted to the order's intent). Pure; quantities and notionals in exact decimals.
 */
import { add, floorToStep, mul, parseDec, sign, toText, ZERO, type Dec } from '../domain/decimal.js';
import { utcDay } from '../domain/governor/gates.js';
import { percentile } from '../demo/report.js';
import type { PlanStory } from './query.js';
import type { OrderRow } from './schema.js';

/**
 * Who ended a plan that did not execute; `none` for an executed one, `dry_run` for one that would
 * have (APPLY_MODE=dry_run), `pending` without a result.
 */
export type StoppedBy = 'apply' | 'governor' | 'p33' | 'none' | 'dry_run' | 'pending';

export interface PlanEnd {
  executed: boolean;
  stoppedBy: StoppedBy;
  /** The stopping reason; '' for an executed plan. */
  reason: string;
  qtyClosed: Dec;
  notionalClosed: Dec;
  /** Intent of the plan's first order minus its last permit grant (ms); null without both. */
  handoffMs: number | null;
}

const STOPS: Record<string, boolean> = { BLOCKED: true, DENY: true };
const GRANTS: Record<string, boolean> = { GRANTED: true, ALLOW: true };

/** A plan's reasons without the note that a warning-level close may proceed. */
export function planReason(reasonCodes: string): string {
  return reasonCodes
    .split(',')
    .filter((r) => r !== '' && r !== 'kill_score_warning_close_ok')
    .join(',');
}

/** What a plan's market orders closed: quantity, notional, and whether a fill had no price. */
export function fillsOf(orders: readonly OrderRow[]): { qty: Dec; notional: Dec; unpriced: boolean } {
  let qty = ZERO;
  let notional = ZERO;
  let unpriced = false;
  for (const o of orders) {
    const q = parseDec(o.executed_qty);
    if (o.kind !== 'market' || q === null || sign(q) <= 0) continue;
    qty = add(qty, q);
    const price = parseDec(o.avg_price);
    if (price !== null && sign(price) > 0) notional = add(notional, mul(q, price));
    else unpriced = true;
  }
  return { qty, notional, unpriced };
}

export function planEnd(s: PlanStory): PlanEnd {
  const { qty, notional } = fillsOf(s.orders);
  const grants = s.decisions.filter((d) => GRANTS[d.verdict] === true).map((d) => d.at_ms);
  const firstOrder = s.orders[0];
  const handoffMs =
    grants.length > 0 && firstOrder !== undefined ? firstOrder.intent_at_ms - Math.max(...grants) : null;
  const end = (executed: boolean, stoppedBy: StoppedBy, reason: string): PlanEnd => ({
    executed,
    stoppedBy,
    reason,
    qtyClosed: qty,
    notionalClosed: notional,
    handoffMs,
  });
  const result = s.results[s.results.length - 1];
  if (result?.executed === 1) return end(true, 'none', '');
  if (result?.would_execute === 1) return end(false, 'dry_run', 'dry_run');
  if (s.plan.decision !== 'EXECUTE') return end(false, 'apply', planReason(s.plan.reason_codes));
  const stop = s.decisions.find((d) => STOPS[d.verdict] === true && d.plan_id === s.plan.plan_id);
  if (stop !== undefined) return end(false, stop.authority === 'p33' ? 'p33' : 'governor', stop.reason);
  if (result !== undefined) return end(false, 'apply', result.error);
  return end(false, 'pending', 'no_result');
}

export type StatsBy = 'symbol' | 'day' | 'reason' | 'authority';
export const STATS_BY: readonly StatsBy[] = ['symbol', 'day', 'reason', 'authority'];

export interface StatsRow {
  /** The group (symbol, UTC day, reason, authority); `all` for the totals. */
  key: string;
  plans: number;
  executed: number;
  notExecuted: number;
  qtyClosed: string;
  /** Rounded down to the cent. */
  notionalClosed: string;
  handoffP50Ms: number | null;
  handoffP99Ms: number | null;
}

export interface HistoryStats {
  total: StatsRow;
  /** Plans that did not execute, by `<who>:<reason>`, most first. */
  notExecutedByReason: { key: string; count: number }[];
  by: StatsBy | null;
  groups: StatsRow[];
}

const CENT = parseDec('0.01')!;

function row(key: string, items: { story: PlanStory; end: PlanEnd }[]): StatsRow {
  const handoffs = items
    .map((i) => i.end.handoffMs)
    .filter((h): h is number => h !== null)
    .sort((a, b) => a - b);
  const executed = items.filter((i) => i.end.executed).length;
  const qty = items.reduce((a, i) => add(a, i.end.qtyClosed), ZERO);
  const notional = items.reduce((a, i) => add(a, i.end.notionalClosed), ZERO);
  return {
    key,
    plans: items.length,
    executed,
    notExecuted: items.length - executed,
    qtyClosed: toText(qty),
    notionalClosed: toText(floorToStep(notional, CENT) ?? notional),
    handoffP50Ms: handoffs.length > 0 ? percentile(handoffs, 50) : null,
    handoffP99Ms: handoffs.length > 0 ? percentile(handoffs, 99) : null,
  };
}

const stopKey = (e: PlanEnd) => `${e.stoppedBy}:${e.reason || '-'}`;

/** `executed`, or who stopped the plan and why (`p33:cooldown_in_flight`). */
export const endLabel = (e: PlanEnd): string => (e.executed ? 'executed' : stopKey(e));

const GROUP_KEY: Record<StatsBy, (s: PlanStory, e: PlanEnd) => string> = {
  symbol: (s) => s.plan.symbol,
  day: (s) => utcDay(s.plan.at_ms),
  reason: (_s, e) => endLabel(e),
  authority: (_s, e) => (e.executed ? 'executed' : e.stoppedBy),
};

export function historyStats(stories: readonly PlanStory[], by: StatsBy | null): HistoryStats {
  const items = stories.map((story) => ({ story, end: planEnd(story) }));
  const reasons = new Map<string, number>();
  for (const i of items)
    if (!i.end.executed) reasons.set(stopKey(i.end), (reasons.get(stopKey(i.end)) ?? 0) + 1);
  const groups = new Map<string, typeof items>();
  if (by !== null)
    for (const i of items) {
      const k = GROUP_KEY[by](i.story, i.end);
      const g = groups.get(k);
      if (g) g.push(i);
      else groups.set(k, [i]);
    }
  return {
    total: row('all', items),
    notExecutedByReason: [...reasons]
      .map(([key, count]) => ({ key, count }))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)),
    by,
    groups: [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, g]) => row(k, g)),
  };
}
