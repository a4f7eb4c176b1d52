/** Variables every service shares: Redis, log level, mode and Binance credentials. */
import {
  EnvReader,
  enumField,
  boolField,
  logLevelField,
  numberField,
  secretField,
  textField,
  urlField,
  type LogLevel,
} from './env.js';
import { nonLiveHostExpected, nonLiveHostProblem } from './exchange-host.js';
import { redisUrlField } from './redis-url.js';
import { readSentinel, sentinelUrlProblem } from './redis-sentinel.js';
import type { SentinelTarget } from '../../store/redis/connection.js';

export const APPLY_MODES = ['dry_run', 'testnet', 'live'] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

export const TESTNET_BASE_URL = 'https://testnet.binancefuture.com';
export const PRODUCTION_BASE_URL = 'https://fapi.binance.com';
export const LIVE_CONFIRM_PHRASE = 'yes-real-money';

export interface RedisConfig {
  /** May hold a password: log it only through describeConfig(). */
  url: string;
  keyPrefix: string;
  cluster: boolean;
  /** REDIS_SENTINELS: the master is found through these; `url` then names the group as its host. */
  sentinel: SentinelTarget | null;
}

export interface BinanceConfig {
  baseUrl: string;
  /** Which pair of variables the credentials came from. */
  credentials: 'testnet' | 'live';
  apiKey: string | null;
  apiSecret: string | null;
  /** Outside live mode: the live-pair variables that are set and ignored (names only). */
  liveKeysIgnored: readonly string[];
}

export const DEFAULT_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
export const DEFAULT_ALLOWLIST = ['BTCUSDT'];

export function readRedis(r: EnvReader): RedisConfig {
  const keyPrefix = r.get('REDIS_KEY_PREFIX', textField(), '');
  const sentinel = readSentinel(r);
  if (sentinel !== null) return { url: sentinelUrl(r, sentinel.name), keyPrefix, cluster: false, sentinel };
  const cluster = r.get('REDIS_CLUSTER', boolField(), false);
  if (r.isSet('REDIS_URL')) {
    return { url: r.get('REDIS_URL', redisUrlField(), ''), keyPrefix, cluster, sentinel };
  }
  const host = r.get('REDIS_HOST', textField(), '127.0.0.1').trim();
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) r.problem('REDIS_HOST', 'a host name or IP address');
  const port = r.get('REDIS_PORT', numberField({ int: true, min: 1, max: 65535 }), 6379);
  const db = r.get('REDIS_DB', numberField({ int: true, min: 0 }), 0);
  const h = host.includes(':') ? `[${host}]` : host;
  return { url: `redis://${h}:${port}${db ? `/${db}` : ''}`, keyPrefix, cluster, sentinel };
}

/** Sentinel mode's REDIS_URL (credentials, TLS, db; host = the group), or one built from REDIS_DB. */
function sentinelUrl(r: EnvReader, name: string): string {
  if (r.isSet('REDIS_URL')) {
    const url = r.get('REDIS_URL', redisUrlField(), '');
    const problem = url !== '' && name !== '' ? sentinelUrlProblem(url, name) : null;
    if (problem !== null) r.problem('REDIS_URL', problem);
    return url;
  }
  const db = r.get('REDIS_DB', numberField({ int: true, min: 0 }), 0);
  return `redis://${name || 'master'}${db ? `/${db}` : ''}`;
}

export function readLogLevel(r: EnvReader, serviceVar?: string): LogLevel {
  const common = r.get('LOG_LEVEL', logLevelField(), 'info');
  return serviceVar ? r.get(serviceVar, logLevelField(), common) : common;
}

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** LOG_FORMAT: `json` (one pino object a line, for machines) or `pretty` (for people at a terminal). */
export function readLogFormat(r: EnvReader): LogFormat {
  return r.get('LOG_FORMAT', enumField(LOG_FORMATS), 'json');
}

export function readMode(r: EnvReader): ApplyMode {
  return r.get('APPLY_MODE', enumField(APPLY_MODES), 'dry_run');
}

/** The live pair: read only in live mode; outside it, only whether it is set (to warn). */
export const LIVE_KEY_VARIABLES = ['BINANCE_API_KEY', 'BINANCE_API_SECRET'] as const;

/**
 * Credentials by mode: live → BINANCE_API_KEY/SECRET; otherwise only the testnet pair, and a host
 * that may be production is refused (exchange-host.ts). Outside live mode the live pair is never
 * read, so it cannot reach any exchange, whichever service runs; set there, its names go to
 * `liveKeysIgnored` (configWarnings turns them into a start-up warning: the fleet's readers fell
 * back to it, so an operator may expect it to be used).
 */
export function readBinance(r: EnvReader, mode: ApplyMode): BinanceConfig {
  const url = urlField(['https:', 'http:']);
  const baseUrl = r.get(
    'BINANCE_FUTURES_BASE_URL',
    url,
    mode === 'live' ? PRODUCTION_BASE_URL : TESTNET_BASE_URL,
  );
  if (mode === 'live') {
    const apiKey = r.get('BINANCE_API_KEY', secretField(), null);
    const apiSecret = r.get('BINANCE_API_SECRET', secretField(), null);
    return { baseUrl, credentials: 'live', apiKey, apiSecret, liveKeysIgnored: [] };
  }
  const hostProblem = r.valid('BINANCE_FUTURES_BASE_URL') ? nonLiveHostProblem(baseUrl) : null;
  if (hostProblem !== null) {
    r.problem('BINANCE_FUTURES_BASE_URL', nonLiveHostExpected(hostProblem, baseUrl));
  }
  const apiKey = r.get('BINANCE_TESTNET_API_KEY', secretField(), null);
  const apiSecret = r.get('BINANCE_TESTNET_API_SECRET', secretField(), null);
  const liveKeysIgnored = LIVE_KEY_VARIABLES.filter((v) => (r.raw(v) ?? '').trim() !== '');
  return { baseUrl, credentials: 'testnet', apiKey, apiSecret, liveKeysIgnored };
}
