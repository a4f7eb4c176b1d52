/**
 * Recorded rows for the history CLI, query and replay suites: four plans with what each
 * authority, order and result said, written straight into a history database.
 *
 *  A  BTCUSDT PARTIAL_50  EXECUTE  T0        granted T0+5, allowed T0+6, order 0.005 @ 50000 at T0+10: executed
 *  B  BTCUSDT PARTIAL_50  EXECUTE  T0+60 s   governor BLOCKED hourly_limit_exceeded: not executed
 *  C  ETHUSDT UPDATE_SL   BLOCKED  T0+120 s  apply kill_score_critical
 *  D  ETHUSDT FULL_CLOSE  EXECUTE  T0+1 day  granted +2, allowed +3, order 0.1 @ 2000.5 at +13: executed
 */
import { openHistory } from '../../src/history/db.js';
import type { DecisionRow, OrderRow, PlanRow, ResultRow } from '../../src/history/schema.js';
import { T0 } from '../helpers/clock.js';

export const A = 'a000000000000001';
export const B = 'b000000000000002';
export const C = 'c000000000000003';
export const D = 'd000000000000004';
export const DAY = 86_400_000;

export function plan(
  plan_id: string,
  symbol: string,
  action: string,
  decision: string,
  reason: string,
  at: number,
): PlanRow {
  const fields = {
    plan_id,
    symbol,
    action,
    kill_score: '0.3',
    decision,
    reason_codes: reason,
    new_sl_proposed: '',
  };
  return {
    plan_id,
    stream_id: `${at}-0`,
    symbol,
    action,
    decision,
    reason_codes: reason,
    kill_score: action === 'UPDATE_SL' ? '0.9' : '0.3',
    at_ms: at,
    fields: JSON.stringify(fields),
  };
}

export function decision(
  authority: 'governor' | 'p33',
  plan_id: string,
  symbol: string,
  verdict: string,
  reason: string,
  at: number,
): DecisionRow {
  return {
    stream: `${authority}.decisions`,
    stream_id: `${at}-0`,
    authority,
    plan_id,
    symbol,
    verdict,
    reason,
    at_ms: at,
    fields: '{}',
  };
}

export function order(plan_id: string, symbol: string, qty: string, price: string, at: number): OrderRow {
  return {
    client_order_id: `qa-${plan_id}-CLOSE`,
    plan_id,
    step: 'CLOSE',
    kind: 'market',
    symbol,
    side: 'SELL',
    quantity: qty,
    trigger_price: '',
    state: 'filled',
    order_id: `${at}`,
    executed_qty: qty,
    avg_price: price,
    reason: '',
    intent_at_ms: at,
    updated_at_ms: at + 5,
    stream_id: `${at + 5}-0`,
    fields: '{}',
  };
}

export function result(
  plan_id: string,
  symbol: string,
  decisionText: string,
  executed: boolean,
  error: string,
  at: number,
): ResultRow {
  return {
    stream: 'apply.result',
    stream_id: `${at}-0`,
    plan_id,
    symbol,
    decision: decisionText,
    executed: executed ? 1 : 0,
    would_execute: 0,
    error,
    steps_results: '[]',
    at_ms: at,
    fields: '{}',
  };
}

const B_AT = T0 + 60_000;
const C_AT = T0 + 120_000;
const D_AT = T0 + DAY;

export const ROWS = {
  plans: [
    plan(A, 'BTCUSDT', 'PARTIAL_50', 'EXECUTE', '', T0),
    plan(B, 'BTCUSDT', 'PARTIAL_50', 'EXECUTE', '', B_AT),
    plan(C, 'ETHUSDT', 'UPDATE_SL', 'BLOCKED', 'kill_score_critical', C_AT),
    plan(D, 'ETHUSDT', 'FULL_CLOSE_PROPOSED', 'EXECUTE', '', D_AT),
  ],
  decisions: [
    decision('governor', A, 'BTCUSDT', 'GRANTED', '', T0 + 5),
    decision('p33', A, 'BTCUSDT', 'ALLOW', '', T0 + 6),
    decision('governor', B, 'BTCUSDT', 'BLOCKED', 'hourly_limit_exceeded', B_AT + 4),
    decision('governor', D, 'ETHUSDT', 'GRANTED', '', D_AT + 2),
    decision('p33', D, 'ETHUSDT', 'ALLOW', '', D_AT + 3),
  ],
  orders: [order(A, 'BTCUSDT', '0.005', '50000', T0 + 10), order(D, 'ETHUSDT', '0.1', '2000.5', D_AT + 13)],
  results: [
    result(A, 'BTCUSDT', 'EXECUTE', true, '', T0 + 40),
    result(
      B,
      'BTCUSDT',
      'EXECUTE',
      false,
      'permit_timeout_or_missing:missing_governor:hourly_limit_exceeded',
      B_AT + 1300,
    ),
    result(C, 'ETHUSDT', 'BLOCKED', false, 'kill_score_critical', C_AT + 1),
    result(D, 'ETHUSDT', 'EXECUTE', true, '', D_AT + 40),
  ],
};

/** Creates the schema at `url` and writes `rows` (default ROWS). */
export async function seedHistory(url: string, rows: Partial<typeof ROWS> = ROWS): Promise<void> {
  const h = await openHistory(url);
  try {
    if (rows.plans?.length) await h.db.insertInto('plans').values(rows.plans).execute();
    if (rows.decisions?.length) await h.db.insertInto('decisions').values(rows.decisions).execute();
    if (rows.orders?.length) await h.db.insertInto('orders').values(rows.orders).execute();
    if (rows.results?.length) await h.db.insertInto('results').values(rows.results).execute();
  } finally {
    await h.close();
  }
}
