/**
 * Recorded plans (history stories, src/history/query.ts) as the replay engine reads them. The
 * stored `fields` JSON is outside input: parsed with zod, and a row that fails keeps only its
 * columns.
 */
import { z } from 'zod';
import { sign, toNumber } from '../domain/decimal.js';
import { parsePyFloat } from '../domain/pyfloat.js';
import type { ReplayPlan } from '../domain/replay/engine.js';
import type { PlanStory } from '../history/query.js';
import { endLabel, fillsOf, planEnd } from '../history/stats.js';

const fieldsSchema = z.record(z.string(), z.string());

function fieldsOf(json: string): Record<string, string> {
  try {
    const parsed = fieldsSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/**
 * What executing the plan adds to the governor's daily total. Its fills when it executed; else
 * the quantity P3.3 allowed, priced at the symbol's fill nearest in time (the governor counts
 * notional whenever it knows a price); null when neither is known.
 */
function amountOf(s: PlanStory, prices: FillPrices): ReplayPlan['amount'] {
  const f = fillsOf(s.orders);
  if (sign(f.qty) > 0) return { qty: toNumber(f.qty), notional: f.unpriced ? null : toNumber(f.notional) };
  const allow = s.decisions.find((d) => d.authority === 'p33' && d.verdict === 'ALLOW');
  const qty = allow ? parsePyFloat(fieldsOf(allow.fields).safe_close_qty) : null;
  if (qty === null || !Number.isFinite(qty) || qty <= 0) return null;
  const price = prices.nearest(s.plan.symbol, s.plan.at_ms);
  return price === null ? null : { qty, notional: qty * price };
}

/** Each symbol's fill prices in time order, for the one nearest a plan. */
class FillPrices {
  private readonly bySymbol = new Map<string, { atMs: number; price: number }[]>();

  constructor(stories: readonly PlanStory[]) {
    for (const o of stories.flatMap((s) => s.orders)) {
      const price = parsePyFloat(o.avg_price);
      if (price === null || !Number.isFinite(price) || price <= 0) continue;
      const list = this.bySymbol.get(o.symbol) ?? [];
      list.push({ atMs: o.intent_at_ms, price });
      this.bySymbol.set(o.symbol, list);
    }
    for (const list of this.bySymbol.values()) list.sort((a, b) => a.atMs - b.atMs);
  }

  nearest(symbol: string, atMs: number): number | null {
    const list = this.bySymbol.get(symbol);
    if (list === undefined) return null;
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.atMs < atMs) lo = mid + 1;
      else hi = mid;
    }
    const after = list[lo]!;
    const before = list[lo - 1];
    return before !== undefined && atMs - before.atMs <= after.atMs - atMs ? before.price : after.price;
  }
}

export function replayPlans(stories: readonly PlanStory[]): ReplayPlan[] {
  const prices = new FillPrices(stories);
  return stories.map((s) => {
    const f = fieldsOf(s.plan.fields);
    const gov = s.decisions.find(
      (d) => d.authority === 'governor' && (d.verdict === 'GRANTED' || d.verdict === 'BLOCKED'),
    );
    const newSl = parsePyFloat(f.new_sl_proposed);
    return {
      planId: s.plan.plan_id,
      symbol: s.plan.symbol,
      action: s.plan.action,
      killScore: parsePyFloat(s.plan.kill_score) ?? Number.NaN,
      newSl: newSl === 0 ? null : newSl,
      atMs: s.plan.at_ms,
      computedAtUtc: f.computed_at_utc ?? null,
      decision: s.plan.decision,
      reasons: s.plan.reason_codes.split(',').filter((r) => r !== ''),
      governor: gov ? { granted: gov.verdict === 'GRANTED', reason: gov.reason, atMs: gov.at_ms } : null,
      amount: amountOf(s, prices),
      recordedEnd: endLabel(planEnd(s)),
    };
  });
}
