export { startPaperExchange, type PaperExchange, type PaperExchangeOptions } from './server.js';
export {
  PaperState,
  type PaperOrder,
  type PaperFill,
  type PaperAlgoOrder,
  type RequestLogEntry,
  type PaperStateOptions,
  type PaperEvent,
} from './state.js';
export { FaultController, faultSchema, type FaultSpec } from './faults.js';
export { ListenKeyBook, LISTEN_KEY_TTL_MS } from './listen-keys.js';
export { CONNECTION_LIFETIME_MS, UserStreamServer, type UserStreamOptions } from './user-stream.js';
export { type UserEvent as PaperUserEvent } from './user-events.js';
export { PAPER_MARKETS, syntheticMarkets, type PaperMarket } from './markets.js';
export {
  customMarket,
  marketSpecSchema,
  parseMarketText,
  parseMarketsFile,
  type MarketSpec,
  type MarketParse,
} from './custom-markets.js';
