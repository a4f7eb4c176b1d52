/** Shared set-up: a paper exchange and an adapter tuned for fast fault recovery. */
import { createBinanceExchange, type BinanceExchangeOptions } from '../../src/exchange/binance/index.js';
import type { PaperExchange } from '../../src/exchange/paper/index.js';
import { KEY, SECRET } from './paper-client.js';

export const FAST: Partial<BinanceExchangeOptions> = {
  recvWindow: 1000,
  timeoutMs: 300,
  recoveryDelaysMs: [50, 100, 200],
  absenceMarginMs: 200,
  recoveryBudgetMs: 4000,
  readRetries: 2,
  retryBaseMs: 20,
};

export function adapterFor(px: PaperExchange, extra: Partial<BinanceExchangeOptions> = {}) {
  const warnings: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const ex = createBinanceExchange({
    baseUrl: px.url,
    apiKey: KEY,
    apiSecret: SECRET,
    ...FAST,
    logger: { warn: (fields, msg) => warnings.push({ fields, msg }) },
    ...extra,
  });
  return { ex, warnings };
}

export function postsFor(px: PaperExchange, clientOrderId: string): number {
  return px.state.requestLog.filter(
    (r) => r.method === 'POST' && r.path === '/fapi/v1/order' && r.clientOrderId === clientOrderId,
  ).length;
}
