/**
 * Conditional (algo) orders of the paper exchange: `/fapi/v1/algoOrder` and friends, shaped like
 * Binance's Algo Service answers. An order rests until cancelled or until a mark set through the
 * control surface crosses its trigger (triggerAlgoOrders).
 */
import {
  addDecimal,
  compareDecimal,
  canonicalText,
  isMultipleOf,
  parsePlainDecimal,
} from '../../domain/decimal.js';
import type { PaperMarket } from './markets.js';
import { decimalOf, type PaperAlgoOrder, type PaperOrder, type PaperState } from './state.js';
import {
  ApiReject,
  boolParam,
  checkQuantity,
  CLIENT_ID,
  CONDITIONAL,
  marketOf,
  need,
  fillAtMark,
  sideOf,
  type Params,
} from './trading.js';

function algoView(state: PaperState, a: PaperAlgoOrder): Record<string, unknown> {
  return {
    algoId: a.algoId,
    clientAlgoId: a.clientAlgoId,
    algoType: 'CONDITIONAL',
    orderType: a.orderType,
    symbol: a.symbol,
    side: a.side,
    positionSide: 'BOTH',
    timeInForce: 'GTC',
    quantity: a.quantity,
    algoStatus: a.algoStatus,
    actualOrderId: a.actualOrderId,
    actualPrice: childOf(state, a)?.status === 'FILLED' ? childOf(state, a)!.avgPrice : '0.00000',
    triggerPrice: a.triggerPrice,
    price: '0.00',
    icebergQuantity: null,
    selfTradePreventionMode: 'EXPIRE_MAKER',
    workingType: a.workingType,
    priceMatch: 'NONE',
    closePosition: a.closePosition,
    priceProtect: false,
    reduceOnly: a.reduceOnly,
    createTime: a.createTime,
    updateTime: a.updateTime,
    triggerTime: a.triggerTime,
    goodTillDate: 0,
  };
}

/**
 * PRICE_FILTER on a trigger, as Binance USD-M documents it (Common Definition → Filters): a zero
 * minPrice or maxPrice disables that bound, and the grid is (price - minPrice) % tickSize == 0.
 * More decimals than the symbol's pricePrecision answer -1111, a price within them but off the
 * grid -4014 (what traders report from Binance for the two cases).
 */
function checkTriggerPrice(market: PaperMarket, trigger: string): void {
  const parsed = parsePlainDecimal(trigger);
  if (!parsed || parsed.m <= 0n) throw new ApiReject(-1102, "Parameter 'triggerPrice' was malformed.");
  const decimals = (canonicalText(parsed).split('.')[1] ?? '').length;
  if (decimals > market.pricePrecision)
    throw new ApiReject(-1111, 'Precision is over the maximum defined for this asset.');
  const minBound = compareDecimal(market.minPrice, '0') > 0;
  if (minBound && compareDecimal(trigger, market.minPrice) < 0)
    throw new ApiReject(-4013, 'Price less than min price.');
  if (compareDecimal(market.maxPrice, '0') > 0 && compareDecimal(trigger, market.maxPrice) > 0)
    throw new ApiReject(-4007, 'Stop price greater than max price.');
  const fromMin = minBound ? addDecimal(trigger, `-${market.minPrice}`) : trigger;
  if (!isMultipleOf(fromMin, market.tickSize))
    throw new ApiReject(-4014, 'Price not increased by tick size.');
}

export function newAlgoOrder(state: PaperState, p: Params, now: number): unknown {
  if (need(p, 'algoType') !== 'CONDITIONAL')
    throw new ApiReject(-1102, "Invalid value for parameter 'algoType'.");
  const market = marketOf(state, p);
  const side = sideOf(p);
  const type = need(p, 'type');
  if (!CONDITIONAL.has(type)) throw new ApiReject(-1116, 'Invalid orderType.');
  const trigger = need(p, 'triggerPrice');
  checkTriggerPrice(market, trigger);
  const closePosition = boolParam(p, 'closePosition');
  const quantity = p.get('quantity') ?? '';
  if (closePosition && quantity)
    throw new ApiReject(-1102, 'quantity cannot be sent with closePosition=true.');
  if (!closePosition) checkQuantity(market, need(p, 'quantity'), type);
  const clientAlgoId = p.get('clientAlgoId') ?? `paper-algo-${state.nextAlgoId}`;
  if (!CLIENT_ID.test(clientAlgoId)) throw new ApiReject(-4015, 'Client order id is not valid.');
  if (state.algoOrders.some((a) => a.algoStatus === 'NEW' && a.clientAlgoId === clientAlgoId)) {
    throw new ApiReject(-4116, 'ClientOrderId is duplicated.');
  }
  const workingType = p.get('workingType') ?? 'CONTRACT_PRICE';
  const mark = state.markOf(market.symbol);
  const stopLike = type.startsWith('STOP');
  const fires = stopLike
    ? side === 'SELL'
      ? Number(trigger) >= mark
      : Number(trigger) <= mark
    : side === 'SELL'
      ? Number(trigger) <= mark
      : Number(trigger) >= mark;
  if (fires) throw new ApiReject(-2021, 'Order would immediately trigger.');
  const algo: PaperAlgoOrder = {
    algoId: state.nextAlgoId++,
    clientAlgoId,
    symbol: market.symbol,
    side,
    orderType: type,
    triggerPrice: trigger,
    quantity: closePosition ? '0' : quantity,
    closePosition,
    reduceOnly: closePosition || boolParam(p, 'reduceOnly'),
    workingType,
    algoStatus: 'NEW',
    createTime: now,
    updateTime: now,
    actualOrderId: '',
    triggerTime: 0,
  };
  state.algoOrders.push(algo);
  state.emit({ type: 'algo', algo, time: now });
  return algoView(state, algo);
}

