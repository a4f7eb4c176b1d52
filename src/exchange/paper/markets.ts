/**
 * The symbols the paper exchange lists, with filters shaped like Binance USD-M's own
 * (values close to the live ones at the time of writing), and default mark prices.
 */

export interface PaperMarket {
  symbol: string;
  baseAsset: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
  maxQty: string;
  marketStepSize: string;
  marketMinQty: string;
  marketMaxQty: string;
  minNotional: string;
  pricePrecision: number;
  quantityPrecision: number;
  minPrice: string;
  maxPrice: string;
  mark: number;
}

const m = (
  symbol: string,
  baseAsset: string,
  tickSize: string,
  stepSize: string,
  maxQty: string,
  marketMaxQty: string,
  minNotional: string,
  pricePrecision: number,
  quantityPrecision: number,
  minPrice: string,
  maxPrice: string,
  mark: number,
): PaperMarket => ({
  symbol,
  baseAsset,
  tickSize,
  stepSize,
  minQty: stepSize,
  maxQty,
  marketStepSize: stepSize,
  marketMinQty: stepSize,
  marketMaxQty,
  minNotional,
  pricePrecision,
  quantityPrecision,
  minPrice,
  maxPrice,
  mark,
});

export const PAPER_MARKETS: readonly PaperMarket[] = [
  m('BTCUSDT', 'BTC', '0.10', '0.001', '1000', '120', '100', 2, 3, '556.80', '4529764', 60000),
  m('ETHUSDT', 'ETH', '0.01', '0.001', '10000', '2000', '20', 2, 3, '39.86', '306177', 3000),
  m('SOLUSDT', 'SOL', '0.0100', '1', '1000000', '5000', '5', 4, 0, '0.4200', '6857', 150),
  m('BNBUSDT', 'BNB', '0.010', '0.01', '100000', '2000', '5', 3, 2, '6.600', '100000', 600),
  m('XRPUSDT', 'XRP', '0.0001', '0.1', '10000000', '2000000', '5', 4, 1, '0.0143', '100000', 0.6),
  m('DOGEUSDT', 'DOGE', '0.000010', '1', '50000000', '30000000', '5', 6, 0, '0.002440', '30', 0.15),
];

/**
 * `n` synthetic markets for load tests (SYN0000USDT, SYN0001USDT, ...): mark 100, step 0.001,
 * so any number of symbols can carry positions without touching the real-looking list above.
 */
export function syntheticMarkets(n: number): PaperMarket[] {
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new Error(`synthetic symbols: 0..100000, got ${n}`);
  const width = Math.max(4, String(n - 1).length);
  return Array.from({ length: n }, (_, i) => {
    const base = `SYN${String(i).padStart(width, '0')}`;
    return m(`${base}USDT`, base, '0.01', '0.001', '1000000', '100000', '5', 2, 3, '0.01', '1000000', 100);
  });
}

export function exchangeInfoBody(markets: readonly PaperMarket[], serverTime: number): unknown {
  return {
    timezone: 'UTC',
    serverTime,
    futuresType: 'U_MARGINED',
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 },
      { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
    ],
    exchangeFilters: [],
    assets: [
      { asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' },
      { asset: 'BNB', marginAvailable: true, autoAssetExchange: '0' },
    ],
    symbols: markets.map((s) => ({
      symbol: s.symbol,
      pair: s.symbol,
      contractType: 'PERPETUAL',
      deliveryDate: 4133404800000,
      onboardDate: 1569398400000,
      status: 'TRADING',
      maintMarginPercent: '2.5000',
      requiredMarginPercent: '5.0000',
      baseAsset: s.baseAsset,
      quoteAsset: 'USDT',
      marginAsset: 'USDT',
      pricePrecision: s.pricePrecision,
      quantityPrecision: s.quantityPrecision,
      baseAssetPrecision: 8,
      quotePrecision: 8,
      underlyingType: 'COIN',
      underlyingSubType: [],
      settlePlan: 0,
      triggerProtect: '0.0500',
      liquidationFee: '0.012500',
      marketTakeBound: '0.05',
      maxMoveOrderLimit: 10000,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: s.minPrice, maxPrice: s.maxPrice, tickSize: s.tickSize },
        { filterType: 'LOT_SIZE', minQty: s.minQty, maxQty: s.maxQty, stepSize: s.stepSize },
        {
          filterType: 'MARKET_LOT_SIZE',
          minQty: s.marketMinQty,
          maxQty: s.marketMaxQty,
          stepSize: s.marketStepSize,
        },
        { filterType: 'MAX_NUM_ORDERS', limit: 200 },
        { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
        { filterType: 'MIN_NOTIONAL', notional: s.minNotional },
        {
          filterType: 'PERCENT_PRICE',
          multiplierUp: '1.0500',
          multiplierDown: '0.9500',
          multiplierDecimal: '4',
        },
      ],
      orderTypes: [
        'LIMIT',
        'MARKET',
        'STOP',
        'STOP_MARKET',
        'TAKE_PROFIT',
        'TAKE_PROFIT_MARKET',
        'TRAILING_STOP_MARKET',
      ],
      timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
      permissionSets: ['GRID', 'COPY'],
    })),
  };
}
