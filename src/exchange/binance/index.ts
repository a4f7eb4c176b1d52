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
export {
  parseUserEvent,
  KNOWN_EVENTS,
  type UserEvent,
  type OrderUpdate,
  type PositionUpdate,
  type ParsedEvent,
  type EventReason,
} from './user-events.js';
export { UserStream, type UserStreamMetrics, type StreamState, type Handover } from './user-stream.js';
