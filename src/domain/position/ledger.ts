/**
 * Ledger arithmetic: how one executed result moves the shadow position. Reduce-only fills only:
 * a SELL lowers a long, a BUY lowers a short, never past zero; anything else leaves it as it is.
 */
import { entryTooLarge } from '../entry-limits.js';
import { abs, add, cmp, max, min, parseDec, sign, sub, toText, ZERO, type Dec } from '../decimal.js';
import { AUTHORITY_PLAN_ID } from '../governor/plan-input.js';
import { isValidSymbol } from '../proposal.js';

export interface ExecutedFill {
  planId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  executedQty: Dec;
  orderId: string;
}

/**
 * An order step of an executed result that reports no fill quantity: the order was only
 * acknowledged (Binance's default ACK answer, which the fleet's apply gets: executed_qty "0").
 * What it filled must be asked of the exchange (fillFromOrder), never taken as nothing.
 */
export interface UnfilledStep {
  planId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  /** The exchange's order id; '' when the step does not say. */
  orderId: string;
}

export type ResultParse =
  | { kind: 'fill'; fill: ExecutedFill }
  | { kind: 'unfilled'; step: UnfilledStep }
  | { kind: 'not_executed' }
  | { kind: 'invalid'; reason: string };

/**
 * A result stream entry → the fill it reports. Reads `steps_results` for the order step(s):
 * every step with a side and a positive executed_qty counts (one plan may carry several); one
 * with an executed_qty of zero is `unfilled`.
 */
export function parseResultEntry(fields: Record<string, string>): ResultParse[] {
  if (fields.executed !== 'True') return [{ kind: 'not_executed' }];
  if (entryTooLarge(fields)) return [{ kind: 'invalid', reason: 'entry_too_large' }];
  const symbol = fields.symbol ?? '';
  if (!isValidSymbol(symbol)) return [{ kind: 'invalid', reason: 'invalid_symbol' }];
  let steps: unknown;
  try {
    steps = JSON.parse(fields.steps_results ?? '');
  } catch {
    return [{ kind: 'invalid', reason: 'invalid_steps_results' }];
  }
  if (!Array.isArray(steps)) return [{ kind: 'invalid', reason: 'invalid_steps_results' }];
  const out: ResultParse[] = [];
  for (const s of steps) {
    if (typeof s !== 'object' || s === null) continue;
    const r = s as Record<string, unknown>;
    if (r.side !== 'BUY' && r.side !== 'SELL') continue;
    // A step that reports no fill at all (our stop-loss step: order_id and side, no executed_qty)
    // has nothing for the ledger. A fill quantity that is there but does not parse is garbage.
    if (r.executed_qty === undefined) continue;
    const qty = parseDec(
      typeof r.executed_qty === 'number' ? String(r.executed_qty) : (r.executed_qty as string),
    );
    if (!qty || sign(qty) < 0) {
      out.push({ kind: 'invalid', reason: 'invalid_executed_qty' });
      continue;
    }
    const planId = fields.plan_id ?? '';
    const orderId = r.order_id === undefined || r.order_id === null ? '' : String(r.order_id);
    if (sign(qty) === 0) {
      out.push({ kind: 'unfilled', step: { planId, symbol, side: r.side, orderId } });
      continue;
    }
    out.push({ kind: 'fill', fill: { planId, symbol, side: r.side, executedQty: qty, orderId } });
  }
  // No order step (a stop-loss update): nothing moves the ledger.
  return out.length > 0 ? out : [{ kind: 'not_executed' }];
}

/** An order as the exchange reports it now: the fields fillFromOrder judges. */
export interface OrderState {
  symbol: string;
  side: string;
  status: string;
  executedQty: string;
}

/** Binance order statuses after which executedQty no longer changes. */
const FINAL_ORDER_STATUSES: ReadonlySet<string> = new Set([
  'FILLED',
  'CANCELED',
  'EXPIRED',
  'EXPIRED_IN_MATCH',
  'REJECTED',
]);

/**
 * What the exchange's record of an unfilled step's order says it filled: a fill, `none` (it ended
 * without filling), or `unknown` (not found, still working, or about another order), where only
 * the position can tell.
 */
export function fillFromOrder(
  step: UnfilledStep,
  order: OrderState | null,
): { kind: 'fill'; fill: ExecutedFill } | { kind: 'none' } | { kind: 'unknown'; why: string } {
  if (order === null) return { kind: 'unknown', why: 'order_not_found' };
  if (order.symbol !== step.symbol || order.side !== step.side)
    return { kind: 'unknown', why: 'order_mismatch' };
  if (!FINAL_ORDER_STATUSES.has(order.status)) return { kind: 'unknown', why: 'order_not_final' };
  const qty = parseDec(order.executedQty);
  if (qty === null || sign(qty) < 0) return { kind: 'unknown', why: 'invalid_executed_qty' };
  if (sign(qty) === 0) return { kind: 'none' };
  return { kind: 'fill', fill: { ...step, executedQty: qty } };
}

/**
 * `written_by` on every ledger write of ours: a ledger without it was last seeded by someone else
 * (the fleet's P3.3, whose ledger can sit at 0 under an open position), which the checks name.
 */
export const LEDGER_WRITER = 'quantum-apply';

