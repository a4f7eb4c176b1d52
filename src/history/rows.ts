/**
 * Stream entries → history rows. Pure: each entry is parsed at the boundary into a row or a
 * short snake_case reason it cannot be one (the recorder counts and skips it; it is never
 * retried, since the same entry will never parse).
 *
 * A row's time is its stream entry id's time (Redis' clock when the entry was added), the one
 * time every stream has and that orders entries of a stream.
 */
import { z } from 'zod';
import type { DecisionRow, OrderRow, PlanRow, ResultRow } from './schema.js';
import type { KeySpace } from '../store/keys.js';
import type { StreamEntry } from '../store/port.js';

/** The streams the recorder follows, by their names without the key prefix. */
export const HISTORY_STREAMS = [
  'apply.plan',
  'apply.result',
  'apply.reconciled',
  'apply.orders',
  'governor.decisions',
  'p33.decisions',
] as const;
export type HistoryStream = (typeof HISTORY_STREAMS)[number];

/** The full key of each followed stream. */
export function historyStreamKeys(k: KeySpace): Record<HistoryStream, string> {
  return {
    'apply.plan': k.planStream(),
    'apply.result': k.resultStream(),
    'apply.reconciled': k.reconciledStream(),
    'apply.orders': k.orderEvents(),
    'governor.decisions': k.governorDecisions(),
    'p33.decisions': k.p33Decisions(),
  };
}

export type Parsed<T> = { ok: true; row: T } | { ok: false; reason: string };

/** An order intent's first write (the whole intent), or a later write keyed by plan id. */
export type OrderEvent =
  | { kind: 'intent'; row: OrderRow }
  | {
      kind: 'update';
      planId: string;
      set: Partial<
        Pick<
          OrderRow,
          | 'state'
          | 'order_id'
          | 'executed_qty'
          | 'avg_price'
          | 'reason'
          | 'side'
          | 'quantity'
          | 'trigger_price'
        >
      >;
      atMs: number;
      streamId: string;
      fields: string;
    };

const STREAM_ID = /^(\d{1,16})-(\d{1,20})$/;

/** The ms time of a stream entry id, or null when it is no id. */
export function streamIdMs(id: string): number | null {
  const m = STREAM_ID.exec(id);
  return m ? Number(m[1]) : null;
}

const planIdText = z.string().regex(/^[0-9a-f]{16}$/);
const symbolText = z.string().regex(/^[A-Z0-9]{2,30}$/);
const text = z.string().max(65_536);
const optText = text.optional().default('');

const planEntry = z.object({
  plan_id: planIdText,
  symbol: symbolText,
  action: optText,
  decision: text.min(1),
  reason_codes: optText,
  kill_score: optText,
});

const resultEntry = z.object({
  plan_id: planIdText,
  symbol: symbolText,
  decision: text.min(1),
  executed: optText,
  would_execute: optText,
  error: optText,
  steps_results: optText,
});

/** A decision entry; plan_id and symbol are empty on an arm change. */
const decisionEntry = z.object({
  plan_id: z.union([planIdText, z.literal('')]).default(''),
  symbol: z.union([symbolText, z.literal('')]).default(''),
  decision: text.min(1),
  reason: optText,
});

const orderIntentEntry = z.object({
  plan_id: planIdText,
  symbol: symbolText,
  step: optText,
  kind: optText,
  client_order_id: text.min(1),
  side: optText,
  quantity: optText,
  trigger_price: optText,
  state: z.literal('sending'),
  at: z.string().regex(/^\d{1,16}$/),
});

const orderUpdateEntry = z.object({
  plan_id: planIdText,
  state: text.min(1).optional(),
  order_id: text.optional(),
  algo_id: text.optional(),
  executed_qty: text.optional(),
  avg_price: text.optional(),
  reason: text.optional(),
  // An intent written before the live position was read, brought up to the order sent.
  side: text.optional(),
  quantity: text.optional(),
  trigger_price: text.optional(),
});

function reasonOf(err: z.ZodError): string {
  const field = err.issues[0]?.path[0];
  return typeof field === 'string' ? `bad_${field}` : 'bad_entry';
}

