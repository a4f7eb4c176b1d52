/** Market data and account reads of the paper exchange (exchangeInfo, marks, positions, brackets). */
import { decimalOf, type PaperState } from './state.js';
import { marketOf, type Params } from './trading.js';

function premium(state: PaperState, symbol: string, now: number): Record<string, unknown> {
  const mark = decimalOf(state.markOf(symbol));
  return {
    symbol,
    markPrice: mark,
    indexPrice: mark,
    estimatedSettlePrice: mark,
    lastFundingRate: '0.00010000',
    interestRate: '0.00010000',
    nextFundingTime: (Math.floor(now / 28_800_000) + 1) * 28_800_000,
    time: now,
  };
}

export function premiumIndex(state: PaperState, p: Params, now: number): unknown {
  if (p.get('symbol') !== null) return premium(state, marketOf(state, p).symbol, now);
  return [...state.markets.keys()].map((s) => premium(state, s, now));
}

/**
 * One positionRisk row: the fields both versions share, then each version's own, added with
 * Object.assign. Not `{ ...base, more }`: V8 (Node 20) builds a spread followed by more properties
 * much slower, which made an account-wide read of many rows slow the pipeline bench.
 */
function positionRow(state: PaperState, symbol: string, version: 2 | 3): Record<string, unknown> {
  const amt = state.positions.get(symbol) ?? '0';
  const qty = Number(amt);
  const mark = state.markOf(symbol);
  const entry = state.entryPrices.get(symbol) ?? 0;
  const notional = qty * mark;
  const lev = state.leverage.get(symbol) ?? 20;
  const row = {
    symbol,
    positionSide: 'BOTH',
    positionAmt: amt,
    entryPrice: decimalOf(entry),
    breakEvenPrice: decimalOf(entry),
    markPrice: decimalOf(mark),
    unRealizedProfit: decimalOf((mark - entry) * qty),
    liquidationPrice: '0',
    isolatedMargin: '0.00000000',
    notional: decimalOf(notional),
    isolatedWallet: '0',
    updateTime: state.positionUpdateTime.get(symbol) ?? 0,
  };
  if (version === 2) {
    return Object.assign(row, {
      leverage: String(lev),
      maxNotionalValue: '1000000',
      marginType: 'cross',
      isAutoAddMargin: 'false',
      adlQuantile: 0,
    });
  }
  const margin = decimalOf(Math.abs(notional) / lev);
  return Object.assign(row, {
    marginAsset: 'USDT',
    initialMargin: margin,
    maintMargin: decimalOf(Math.abs(notional) * 0.004),
    positionInitialMargin: margin,
    openOrderInitialMargin: '0',
    adl: 0,
    bidNotional: '0',
    askNotional: '0',
  });
}

/** v2 lists every symbol; v3 only symbols with a position or an open order, as Binance does. */
export function positionRisk(state: PaperState, p: Params, version: 2 | 3): unknown {
  const symbols = p.get('symbol') !== null ? [marketOf(state, p).symbol] : [...state.markets.keys()];
  const shown =
    version === 2
      ? symbols
      : symbols.filter((s) => state.positionOf(s) !== 0 || state.openOrders(s).length > 0);
  return shown.map((s) => positionRow(state, s, version));
}

export function leverageBracket(state: PaperState, p: Params): unknown {
  const symbols = p.get('symbol') !== null ? [marketOf(state, p).symbol] : [...state.markets.keys()];
  return symbols.map((symbol) => ({
    symbol,
    notionalCoef: 1.0,
    brackets: [
      {
        bracket: 1,
        initialLeverage: 125,
        notionalCap: 50000,
        notionalFloor: 0,
        maintMarginRatio: 0.004,
        cum: 0.0,
      },
      {
        bracket: 2,
        initialLeverage: 100,
        notionalCap: 600000,
        notionalFloor: 50000,
        maintMarginRatio: 0.005,
        cum: 50.0,
      },
      {
        bracket: 3,
        initialLeverage: 20,
        notionalCap: 10000000,
        notionalFloor: 600000,
        maintMarginRatio: 0.025,
        cum: 12050.0,
      },
    ],
  }));
}
