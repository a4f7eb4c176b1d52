export {
  createBinanceExchange,
  type BinanceExchange,
  type BinanceExchangeOptions,
  type ExchangeLogger,
  type SentIntentStore,
} from './adapter.js';
export { signPayload, verifySignature } from './sign.js';
export { CODE_REASONS, reasonFor, reasonForStatus, isOrderOutcomeUnknown } from './errors.js';
export { toRules } from './reads.js';
export type { RateLimitState } from './transport.js';