function withTime<T>(entry: StreamEntry, f: (atMs: number, fields: string) => Parsed<T>): Parsed<T> {
  const atMs = streamIdMs(entry.id);
  if (atMs === null) return { ok: false, reason: 'bad_stream_id' };
  return f(atMs, JSON.stringify(entry.fields));
}

export function planRow(entry: StreamEntry): Parsed<PlanRow> {
  return withTime(entry, (atMs, fields) => {
    const p = planEntry.safeParse(entry.fields);
    if (!p.success) return { ok: false, reason: reasonOf(p.error) };
    const { plan_id, symbol, action, decision, reason_codes, kill_score } = p.data;
    return {
      ok: true,
      row: {
        plan_id,
        stream_id: entry.id,
        symbol,
        action,
        decision,
        reason_codes,
        kill_score,
        at_ms: atMs,
        fields,
      },
    };
  });
}

export function resultRow(
  stream: 'apply.result' | 'apply.reconciled',
  entry: StreamEntry,
): Parsed<ResultRow> {
  return withTime(entry, (atMs, fields) => {
    const p = resultEntry.safeParse(entry.fields);
    if (!p.success) return { ok: false, reason: reasonOf(p.error) };
    const r = p.data;
    return {
      ok: true,
      row: {
        stream,
        stream_id: entry.id,
        plan_id: r.plan_id,
        symbol: r.symbol,
        decision: r.decision,
        // Compared as text, as the other services do.
        executed: r.executed === 'True' ? 1 : 0,
        would_execute: r.would_execute === 'True' ? 1 : 0,
        error: r.error,
        steps_results: r.steps_results,
        at_ms: atMs,
        fields,
      },
    };
  });
}

export function decisionRow(
  stream: 'governor.decisions' | 'p33.decisions',
  entry: StreamEntry,
): Parsed<DecisionRow> {
  return withTime(entry, (atMs, fields) => {
    const p = decisionEntry.safeParse(entry.fields);
    if (!p.success) return { ok: false, reason: reasonOf(p.error) };
    const d = p.data;
    return {
      ok: true,
      row: {
        stream,
        stream_id: entry.id,
        authority: stream === 'governor.decisions' ? 'governor' : 'p33',
        plan_id: d.plan_id,
        symbol: d.symbol,
        verdict: d.decision,
        reason: d.reason,
        at_ms: atMs,
        fields,
      },
    };
  });
}

/** The order row's columns an update sets under their own names (order_id: see orderEvent). */
const UPDATED_FIELDS = [
  'state',
  'executed_qty',
  'avg_price',
  'reason',
  'side',
  'quantity',
  'trigger_price',
] as const;

export function orderEvent(entry: StreamEntry): Parsed<OrderEvent> {
  return withTime<OrderEvent>(entry, (atMs, fields) => {
    if (entry.fields.state === 'sending') {
      const p = orderIntentEntry.safeParse(entry.fields);
      if (!p.success) return { ok: false, reason: reasonOf(p.error) };
      const o = p.data;
      return {
        ok: true,
        row: {
          kind: 'intent',
          row: {
            client_order_id: o.client_order_id,
            plan_id: o.plan_id,
            step: o.step,
            kind: o.kind,
            symbol: o.symbol,
            side: o.side,
            quantity: o.quantity,
            trigger_price: o.trigger_price,
            state: 'sending',
            order_id: '',
            executed_qty: '',
            avg_price: '',
            reason: '',
            intent_at_ms: Number(o.at),
            updated_at_ms: atMs,
            stream_id: entry.id,
            fields,
          },
        },
      };
    }
    const p = orderUpdateEntry.safeParse(entry.fields);
    if (!p.success) return { ok: false, reason: reasonOf(p.error) };
    const u = p.data;
    const set: Extract<OrderEvent, { kind: 'update' }>['set'] = {};
    for (const f of UPDATED_FIELDS) if (u[f] !== undefined) set[f] = u[f];
    // A stop's exchange id is its algo id.
    const orderId = u.order_id ?? u.algo_id;
    if (orderId !== undefined) set.order_id = orderId;
    return { ok: true, row: { kind: 'update', planId: u.plan_id, set, atMs, streamId: entry.id, fields } };
  });
}
