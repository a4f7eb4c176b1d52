/**
 * The history database's tables, one schema for SQLite and PostgreSQL (docs/history.md).
 *
 * Every row is keyed by what identifies it on the wire, so writing the same stream entry twice
 * (a restart, a replay, a backfill) is a no-op: plans by plan id and stream id, decisions and
 * results by their stream and stream id, orders by client order id. Times are unix ms (integers);
 * quantities and prices stay decimal text as the wire carries them; booleans are 0/1 integers so
 * both dialects read them alike. `fields` keeps the raw stream entry (JSON object of its fields in
 * order) so a replay can re-derive anything a column does not hold.
 */
/** One plan stream entry (`quantum:stream:apply.plan`). */
export interface PlansTable {
  plan_id: string;
  /** The plan stream entry's id (`<ms>-<seq>`). */
  stream_id: string;
  symbol: string;
  action: string;
  /** EXECUTE, SKIP, BLOCKED, ERROR: apply's decision when it published the plan. */
  decision: string;
  /** Comma-joined, '' for a plain EXECUTE. */
  reason_codes: string;
  kill_score: string;
  /** The stream entry id's time (unix ms): when apply published the plan. */
  at_ms: number;
  /** JSON text of the raw entry's fields. */
  fields: string;
}

/** The authorities' decisions: the governor's and P3.3's decision streams. */
export interface DecisionsTable {
  /** The stream the entry came from, without the key prefix (`governor.decisions`, `p33.decisions`). */
  stream: string;
  stream_id: string;
  /** `governor`, `p33`. */
  authority: string;
  /** '' for an arm change. */
  plan_id: string;
  symbol: string;
  /** Governor: GRANTED, BLOCKED, ARMED, DISARMED. P3.3: ALLOW, DENY. */
  verdict: string;
  /** The block or deny reason, '' for a grant. */
  reason: string;
  at_ms: number;
  fields: string;
}

/** One order per client order id: its intent, then the latest answer the exchange gave. */
export interface OrdersTable {
  client_order_id: string;
  plan_id: string;
  step: string;
  /** market, stop. */
  kind: string;
  symbol: string;
  side: string;
  quantity: string;
  trigger_price: string;
  /** sending, filled, accepted, placed, rejected, unknown, cancelled. */
  state: string;
  order_id: string;
  executed_qty: string;
  avg_price: string;
  /** The exchange's refusal or the failure, '' otherwise. */
  reason: string;
  /** When apply wrote the intent (unix ms). */
  intent_at_ms: number;
  /** When the row's state was last reported (unix ms); an older report never overwrites a newer one. */
  updated_at_ms: number;
  /** The stream id of the last order event applied. */
  stream_id: string;
  fields: string;
}

/** Apply's result entries (`apply.result`) and the reconciler's (`apply.reconciled`). */
export interface ResultsTable {
  /** `apply.result`, `apply.reconciled`. */
  stream: string;
  stream_id: string;
  plan_id: string;
  symbol: string;
  decision: string;
  /** 1 when `executed` is `True`. */
  executed: number;
  would_execute: number;
  /** '' or the result error (reason). */
  error: string;
  /** JSON text of `steps_results`, as the wire wrote it. */
  steps_results: string;
  at_ms: number;
  fields: string;
}

export interface Database {
  plans: PlansTable;
  decisions: DecisionsTable;
  orders: OrdersTable;
  results: ResultsTable;
}

/** Row types as read back. */
export type PlanRow = PlansTable;
export type DecisionRow = DecisionsTable;
export type OrderRow = OrdersTable;
export type ResultRow = ResultsTable;
