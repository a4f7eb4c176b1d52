/**
 * Builds a service's exchange adapter from its parsed Binance config, and the start-up line to
 * log (never a secret). The real-money rules are checked once, where the config is read
 * (src/ops/config/common.ts readBinance, and apply's APPLY_LIVE_CONFIRM): live only when
 * confirmed and with its own BINANCE_API_KEY/SECRET, no production host outside live, the live
 * pair never read outside live. Without credentials (dry_run or testnet with no keys set) the
 * adapter has placeholders that only ever reach public endpoints.
 */
import type { BinanceConfig } from '../ops/config/common.js';
import type { UserStreamConfig } from '../ops/config/user-stream.js';
import {
  createBinanceExchange,
  type BinanceExchange,
  type ExchangeLogger,
  type UserStreamMetrics,
} from './binance/index.js';

const PUBLIC_ONLY = 'public-endpoints-only';

export interface OpenedExchange {
  exchange: BinanceExchange;
  /** Whether the adapter holds credentials (signed endpoints) or only placeholders. */
  credentialed: boolean;
  /** What to log at start-up: where orders go, and with which pair of variables. */
  message: string;
}

export function openExchange(
  mode: string,
  binance: Pick<BinanceConfig, 'baseUrl' | 'apiKey' | 'apiSecret'>,
  extra: { logger?: ExchangeLogger; userStream?: UserStreamConfig; streamMetrics?: UserStreamMetrics } = {},
): OpenedExchange {
  const credentialed = binance.apiKey !== null && binance.apiSecret !== null;
  const { userStream, streamMetrics, ...rest } = extra;
  // A listenKey needs an API key: without credentials there is no stream to follow.
  const follow = userStream?.enabled === true && credentialed;
  const exchange = createBinanceExchange({
    baseUrl: binance.baseUrl,
    apiKey: binance.apiKey ?? PUBLIC_ONLY,
    apiSecret: binance.apiSecret ?? PUBLIC_ONLY,
    ...rest,
    ...(follow
      ? {
          userStream: {
            wsBaseUrl: userStream.wsBaseUrl,
            silenceMs: userStream.silenceMs,
            ...(streamMetrics ? { metrics: streamMetrics } : {}),
          },
        }
      : {}),
  });
  const message =
    mode === 'live'
      ? `LIVE MODE: orders go to ${binance.baseUrl} with REAL MONEY (credentials from BINANCE_API_KEY/BINANCE_API_SECRET)`
      : `${mode} mode: exchange ${binance.baseUrl} (credentials from BINANCE_TESTNET_API_KEY/BINANCE_TESTNET_API_SECRET)`;
  return { exchange, credentialed, message };
}
