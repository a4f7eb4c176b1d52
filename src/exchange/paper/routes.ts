/** The REST routes the paper exchange speaks: Binance USD-M paths, weights and auth level. */
import { exchangeInfoBody } from './markets.js';
import { leverageBracket, positionRisk, premiumIndex } from './info.js';
import type { PaperState } from './state.js';
import * as t from './trading.js';
import * as a from './algo.js';

export interface Route {
  signed: boolean;
  /** API key only, no signature (Binance's USER_STREAM security type). */
  keyed?: boolean;
  weight: number;
  /** Counts towards the order-rate headers and is checked again at the "matching engine". */
  placesOrder: boolean;
  handle(state: PaperState, p: URLSearchParams, now: number): unknown;
}

const r = (signed: boolean, weight: number, handle: Route['handle'], placesOrder = false): Route => ({
  signed,
  weight,
  placesOrder,
  handle,
});

/** USER_STREAM: the API key names the account, no signature. */
const keyed = (handle: Route['handle']): Route => ({
  signed: false,
  keyed: true,
  weight: 1,
  placesOrder: false,
  handle,
});

/**
 * The listenKey endpoints (ListenKeyBook): POST returns the active key extended or a new one, PUT
 * extends it (-1125 when there is none), DELETE closes it and its streams. Each weighs 1.
 */
const listenKeyRoutes: Record<string, Route> = {
  'POST /fapi/v1/listenKey': keyed((s, _p, now) => ({ listenKey: s.listenKeys.open(now) })),
  'PUT /fapi/v1/listenKey': keyed((s, p, now) => {
    const listenKey = s.listenKeys.keepalive(now, p.get('listenKey'));
    if (!listenKey) throw new t.ApiReject(-1125, 'This listenKey does not exist.');
    return { listenKey };
  }),
  'DELETE /fapi/v1/listenKey': keyed((s, _p, now) => {
    const listenKey = s.listenKeys.close(now);
    if (listenKey) s.emit({ type: 'streamClosed', listenKey });
    return {};
  }),
};

/**
 * Weights against X-MBX-USED-WEIGHT-1M. Placing an order (and an algo order) costs 0 there and 1 on
 * each order-count window: Binance's "New Order (TRADE)" page for USDⓈ-M futures,
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api
 * ("1 on 10s order rate limit; 1 on 1min order rate limit; 0 on IP rate limit").
 */
export const ROUTES: Readonly<Record<string, Route>> = {
  'GET /fapi/v1/ping': r(false, 1, () => ({})),
  'GET /fapi/v1/time': r(false, 1, (_s, _p, now) => ({ serverTime: now })),
  'GET /fapi/v1/exchangeInfo': r(false, 1, (s, _p, now) => exchangeInfoBody([...s.markets.values()], now)),
  'GET /fapi/v1/premiumIndex': r(false, 1, premiumIndex),
  'GET /fapi/v1/leverageBracket': r(true, 1, leverageBracket),
  'GET /fapi/v2/positionRisk': r(true, 5, (s, p) => positionRisk(s, p, 2)),
  'GET /fapi/v3/positionRisk': r(true, 5, (s, p) => positionRisk(s, p, 3)),
  'POST /fapi/v1/order': r(true, 0, t.newOrder, true),
  'GET /fapi/v1/order': r(true, 1, t.queryOrder),
  'DELETE /fapi/v1/order': r(true, 1, t.cancelOrder),
  'GET /fapi/v1/openOrders': r(true, 1, t.openOrders),
  'GET /fapi/v1/allOrders': r(true, 5, t.allOrders),
  'POST /fapi/v1/algoOrder': r(true, 0, a.newAlgoOrder, true),
  'GET /fapi/v1/algoOrder': r(true, 1, a.queryAlgoOrder),
  'DELETE /fapi/v1/algoOrder': r(true, 1, a.cancelAlgoOrder),
  'GET /fapi/v1/openAlgoOrders': r(true, 1, a.openAlgoOrders),
  ...listenKeyRoutes,
};
