/**
 * Builds the exchange adapter for a mode, refusing real money unless it is asked for in so many
 * words: `live` needs APPLY_LIVE_CONFIRM=yes-real-money and its own BINANCE_API_KEY/SECRET
 * (never the testnet pair). Other modes use the testnet pair and refuse a production URL.
 * The start-up message is returned for the caller to log (it never contains a secret).
 */
import type { Clock } from '../ops/clock.js';
import { LIVE_CONFIRM_PHRASE, PRODUCTION_BASE_URL, TESTNET_BASE_URL } from '../ops/config/common.js';
import { nonLiveHostProblem } from '../ops/config/exchange-host.js';
import { createBinanceExchange, type BinanceExchange, type ExchangeLogger } from './binance/index.js';

export type ExchangeMode = 'dry_run' | 'testnet' | 'live';

export interface ExchangeEnv {
  BINANCE_FUTURES_BASE_URL?: string | undefined;
  BINANCE_API_KEY?: string | undefined;
  BINANCE_API_SECRET?: string | undefined;
  BINANCE_TESTNET_API_KEY?: string | undefined;
  BINANCE_TESTNET_API_SECRET?: string | undefined;
  APPLY_LIVE_CONFIRM?: string | undefined;
}

export type ExchangeStart =
  | { ok: true; exchange: BinanceExchange; live: boolean; baseUrl: string; message: string }
  | { ok: false; reason: string; message: string };

const present = (v: string | undefined): v is string => typeof v === 'string' && v.trim() !== '';

export function createExchangeFromConfig(
  mode: ExchangeMode,
  env: ExchangeEnv,
  extra: { clock?: Clock; logger?: ExchangeLogger; timeoutMs?: number; recvWindow?: number } = {},
): ExchangeStart {
  const live = mode === 'live';
  const baseUrl = present(env.BINANCE_FUTURES_BASE_URL)
    ? env.BINANCE_FUTURES_BASE_URL.trim()
    : live
      ? PRODUCTION_BASE_URL
      : TESTNET_BASE_URL;
  try {
    new URL(baseUrl);
  } catch {
    return { ok: false, reason: 'invalid_base_url', message: 'BINANCE_FUTURES_BASE_URL is not a URL' };
  }
  if (live) {
    if (env.APPLY_LIVE_CONFIRM !== LIVE_CONFIRM_PHRASE) {
      return {
        ok: false,
        reason: 'live_not_confirmed',
        message: `refusing live mode: set APPLY_LIVE_CONFIRM=${LIVE_CONFIRM_PHRASE} to trade real money`,
      };
    }
    if (!present(env.BINANCE_API_KEY) || !present(env.BINANCE_API_SECRET)) {
      return {
        ok: false,
        reason: 'missing_binance_credentials',
        message: 'refusing live mode: BINANCE_API_KEY and BINANCE_API_SECRET must both be set',
      };
    }
  }
  const hostProblem = live ? null : nonLiveHostProblem(baseUrl);
  if (hostProblem !== null) {
    return {
      ok: false,
      reason: 'production_url_outside_live',
      message: `refusing ${mode}: ${baseUrl} may be the production exchange (${hostProblem}); use APPLY_MODE=live for real money`,
    };
  }
  const apiKey = live ? env.BINANCE_API_KEY : env.BINANCE_TESTNET_API_KEY;
  const apiSecret = live ? env.BINANCE_API_SECRET : env.BINANCE_TESTNET_API_SECRET;
  if (!present(apiKey) || !present(apiSecret)) {
    return {
      ok: false,
      reason: 'missing_binance_credentials',
      message: `${mode}: BINANCE_TESTNET_API_KEY and BINANCE_TESTNET_API_SECRET must both be set`,
    };
  }
  const exchange = createBinanceExchange({
    baseUrl,
    apiKey: apiKey.trim(),
    apiSecret: apiSecret.trim(),
    ...extra,
  });
  const message = live
    ? `LIVE MODE: orders go to ${baseUrl} with REAL MONEY (credentials from BINANCE_API_KEY/BINANCE_API_SECRET)`
    : `${mode} mode: exchange ${baseUrl} (credentials from BINANCE_TESTNET_API_KEY/BINANCE_TESTNET_API_SECRET)`;
  return { ok: true, exchange, live, baseUrl, message };
}
