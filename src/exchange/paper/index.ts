export { startPaperExchange, type PaperExchange, type PaperExchangeOptions } from './server.js';
export {
  PaperState,
  type PaperOrder,
  type PaperFill,
  type PaperAlgoOrder,
  type RequestLogEntry,
  type PaperStateOptions,
} from './state.js';
export { FaultController, faultSchema, type FaultSpec } from './faults.js';
export { PAPER_MARKETS, syntheticMarkets, type PaperMarket } from './markets.js';
export {
  customMarket,
  marketSpecSchema,
  parseMarketText,
  parseMarketsFile,
  type MarketSpec,
  type MarketParse,
} from './custom-markets.js';
