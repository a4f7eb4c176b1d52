/**
 * The user data stream's events, parsed at the boundary: every WebSocket message becomes a typed
 * event or a reason (`not_json`, `unknown_event`, `bad_event`), never a throw. Only the fields we
 * rely on are checked (PROTOCOL.md, "User data stream"); the rest pass unread, so a field Binance
 * adds does not turn good events into bad ones.
 */
import { z } from 'zod';

const decimalText = z.string().regex(/^-?\d+(\.\d+)?$/);
/** Binance sends `E` as a number, and `listenKeyExpired`'s as a string of digits in newer docs. */
const epochMs = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number),
]);
const orderId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String);

const orderUpdateSchema = z.object({
  e: z.literal('ORDER_TRADE_UPDATE'),
  E: epochMs,
  T: epochMs.optional(),
  o: z.object({
    s: z.string().min(1),
    c: z.string(),
    S: z.enum(['BUY', 'SELL']),
    o: z.string(),
    ot: z.string().optional(),
    q: decimalText,
    ap: decimalText,
    sp: decimalText.optional(),
    x: z.string(),
    X: z.string(),
    i: orderId,
    l: decimalText,
    z: decimalText,
    L: decimalText.optional(),
    R: z.boolean().optional(),
    ps: z.string().optional(),
  }),
});

const accountUpdateSchema = z.object({
  e: z.literal('ACCOUNT_UPDATE'),
  E: epochMs,
  T: epochMs.optional(),
  a: z.object({
    m: z.string(),
    P: z.array(
      z.object({
        s: z.string().min(1),
        pa: decimalText,
        ep: decimalText,
        up: decimalText.optional(),
        ps: z.string(),
      }),
    ),
  }),
});

/**
 * ALGO_UPDATE: a conditional (algo) order's status changed (Binance's "Event: Algo Order Update";
 * conditional orders live on the Algo Service since 2025-12-09). Binance's example sends `ai` as
 * "" before the trigger and `aid` as a number.
 */
const algoUpdateSchema = z.object({
  e: z.literal('ALGO_UPDATE'),
  E: epochMs,
  T: epochMs.optional(),
  o: z.object({
    caid: z.string(),
    aid: orderId,
    o: z.string(),
    s: z.string().min(1),
    S: z.enum(['BUY', 'SELL']),
    X: z.string().min(1),
    ai: z.union([z.literal(''), orderId]).optional(),
    ap: decimalText.optional(),
    aq: decimalText.optional(),
    act: z.string().optional(),
    tp: decimalText.optional(),
    R: z.boolean().optional(),
    cp: z.boolean().optional(),
    tt: epochMs.optional(),
    rm: z.string().optional(),
  }),
});

const listenKeyExpiredSchema = z.object({
  e: z.literal('listenKeyExpired'),
  E: epochMs,
  listenKey: z.string().optional(),
});

export interface OrderUpdate {
  symbol: string;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  /** `o`: the order's type now (a triggered stop's market order is MARKET). */
  type: string;
  /** `ot`: the type it was placed as (STOP_MARKET for a stop), when sent. */
  origType: string | null;
  origQty: string;
  /** `x`: NEW, TRADE, CANCELED, EXPIRED, CALCULATED, AMENDMENT. */
  execType: string;
  /** `X`: NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, EXPIRED_IN_MATCH. */
  status: string;
  orderId: string;
  lastFilledQty: string;
  /** `z`: filled so far, accumulated. */
  executedQty: string;
  avgPrice: string;
  lastPrice: string | null;
  stopPrice: string | null;
  reduceOnly: boolean;
  positionSide: string;
}

export interface PositionUpdate {
  symbol: string;
  /** `pa`: signed, the exchange's decimal string. */
  amountText: string;
  entryPrice: string;
  unrealizedPnl: string | null;
  /** `ps`: BOTH in one-way mode. */
  positionSide: string;
}

export interface AlgoUpdate {
  symbol: string;
  /** `caid`: our clientAlgoId. */
  clientAlgoId: string;
  algoId: string;
  side: 'BUY' | 'SELL';
  /** `o`: STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT, TRAILING_STOP_MARKET. */
  type: string;
  /** `X`: NEW, CANCELED, TRIGGERING, TRIGGERED, FINISHED, REJECTED, EXPIRED. */
  status: string;
  /** `ai`: the order the trigger placed in the matching engine; null before. */
  actualOrderId: string | null;
  /** `aq`, `ap`: that order's fill so far and its average price ('0' before). */
  executedQty: string;
  avgPrice: string;
  triggerPrice: string | null;
  reduceOnly: boolean;
  closePosition: boolean;
  /** `tt`: when it triggered; null before (Binance sends 0). */
  triggerTime: number | null;
  /** `rm`: why the trigger was refused, when it was. */
  rejectReason: string | null;
}

