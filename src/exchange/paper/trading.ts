/**
 * Order handling of the paper exchange, following Binance USD-M's rules: MARKET orders fill at
 * the mark at once; LIMIT orders rest; conditional types belong on the algo endpoint (-4120);
 * client order ids are unique among open orders only (-4116), so a MARKET id can be reused.
 */
import { addDecimal, compareDecimal, isMultipleOf, parsePlainDecimal } from '../../domain/decimal.js';
import type { PaperMarket } from './markets.js';
import { decimalOf, type PaperOrder, type PaperState } from './state.js';

export class ApiReject extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly status = 400,
  ) {
    super(msg);
  }
}

export type Params = URLSearchParams;

export const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
export const CONDITIONAL = new Set([
  'STOP',
  'STOP_MARKET',
  'TAKE_PROFIT',
  'TAKE_PROFIT_MARKET',
  'TRAILING_STOP_MARKET',
]);

export function need(p: Params, name: string): string {
  const v = p.get(name);
  if (v === null || v === '') {
    throw new ApiReject(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
  }
  return v;
}

export function marketOf(state: PaperState, p: Params): PaperMarket {
  const market = state.markets.get(need(p, 'symbol'));
  // Binance says only "Invalid symbol."; naming the listed ones tells a paper user what to add.
  if (!market) throw new ApiReject(-1121, `Invalid symbol. Paper symbols: ${state.knownSymbols()}.`);
  return market;
}

export function sideOf(p: Params): 'BUY' | 'SELL' {
  const side = need(p, 'side');
  if (side !== 'BUY' && side !== 'SELL') throw new ApiReject(-1117, 'Invalid side.');
  return side;
}

export function boolParam(p: Params, name: string): boolean {
  const v = p.get(name);
  if (v === null) return false;
  if (v.toLowerCase() === 'true') return true;
  if (v.toLowerCase() === 'false') return false;
  throw new ApiReject(-1102, `Invalid value for parameter '${name}'.`);
}

export function checkQuantity(market: PaperMarket, qty: string, type: string): void {
  const parsed = parsePlainDecimal(qty);
  if (!parsed || /e/i.test(qty)) throw new ApiReject(-1102, "Parameter 'quantity' was malformed.");
  if (parsed.m <= 0n) throw new ApiReject(-4003, 'Quantity less than or equal to zero.');
  const [step, min, max] =
    type === 'MARKET'
      ? [market.marketStepSize, market.marketMinQty, market.marketMaxQty]
      : [market.stepSize, market.minQty, market.maxQty];
  if (!isMultipleOf(qty, step))
    throw new ApiReject(-1111, 'Precision is over the maximum defined for this asset.');
  if (compareDecimal(qty, min) < 0) throw new ApiReject(-4004, 'Quantity less than min quantity.');
  if (compareDecimal(qty, max) > 0) throw new ApiReject(-4005, 'Quantity greater than max quantity.');
}

function orderView(o: PaperOrder): Record<string, unknown> {
  return {
    orderId: o.orderId,
    symbol: o.symbol,
    status: o.status,
    clientOrderId: o.clientOrderId,
    price: o.price,
    avgPrice: o.avgPrice,
    origQty: o.origQty,
    executedQty: o.executedQty,
    cumQty: o.executedQty,
    cumQuote: o.cumQuote,
    timeInForce: o.timeInForce,
    type: o.type,
    reduceOnly: o.reduceOnly,
    closePosition: o.closePosition ?? false,
    side: o.side,
    positionSide: 'BOTH',
    stopPrice: o.stopPrice ?? '0',
    workingType: o.workingType ?? 'CONTRACT_PRICE',
    priceProtect: false,
    origType: o.origType ?? o.type,
    priceMatch: 'NONE',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    goodTillDate: 0,
    time: o.time,
    updateTime: o.updateTime,
  };
}

export function newOrder(state: PaperState, p: Params, now: number): unknown {
  const market = marketOf(state, p);
  const side = sideOf(p);
  const type = need(p, 'type');
  if (CONDITIONAL.has(type)) {
    throw new ApiReject(
      -4120,
      'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.',
    );
  }
  if (type !== 'MARKET' && type !== 'LIMIT') throw new ApiReject(-1116, 'Invalid orderType.');
  const qty = need(p, 'quantity');
  checkQuantity(market, qty, type);
  const clientOrderId = p.get('newClientOrderId') ?? `paper-${state.nextOrderId}`;
  if (!CLIENT_ID.test(clientOrderId)) throw new ApiReject(-4015, 'Client order id is not valid.');
  if (state.openOrders().some((o) => o.clientOrderId === clientOrderId)) {
    throw new ApiReject(-4116, 'ClientOrderId is duplicated.');
  }
  const reduceOnly = boolParam(p, 'reduceOnly');
  const mark = state.markOf(market.symbol);
  const pos = state.positionOf(market.symbol);
  if (reduceOnly) {
    const size = (state.positions.get(market.symbol) ?? '0').replace('-', '');
    const reduces = (pos > 0 && side === 'SELL') || (pos < 0 && side === 'BUY');
    if (!reduces || compareDecimal(qty, size) > 0)
      throw new ApiReject(-2022, 'ReduceOnly Order is rejected.');
    // Binance counts resting reduce-only orders of the same side against the position.
    const resting = state
      .openOrders(market.symbol)
      .filter((o) => o.reduceOnly && o.side === side)
      .reduce((sum, o) => addDecimal(sum, o.origQty), '0');
    if (compareDecimal(addDecimal(resting, qty), size) > 0) {
      throw new ApiReject(
        -4118,
        'ReduceOnly Order Failed. Please check your existing position and open orders.',
      );
    }
  } else if (Number(qty) * mark < Number(market.minNotional)) {
    throw new ApiReject(
      -4164,
      `Order's notional must be no smaller than ${market.minNotional} (unless you choose reduce only).`,
    );
  }
  let price = '0';
  if (type === 'LIMIT') {
    price = need(p, 'price');
    if (!isMultipleOf(price, market.tickSize))
      throw new ApiReject(-1111, 'Precision is over the maximum defined for this asset.');
  }
  const order: PaperOrder = {
    orderId: state.nextOrderId++,
    clientOrderId,
    symbol: market.symbol,
    side,
    type,
    status: 'NEW',
    origQty: qty,
    executedQty: '0',
    avgPrice: '0.00',
    cumQuote: '0',
    price,
    reduceOnly,
    timeInForce: type === 'MARKET' ? 'GTC' : (p.get('timeInForce') ?? 'GTC'),
    time: now,
    updateTime: now,
  };
  state.addOrder(order);
  state.emit({ type: 'order', order, execution: 'NEW', time: now });
  if (type === 'MARKET') fillAtMark(state, order, now);
  else state.open.add(order);
  const view = orderView(order);
  if (p.get('newOrderRespType') === 'RESULT') return view;
  return { ...view, status: 'NEW', executedQty: '0', cumQty: '0', cumQuote: '0', avgPrice: '0.00' };
}

/**
 * Fills a MARKET order whole at the mark, books the fill and tells the stream: the order's TRADE,
 * the position change and, when the position is closed, the resting reduce-only orders of that
 * symbol expiring (Binance knocks them out, expire reason 4).
 */
export function fillAtMark(state: PaperState, order: PaperOrder, now: number): void {
  const mark = state.markOf(order.symbol);
  order.status = 'FILLED';
  order.executedQty = order.origQty;
  order.avgPrice = decimalOf(mark);
  order.cumQuote = decimalOf(Number(order.origQty) * mark);
  order.updateTime = now;
  const booked = {
    orderId: order.orderId,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    qty: order.origQty,
    price: mark,
    time: now,
  };
  const realizedPnl = state.realizedBy(booked);
  state.applyFill(booked);
  const fill = { qty: order.origQty, price: mark, tradeId: state.nextTradeId++, realizedPnl };
  state.emit({ type: 'order', order, execution: 'TRADE', time: now, fill });
  if (state.holdPositions) return;
  state.emit({ type: 'position', symbol: order.symbol, reason: 'ORDER', time: now });
  if (state.positionOf(order.symbol) !== 0) return;
  for (const resting of state.openOrders(order.symbol)) {
    if (!resting.reduceOnly) continue;
    resting.status = 'EXPIRED';
    resting.updateTime = now;
    state.open.delete(resting);
    state.emit({ type: 'order', order: resting, execution: 'EXPIRED', time: now, expireReason: 4 });
    state.finishAlgoOf(resting, now);
  }
}

function findOrder(state: PaperState, p: Params): PaperOrder {
  const market = marketOf(state, p);
  const id = p.get('orderId');
  const cid = p.get('origClientOrderId');
  if (!id && !cid) throw new ApiReject(-1102, "Either 'orderId' or 'origClientOrderId' must be sent.");
  // A reused MARKET id answers with its latest order, as on Binance.
  const o = state.findOrder(market.symbol, id ? { orderId: id } : { clientOrderId: cid! });
  if (!o) throw new ApiReject(-2013, 'Order does not exist.');
  return o;
}

export function queryOrder(state: PaperState, p: Params): unknown {
  return orderView(findOrder(state, p));
}

export function cancelOrder(state: PaperState, p: Params, now: number): unknown {
  let order: PaperOrder;
  try {
    order = findOrder(state, p);
  } catch (err) {
    if (err instanceof ApiReject && err.code === -2013) throw new ApiReject(-2011, 'Unknown order sent.');
    throw err;
  }
  if (order.status !== 'NEW') throw new ApiReject(-2011, 'Unknown order sent.');
  order.status = 'CANCELED';
  order.updateTime = now;
  state.open.delete(order);
  state.emit({ type: 'order', order, execution: 'CANCELED', time: now });
  state.finishAlgoOf(order, now);
  return orderView(order);
}

/**
 * GET /fapi/v1/allOrders: one symbol's orders, oldest first, from `orderId` or `startTime` (Binance:
 * a period under 7 days; without either, the newest `limit`), at most `limit` (500, max 1000).
 */
export function allOrders(state: PaperState, p: Params, now: number): unknown {
  const market = marketOf(state, p);
  const limit = Math.min(1000, Math.max(1, Number(p.get('limit') ?? 500) || 500));
  const fromId = p.get('orderId');
  const end = Number(p.get('endTime') ?? now);
  const start = Number(p.get('startTime') ?? end - 7 * 86_400_000);
  if (!(end - start <= 7 * 86_400_000)) throw new ApiReject(-1127, 'Lookup interval is too big.');
  const mine = state.orders.filter(
    (o) =>
      o.symbol === market.symbol &&
      (fromId !== null ? Number(o.orderId) >= Number(fromId) : o.time >= start && o.time <= end),
  );
  const fromStart = fromId !== null || p.get('startTime') !== null;
  return (fromStart ? mine.slice(0, limit) : mine.slice(-limit)).map(orderView);
}

export function openOrders(state: PaperState, p: Params): unknown {
  const symbol = p.get('symbol');
  if (symbol !== null) marketOf(state, p);
  return state.openOrders(symbol ?? undefined).map(orderView);
}
