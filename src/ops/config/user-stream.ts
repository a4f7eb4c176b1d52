/**
 * BINANCE_USER_STREAM and its WebSocket base: whether the adapter follows the account's user data
 * stream (src/exchange/binance/user-stream.ts), and where. On by default against Binance's own
 * hosts (testnet and live); off against anything else (the paper exchange, dry_run) unless set.
 */
import { EnvReader, enumField, numberField, urlField } from './env.js';
import { isUnderBinance, nonLiveHostExpected, nonLiveHostProblem, normalisedHost } from './exchange-host.js';
import type { ApplyMode } from './common.js';

/** Binance's USDⓈ-M private stream base since the 2026 split into /public, /market, /private. */
export const PRODUCTION_WS_URL = 'wss://fstream.binance.com/private';
/** The USDⓈ-M testnet's stream host (its docs name no /private path). */
export const TESTNET_WS_URL = 'wss://fstream.binancefuture.com';

export interface UserStreamConfig {
  enabled: boolean;
  /** `<this>/ws/<listenKey>` is the connection's URL. */
  wsBaseUrl: string;
  /** Past this long without a message or a pong the stream is not trusted (REST serves). */
  silenceMs: number;
}

const SWITCH = ['on', 'off'] as const;

/** `restBaseUrl`: BINANCE_FUTURES_BASE_URL as read (the default's host decides the default). */
export function readUserStream(r: EnvReader, mode: ApplyMode, restBaseUrl: string): UserStreamConfig {
  const host = normalisedHost(restBaseUrl);
  const binanceHost =
    host !== null &&
    (isUnderBinance(host) || host === 'binancefuture.com' || host.endsWith('.binancefuture.com'));
  const fallbackOn = mode !== 'dry_run' && binanceHost;
  const enabled = r.get('BINANCE_USER_STREAM', enumField(SWITCH), fallbackOn ? 'on' : 'off') === 'on';
  const wsBaseUrl = r.get(
    'BINANCE_FUTURES_WS_URL',
    urlField(['wss:', 'ws:']),
    mode === 'live' ? PRODUCTION_WS_URL : TESTNET_WS_URL,
  );
  if (mode !== 'live' && r.valid('BINANCE_FUTURES_WS_URL')) {
    const problem = nonLiveHostProblem(wsBaseUrl);
    if (problem !== null) r.problem('BINANCE_FUTURES_WS_URL', nonLiveHostExpected(problem, wsBaseUrl));
  }
  const silenceSec = r.get('BINANCE_USER_STREAM_SILENCE_SEC', numberField({ min: 1, max: 300 }), 10);
  return { enabled, wsBaseUrl, silenceMs: Math.round(silenceSec * 1000) };
}