export type UserEvent =
  | { kind: 'order'; eventTime: number; txTime: number | null; order: OrderUpdate }
  | { kind: 'algo'; eventTime: number; txTime: number | null; algo: AlgoUpdate }
  | {
      kind: 'account';
      eventTime: number;
      txTime: number | null;
      /** `a.m`: ORDER, FUNDING_FEE, DEPOSIT, … */
      reason: string;
      positions: PositionUpdate[];
    }
  | { kind: 'listenKeyExpired'; eventTime: number; listenKey: string | null };

export type EventReason = 'not_json' | 'unknown_event' | 'bad_event';

export type ParsedEvent =
  | { ok: true; event: UserEvent }
  /** `type`: the message's `e` when it had one (a metric label for unknown events). */
  | { ok: false; reason: EventReason; type: string | null };

/** The event types this module parses; any other `e` is `unknown_event`. */
export const KNOWN_EVENTS = [
  'ORDER_TRADE_UPDATE',
  'ACCOUNT_UPDATE',
  'ALGO_UPDATE',
  'listenKeyExpired',
] as const;

/** An event's Binance type name (`e`), for metric labels. */
export function eventType(ev: UserEvent): (typeof KNOWN_EVENTS)[number] {
  if (ev.kind === 'order') return 'ORDER_TRADE_UPDATE';
  if (ev.kind === 'account') return 'ACCOUNT_UPDATE';
  if (ev.kind === 'algo') return 'ALGO_UPDATE';
  return 'listenKeyExpired';
}

/** One WebSocket message (its text, or a value already parsed from JSON) as an event or a reason. */
export function parseUserEvent(message: string | unknown): ParsedEvent {
  let body: unknown = message;
  if (typeof message === 'string') {
    try {
      body = JSON.parse(message);
    } catch {
      return { ok: false, reason: 'not_json', type: null };
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, reason: 'bad_event', type: null };
  const e = (body as { e?: unknown }).e;
  const type = typeof e === 'string' ? e : null;
  if (type === 'ORDER_TRADE_UPDATE') {
    const p = orderUpdateSchema.safeParse(body);
    if (!p.success) return { ok: false, reason: 'bad_event', type };
    const o = p.data.o;
    return {
      ok: true,
      event: {
        kind: 'order',
        eventTime: p.data.E,
        txTime: p.data.T ?? null,
        order: {
          symbol: o.s,
          clientOrderId: o.c,
          side: o.S,
          type: o.o,
          origType: o.ot ?? null,
          origQty: o.q,
          execType: o.x,
          status: o.X,
          orderId: o.i,
          lastFilledQty: o.l,
          executedQty: o.z,
          avgPrice: o.ap,
          lastPrice: o.L ?? null,
          stopPrice: o.sp ?? null,
          reduceOnly: o.R ?? false,
          positionSide: o.ps ?? 'BOTH',
        },
      },
    };
  }
  if (type === 'ACCOUNT_UPDATE') {
    const p = accountUpdateSchema.safeParse(body);
    if (!p.success) return { ok: false, reason: 'bad_event', type };
    return {
      ok: true,
      event: {
        kind: 'account',
        eventTime: p.data.E,
        txTime: p.data.T ?? null,
        reason: p.data.a.m,
        positions: p.data.a.P.map((r) => ({
          symbol: r.s,
          amountText: r.pa,
          entryPrice: r.ep,
          unrealizedPnl: r.up ?? null,
          positionSide: r.ps,
        })),
      },
    };
  }
  if (type === 'ALGO_UPDATE') {
    const p = algoUpdateSchema.safeParse(body);
    if (!p.success) return { ok: false, reason: 'bad_event', type };
    const o = p.data.o;
    return {
      ok: true,
      event: {
        kind: 'algo',
        eventTime: p.data.E,
        txTime: p.data.T ?? null,
        algo: {
          symbol: o.s,
          clientAlgoId: o.caid,
          algoId: o.aid,
          side: o.S,
          type: o.o,
          status: o.X,
          actualOrderId: o.ai ? o.ai : null,
          executedQty: o.aq ?? '0',
          avgPrice: o.ap ?? '0',
          triggerPrice: o.tp ?? null,
          reduceOnly: o.R ?? false,
          closePosition: o.cp ?? false,
          triggerTime: o.tt ? o.tt : null,
          rejectReason: o.rm ?? null,
        },
      },
    };
  }
  if (type === 'listenKeyExpired') {
    const p = listenKeyExpiredSchema.safeParse(body);
    if (!p.success) return { ok: false, reason: 'bad_event', type };
    return {
      ok: true,
      event: { kind: 'listenKeyExpired', eventTime: p.data.E, listenKey: p.data.listenKey ?? null },
    };
  }
  return { ok: false, reason: type === null ? 'bad_event' : 'unknown_event', type };
}