function findAlgo(state: PaperState, p: Params): PaperAlgoOrder {
  const id = p.get('algoId');
  const cid = p.get('clientAlgoId') ?? p.get('clientalgoid');
  if (!id && !cid) throw new ApiReject(-1102, "Either 'algoId' or 'clientAlgoId' must be sent.");
  for (let i = state.algoOrders.length - 1; i >= 0; i--) {
    const a = state.algoOrders[i]!;
    if (id ? String(a.algoId) === id : a.clientAlgoId === cid) return a;
  }
  throw new ApiReject(-2013, 'Order does not exist.');
}

export function queryAlgoOrder(state: PaperState, p: Params): unknown {
  return algoView(state, findAlgo(state, p));
}

export function cancelAlgoOrder(state: PaperState, p: Params, now: number): unknown {
  let algo: PaperAlgoOrder;
  try {
    algo = findAlgo(state, p);
  } catch {
    throw new ApiReject(-2011, 'Unknown order sent.');
  }
  if (algo.algoStatus !== 'NEW') throw new ApiReject(-2011, 'Unknown order sent.');
  state.setAlgoStatus(algo, 'CANCELED', now);
  return { algoId: algo.algoId, clientAlgoId: algo.clientAlgoId, code: '200', msg: 'success' };
}

export function openAlgoOrders(state: PaperState, p: Params): unknown {
  const symbol = p.get('symbol');
  if (symbol !== null) marketOf(state, p);
  return state.algoOrders
    .filter((a) => a.algoStatus === 'NEW' && (symbol === null || a.symbol === symbol))
    .map((a) => algoView(state, a));
}

/** Whether the mark has crossed the trigger: the mirror of the -2021 "would immediately trigger". */
function crossed(a: PaperAlgoOrder, mark: number): boolean {
  const trigger = Number(a.triggerPrice);
  // A stop sells as the mark falls to it and buys as it rises; a take-profit the other way.
  const fallsTo = (a.side === 'SELL') === a.orderType.startsWith('STOP');
  return fallsTo ? mark <= trigger : mark >= trigger;
}

/**
 * Triggers the resting algo orders of `symbol` the mark has crossed, as Binance's Algo Service
 * does: TRIGGERING, then the order it places in the matching engine (TRIGGERED, `actualOrderId`),
 * then FINISHED once that order is done. A *_MARKET type places a MARKET order filled at the mark
 * (client order id = the algo's clientAlgoId, origType = the algo's type); a limit type (STOP,
 * TAKE_PROFIT) places a LIMIT at its price that rests. A close-position or reduce-only order with
 * nothing left to reduce is EXPIRED / REJECTED instead of growing the position. Trailing stops
 * are left resting (the paper exchange does not follow a trail).
 */
export function triggerAlgoOrders(state: PaperState, symbol: string, now: number): void {
  const mark = state.markOf(symbol);
  for (const a of state.algoOrders) {
    if (a.symbol !== symbol || a.algoStatus !== 'NEW') continue;
    if (a.orderType === 'TRAILING_STOP_MARKET' || !crossed(a, mark)) continue;
    a.triggerTime = now;
    state.setAlgoStatus(a, 'TRIGGERING', now);
    const position = state.positions.get(symbol) ?? '0';
    const size = position.replace('-', '');
    const reduces = (position.startsWith('-') ? 'BUY' : 'SELL') === a.side && size !== '0';
    if (a.closePosition && !reduces) {
      state.setAlgoStatus(a, 'EXPIRED', now);
      continue;
    }
    const quantity = a.closePosition ? size : a.quantity;
    if (a.reduceOnly && (!reduces || compareDecimal(quantity, size) > 0)) {
      a.rejectReason = 'Reduce Only reject';
      state.setAlgoStatus(a, 'REJECTED', now);
      continue;
    }
    const market = a.orderType.endsWith('_MARKET');
    const child: PaperOrder = {
      orderId: state.nextOrderId++,
      clientOrderId: a.clientAlgoId,
      symbol,
      side: a.side,
      type: market ? 'MARKET' : 'LIMIT',
      status: 'NEW',
      origQty: quantity,
      executedQty: '0',
      avgPrice: '0.00',
      cumQuote: '0',
      price: market ? '0' : decimalOf(Number(a.triggerPrice)),
      reduceOnly: a.reduceOnly,
      timeInForce: 'GTC',
      time: now,
      updateTime: now,
      origType: a.orderType,
      stopPrice: a.triggerPrice,
      closePosition: a.closePosition,
      workingType: a.workingType,
    };
    state.addOrder(child);
    a.actualOrderId = String(child.orderId);
    state.setAlgoStatus(a, 'TRIGGERED', now);
    state.emit({ type: 'order', order: child, execution: 'NEW', time: now });
    if (!market) {
      state.open.add(child);
      continue;
    }
    fillAtMark(state, child, now);
    state.finishAlgoOf(child, now);
  }
}

/** The order a triggered algo order placed, for its ALGO_UPDATE (`ap`, `aq`, `act`). */
export function childOf(state: PaperState, a: PaperAlgoOrder): PaperOrder | null {
  return a.actualOrderId ? state.findOrder(a.symbol, { orderId: a.actualOrderId }) : null;
}
