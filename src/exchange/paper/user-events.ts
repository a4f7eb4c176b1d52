/**
 * Binance USD-M user-data-stream payloads built from the paper exchange's changes, with the field
 * names and value shapes Binance sends (sources in README.md, "User data stream"): decimals as
 * strings, ids and times as numbers, booleans as booleans. `E` (event time) is given by the caller,
 * which keeps it increasing per stream.
 */
import { childOf } from './algo.js';
import {
  decimalOf,
  type PaperAlgoOrder,
  type PaperEvent,
  type PaperOrder,
  type PaperState,
} from './state.js';

export type UserEvent = Record<string, unknown> & { e: string; E: number | string };

/** ORDER_TRADE_UPDATE's `o`: every field Binance documents; n/N only with a commission (none here). */
function orderPayload(
  o: PaperOrder,
  x: string,
  time: number,
  fill: { qty: string; price: number; tradeId: number; realizedPnl: number } | undefined,
  expireReason: number,
): Record<string, unknown> {
  const filled = o.executedQty !== '0';
  return {
    s: o.symbol,
    c: o.clientOrderId,
    S: o.side,
    o: o.type,
    f: o.timeInForce,
    q: o.origQty,
    p: o.price,
    ap: filled ? o.avgPrice : '0',
    sp: o.stopPrice ?? '0',
    x,
    X: o.status,
    i: o.orderId,
    l: fill ? fill.qty : '0',
    z: o.executedQty,
    L: fill ? decimalOf(fill.price) : '0',
    T: time,
    t: fill ? fill.tradeId : 0,
    b: '0',
    a: '0',
    m: false,
    R: o.reduceOnly,
    wt: o.workingType ?? 'CONTRACT_PRICE',
    ot: o.origType ?? o.type,
    ps: 'BOTH',
    cp: o.closePosition ?? false,
    rp: decimalOf(fill?.realizedPnl ?? 0),
    pP: false,
    si: 0,
    ss: 0,
    V: 'EXPIRE_MAKER',
    pm: 'NONE',
    gtd: 0,
    er: String(expireReason),
  };
}

/** ACCOUNT_UPDATE's `a.P` row of one symbol (one-way mode: position side BOTH, cross margin). */
function positionRow(state: PaperState, symbol: string): Record<string, unknown> {
  const pa = state.positions.get(symbol) ?? '0';
  const entry = state.entryPrices.get(symbol) ?? 0;
  const up = (state.markOf(symbol) - entry) * Number(pa);
  return {
    s: symbol,
    pa,
    ep: decimalOf(entry),
    bep: decimalOf(entry),
    cr: decimalOf(state.realized.get(symbol) ?? 0),
    up: decimalOf(Number(pa) === 0 ? 0 : up),
    mt: 'cross',
    iw: '0',
    ps: 'BOTH',
  };
}

function algoPayload(state: PaperState, a: PaperAlgoOrder): Record<string, unknown> {
  const child = childOf(state, a);
  const out: Record<string, unknown> = {
    caid: a.clientAlgoId,
    aid: a.algoId,
    at: 'CONDITIONAL',
    o: a.orderType,
    s: a.symbol,
    S: a.side,
    ps: 'BOTH',
    f: 'GTC',
    q: a.quantity,
    X: a.algoStatus,
    ai: a.actualOrderId,
    ap: child && child.executedQty !== '0' ? child.avgPrice : '0',
    aq: child ? child.executedQty : '0',
    act: child ? child.type : '0',
    tp: a.triggerPrice,
    p: '0',
    V: 'EXPIRE_MAKER',
    wt: a.workingType,
    pm: 'NONE',
    cp: a.closePosition,
    pP: false,
    R: a.reduceOnly,
    tt: a.triggerTime,
    gtd: 0,
  };
  if (a.rejectReason) out.rm = a.rejectReason;
  return out;
}

/** The Binance event for a change, or null for changes the stream does not carry. */
export function userEventOf(state: PaperState, change: PaperEvent, E: number): UserEvent | null {
  switch (change.type) {
    case 'order':
      return {
        e: 'ORDER_TRADE_UPDATE',
        E,
        T: change.time,
        o: orderPayload(change.order, change.execution, change.time, change.fill, change.expireReason ?? 0),
      };
    case 'position':
      return {
        e: 'ACCOUNT_UPDATE',
        E,
        T: change.time,
        a: {
          m: change.reason,
          B: [{ a: 'USDT', wb: decimalOf(state.walletUsdt), cw: decimalOf(state.walletUsdt), bc: '0' }],
          P: [positionRow(state, change.symbol)],
        },
      };
    case 'algo':
      return { e: 'ALGO_UPDATE', E, T: change.time, o: algoPayload(state, change.algo) };
    default:
      return null;
  }
}

/**
 * listenKeyExpired. Binance's USD-M example and live streams carry `E` as a string here (unlike
 * every other event), so the paper exchange sends it that way too: a parser must accept both.
 */
export function listenKeyExpiredEvent(listenKey: string, E: number): UserEvent {
  return { e: 'listenKeyExpired', E: String(E), listenKey };
}
