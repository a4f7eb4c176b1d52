/**
 * Lost writes after a Redis failover: which records of our orders the store no longer holds, and
 * what the failover reconciliation does about each. Pure: the exchange's list of orders and what
 * Redis still holds go in, the gaps and their actions come out.
 *
 * The exchange's record is the truth: an order booked under `qa-<plan>-<step>` was sent by a plan
 * that was decided, permitted and fenced, whatever Redis has since forgotten. Asynchronous
 * replication can lose, of that plan: its plan entry, its order intent, its consume receipt and
 * its result (each a write the old master acknowledged and never passed on).
 */
import { PLAN_ID_PATTERN } from './plan.js';

export const LOST_WRITE_KINDS = ['plan_entry', 'intent', 'consume_receipt', 'result'] as const;
export type LostWriteKind = (typeof LOST_WRITE_KINDS)[number];

/**
 * What the reconciliation did about a gap:
 * - `result_published`: the plan had no result; one is published from the exchange's record;
 * - `reconciled_entry_stands`: no result, but a reconciled entry already reports the order (the
 *   ledger has followed it): no second report;
 * - `recorded`: nothing can be rebuilt (a plan entry, an intent, a consume receipt are written
 *   once by the step that made them); the audit entry is the record.
 */
export type LostWriteAction = 'result_published' | 'reconciled_entry_stands' | 'recorded';

/** What the reconciliation reads of an order the exchange lists (callers pass whole orders). */
export interface BookedOrder {
  clientOrderId: string;
  symbol: string;
  status: string;
  /** When the exchange booked it (ms). */
  time: number;
}

/** What Redis still holds of one plan. */
export interface HeldRecords {
  planEntry: boolean;
  intent: boolean;
  receipt: boolean;
  /** The result marker (written with the result entry in one step). */
  result: boolean;
  /** The reconciled marker (written with the reconciled entry in one step). */
  reconciled: boolean;
}

export interface LostWrite<O extends BookedOrder = BookedOrder> {
  kind: LostWriteKind;
  planId: string;
  symbol: string;
  step: string;
  order: O;
  action: LostWriteAction;
}

export interface LostWriteScan<O extends BookedOrder = BookedOrder> {
  gaps: LostWrite<O>[];
  /** Orders of ours looked at (client id `qa-<plan>-<step>`). */
  ours: number;
  /** Orders of ours too recent, or still working: looked at again by the next pass. */
  waiting: number;
}

/** Statuses after which an order never changes again. */
const FINAL = new Set(['FILLED', 'CANCELED', 'EXPIRED', 'EXPIRED_IN_MATCH', 'REJECTED']);

/** `qa-<plan id>-<step>` → plan id and step (the step may be cut at 36 characters); else null. */
export function planStepOfClientId(clientOrderId: string): { planId: string; step: string } | null {
  const m = /^qa-([0-9a-f]{16})-(.+)$/.exec(clientOrderId);
  if (!m || !PLAN_ID_PATTERN.test(m[1]!)) return null;
  return { planId: m[1]!, step: m[2]! };
}

/** True when the order filled some quantity (decimal text from the exchange). */
export function executedSome(executedQty: string): boolean {
  return /[1-9]/.test(executedQty);
}

/**
 * The gaps in what Redis holds of our orders. An order booked less than `settleMs` before `nowMs`
 * (its own worker may still be writing its records) or still working is left for a later pass. A
 * plan with several orders (never expected: one order per plan step) is reported once per kind.
 */
export function findLostWrites<O extends BookedOrder>(
  orders: readonly O[],
  held: (planId: string) => HeldRecords,
  opts: { nowMs: number; settleMs: number },
): LostWriteScan<O> {
  const gaps: LostWrite<O>[] = [];
  const seen = new Set<string>();
  let ours = 0;
  let waiting = 0;
  for (const order of orders) {
    const id = planStepOfClientId(order.clientOrderId);
    if (!id) continue;
    ours++;
    if (!FINAL.has(order.status) || opts.nowMs - order.time < opts.settleMs) {
      waiting++;
      continue;
    }
    if (seen.has(id.planId)) continue;
    seen.add(id.planId);
    const h = held(id.planId);
    const gap = (kind: LostWriteKind, action: LostWriteAction) =>
      gaps.push({ kind, planId: id.planId, symbol: order.symbol, step: id.step, order, action });
    if (!h.planEntry) gap('plan_entry', 'recorded');
    if (!h.intent) gap('intent', 'recorded');
    if (!h.receipt) gap('consume_receipt', 'recorded');
    if (!h.result) gap('result', h.reconciled ? 'reconciled_entry_stands' : 'result_published');
  }
  return { gaps, ours, waiting };
}
