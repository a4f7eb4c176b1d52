/** Binance request weight of what the pipeline sends, per executed plan (bench:venue, pipeline-ab). */
import type { PhaseSummary } from './pipeline-report.js';

/**
 * Binance's request weight of each request the pipeline sends (USDⓈ-M docs, each endpoint's
 * "Request Weight"); an order costs none of the minute's weight.
 */
export const WEIGHT: Record<string, number> = {
  'GET /fapi/v3/positionRisk': 5,
  'GET /fapi/v2/positionRisk': 5,
  'GET /fapi/v1/openOrders': 40,
  'GET /fapi/v1/order': 1,
  'GET /fapi/v1/exchangeInfo': 1,
  'GET /fapi/v1/premiumIndex': 1,
  'GET /fapi/v1/time': 1,
  'POST /fapi/v1/listenKey': 1,
  'PUT /fapi/v1/listenKey': 1,
  'DELETE /fapi/v1/listenKey': 1,
};

/** Request weight per executed plan, from the requests per plan (unknown requests count 1). */
export function weightPerPlan(p: PhaseSummary): number {
  return Object.entries(p.exchangePerPlan).reduce(
    (a, [k, n]) =>
      a + (Number.isFinite(n) ? n * (WEIGHT[k] ?? (k.startsWith('POST /fapi/v1/order') ? 0 : 1)) : 0),
    0,
  );
}