export function applyFill(current: Dec, side: 'BUY' | 'SELL', qty: Dec): Dec {
  if (side === 'SELL' && sign(current) > 0) return max(ZERO, sub(current, qty));
  if (side === 'BUY' && sign(current) < 0) return min(ZERO, add(current, qty));
  return current;
}

/** The ledger hash fields after a fill (contract names; numbers as decimal text). */
export function ledgerFieldsAfter(current: Dec, fill: ExecutedFill, nowSec: number): Record<string, string> {
  return {
    last_known_amt: toText(applyFill(current, fill.side, fill.executedQty)),
    last_order_id: fill.orderId,
    last_result_plan_id: fill.planId,
    last_executed_qty: toText(fill.executedQty),
    last_side: fill.side,
    updated_at: String(Math.floor(nowSec)),
    written_by: LEDGER_WRITER,
  };
}

/**
 * The ledger hash fields after an execution whose fill only the position can tell: the ledger
 * takes the exchange's amount, and the execution starts the cooldown like any fill.
 */
export function ledgerFieldsResynced(
  previous: Dec | null,
  exchangeAmt: Dec,
  step: UnfilledStep,
  nowSec: number,
): Record<string, string> {
  return {
    last_known_amt: toText(exchangeAmt),
    last_order_id: step.orderId,
    last_result_plan_id: step.planId,
    last_executed_qty: previous === null ? '0' : toText(abs(sub(previous, exchangeAmt))),
    last_side: step.side,
    updated_at: String(Math.floor(nowSec)),
    written_by: LEDGER_WRITER,
  };
}

/** Fields of a ledger seeded from the exchange: no execution yet, so no cooldown. */
export function seededLedgerFields(exchangeAmt: Dec, nowSec: number): Record<string, string> {
  return {
    last_known_amt: toText(exchangeAmt),
    last_order_id: '',
    last_result_plan_id: '',
    last_executed_qty: '0',
    last_side: '',
    updated_at: '0',
    seeded_at: String(Math.floor(nowSec)),
    written_by: LEDGER_WRITER,
  };
}

/** When the ledger follower may release a plan's reservation (reservations.ts) on its result. */
export type ReservationRelease = { planId: string; symbol: string; afterFill: boolean };

/**
 * Whether every order step that filled filled its whole quantity: the rest of a partial fill
 * could still fill, unseen by the ledger. Called on an entry parseResultEntry found a fill in.
 */
function fillsComplete(stepsJson: string): boolean {
  const steps = JSON.parse(stepsJson) as unknown[];
  return steps.every((s) => {
    if (typeof s !== 'object' || s === null) return true;
    const r = s as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'number' ? String(v) : (v as string));
    const executed = r.executed_qty === undefined ? null : parseDec(text(r.executed_qty));
    if (executed === null || sign(executed) <= 0) return true;
    const ordered = parseDec(text(r.quantity));
    return ordered !== null && cmp(executed, ordered) >= 0;
  });
}

/**
 * A result entry's release of its plan's reservation, or null when the reservation must stay
 * until it lapses. Not executed: at once, unless the order's fate is unknown (it may have
 * filled). Executed with its whole quantity filled: only once that fill is in the ledger
 * (`afterFill`), so a reader that finds the reservation gone finds the fill in the ledger.
 * Executed without a usable fill quantity (an order only acknowledged, executed_qty "0") or
 * with part of it: it lapses. `parsed`: the entry's parseResultEntry, when the caller has it.
 */
export function reservationRelease(
  fields: Record<string, string>,
  parsed: ResultParse[] = parseResultEntry(fields),
): ReservationRelease | null {
  const planId = fields.plan_id ?? '';
  const symbol = fields.symbol ?? '';
  if (!AUTHORITY_PLAN_ID.test(planId) || !isValidSymbol(symbol)) return null;
  if (fields.executed !== 'True') {
    return (fields.error ?? '').startsWith('order_status_unknown')
      ? null
      : { planId, symbol, afterFill: false };
  }
  if (!parsed.some((p) => p.kind === 'fill') || parsed.some((p) => p.kind === 'invalid')) return null;
  return fillsComplete(fields.steps_results ?? '[]') ? { planId, symbol, afterFill: true } : null;
}

/** One symbol's row in `ledger sync`: the ledger, who wrote it, the exchange, what a sync does. */
export interface LedgerSyncRow {
  symbol: string;
  /** last_known_amt as stored; null: no ledger. */
  ledger: string | null;
  writtenBy: 'quantum-apply' | 'other' | 'none';
  exchange: string;
  /** `seed`: no ledger; `sync`: it differs from the exchange (or does not parse); `in_sync`. */
  action: 'in_sync' | 'seed' | 'sync';
}

export function ledgerSyncRow(symbol: string, ledger: Record<string, string>, exchange: Dec): LedgerSyncRow {
  const raw = ledger.last_known_amt;
  const writtenBy =
    Object.keys(ledger).length === 0 ? 'none' : ledger.written_by === LEDGER_WRITER ? LEDGER_WRITER : 'other';
  const amount = parseDec(raw);
  const action =
    raw === undefined ? 'seed' : amount !== null && cmp(amount, exchange) === 0 ? 'in_sync' : 'sync';
  return { symbol, ledger: raw ?? null, writtenBy, exchange: toText(exchange), action };
}
