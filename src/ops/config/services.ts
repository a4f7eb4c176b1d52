/**
 * One frozen, typed config per service, read from a process.env-like object. Names and defaults
 * follow ../shared/CONTRACT.md "Environment"; variables we do not know are ignored.
 */
import {
  EnvReader,
  boolField,
  deepFreeze,
  enumField,
  logLevelField,
  nameListField,
  numberField,
  portField,
  secretField,
  symbolListField,
  textField,
  urlField,
  type Env,
  type LogLevel,
} from './env.js';

export const APPLY_MODES = ['dry_run', 'testnet', 'live'] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

export const TESTNET_BASE_URL = 'https://testnet.binancefuture.com';
export const PRODUCTION_BASE_URL = 'https://fapi.binance.com';
export const LIVE_CONFIRM_PHRASE = 'yes-real-money';
const PRODUCTION_HOST = /^fapi\d*\.binance\.com$/i;

export interface RedisConfig {
  /** May hold a password: log it only through describeConfig(). */
  url: string;
  keyPrefix: string;
  cluster: boolean;
}

export interface BinanceConfig {
  baseUrl: string;
  /** Which pair of variables the credentials came from. */
  credentials: 'testnet' | 'live';
  apiKey: string | null;
  apiSecret: string | null;
}

export interface ApplyConfig {
  service: 'apply';
  redis: RedisConfig;
  logLevel: LogLevel;
  mode: ApplyMode;
  symbols: readonly string[];
  allowlist: readonly string[];
  pollSec: number;
  dedupeTtlSec: number;
  kBlockCritical: number;
  kBlockWarning: number;
  killSwitch: boolean;
  metricsPort: number;
  permitWaitMs: number;
  permitStepMs: number;
  requiredAuthorities: readonly string[];
  binance: BinanceConfig;
}

export interface GovernorConfig {
  service: 'governor';
  redis: RedisConfig;
  logLevel: LogLevel;
  /** APPLY_MODE, read only to choose credentials; limits apply in every mode. */
  mode: ApplyMode;
  maxExecPerHour: number;
  maxExecPer5Min: number;
  maxReduceNotionalPerDayUsd: number;
  maxReduceQtyPerDay: number;
  killScoreCritical: number;
  autoApprove: boolean;
  metricsPort: number;
  binance: BinanceConfig;
}

export interface P33Config {
  service: 'p33';
  redis: RedisConfig;
  logLevel: LogLevel;
  mode: ApplyMode;
  pollSec: number;
  staleThresholdSec: number;
  qtyTolerancePct: number;
  cooldownSec: number;
  permitTtlSec: number;
  allowlist: readonly string[];
  metricsPort: number;
  binance: BinanceConfig;
}

export interface PaperConfig {
  service: 'paper';
  logLevel: LogLevel;
  host: string;
  port: number;
  apiKey: string;
  apiSecret: string;
}

export type ServiceConfig = ApplyConfig | GovernorConfig | P33Config | PaperConfig;

const DEFAULT_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const DEFAULT_ALLOWLIST = ['BTCUSDT'];

function readRedis(r: EnvReader): RedisConfig {
  const keyPrefix = r.get('REDIS_KEY_PREFIX', textField(), '');
  const cluster = r.get('REDIS_CLUSTER', boolField(), false);
  if (r.isSet('REDIS_URL')) {
    return { url: r.get('REDIS_URL', urlField(['redis:', 'rediss:']), ''), keyPrefix, cluster };
  }
  const host = r.get('REDIS_HOST', textField(), '127.0.0.1').trim();
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) r.problem('REDIS_HOST', 'a host name or IP address');
  const port = r.get('REDIS_PORT', numberField({ int: true, min: 1, max: 65535 }), 6379);
  const db = r.get('REDIS_DB', numberField({ int: true, min: 0 }), 0);
  const h = host.includes(':') ? `[${host}]` : host;
  return { url: `redis://${h}:${port}${db ? `/${db}` : ''}`, keyPrefix, cluster };
}

function readLogLevel(r: EnvReader, serviceVar?: string): LogLevel {
  const common = r.get('LOG_LEVEL', logLevelField(), 'info');
  return serviceVar ? r.get(serviceVar, logLevelField(), common) : common;
}

function readMode(r: EnvReader): ApplyMode {
  return r.get('APPLY_MODE', enumField(APPLY_MODES), 'dry_run');
}

function isProduction(url: string): boolean {
  try {
    return PRODUCTION_HOST.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * Credentials by mode: live → BINANCE_API_KEY/SECRET; otherwise the testnet pair. Readers
 * (governor, P3.3) may fall back to the un-prefixed pair, as the fleet's P3.3 did; the apply
 * layer never does, so live keys cannot place orders outside live mode.
 */
function readBinance(r: EnvReader, mode: ApplyMode, fallbackToLiveKeys: boolean): BinanceConfig {
  const url = urlField(['https:', 'http:']);
  const baseUrl = r.get(
    'BINANCE_FUTURES_BASE_URL',
    url,
    mode === 'live' ? PRODUCTION_BASE_URL : TESTNET_BASE_URL,
  );
  const liveKey = r.get('BINANCE_API_KEY', secretField(), null);
  const liveSecret = r.get('BINANCE_API_SECRET', secretField(), null);
  if (mode === 'live') return { baseUrl, credentials: 'live', apiKey: liveKey, apiSecret: liveSecret };
  if (r.valid('BINANCE_FUTURES_BASE_URL') && isProduction(baseUrl)) {
    r.problem('BINANCE_FUTURES_BASE_URL', 'a test-trading URL unless APPLY_MODE=live');
  }
  let apiKey = r.get('BINANCE_TESTNET_API_KEY', secretField(), null);
  let apiSecret = r.get('BINANCE_TESTNET_API_SECRET', secretField(), null);
  if (fallbackToLiveKeys && apiKey === null && apiSecret === null) {
    apiKey = liveKey;
    apiSecret = liveSecret;
  }
  return { baseUrl, credentials: 'testnet', apiKey, apiSecret };
}

export function loadApplyConfig(env: Env = process.env): ApplyConfig {
  const r = new EnvReader(env);
  const redis = readRedis(r);
  const logLevel = readLogLevel(r, 'APPLY_LOG_LEVEL');
  const mode = readMode(r);
  const symbols = r.get('SYMBOLS', symbolListField({ nonEmpty: true }), DEFAULT_SYMBOLS);
  const allowlist = r.get('APPLY_ALLOWLIST', symbolListField({ nonEmpty: false }), DEFAULT_ALLOWLIST);
  const pollSec = r.get('APPLY_POLL_SEC', numberField({ gt: 0, max: 3600 }), 5);
  const dedupeTtlSec = r.get('APPLY_DEDUPE_TTL_SEC', numberField({ int: true, min: 1 }), 21600);
  const score = numberField({ min: 0, max: 1 });
  const kBlockCritical = r.get('K_BLOCK_CRITICAL', score, 0.8);
  const kBlockWarning = r.get('K_BLOCK_WARNING', score, 0.6);
  if (r.valid('K_BLOCK_CRITICAL', 'K_BLOCK_WARNING') && kBlockWarning > kBlockCritical) {
    r.problem(
      'K_BLOCK_WARNING',
      `a number <= K_BLOCK_CRITICAL (${kBlockCritical})`,
      r.isSet('K_BLOCK_WARNING') ? undefined : `(unset; default ${kBlockWarning})`,
    );
  }
  const killSwitch = r.get('APPLY_KILL_SWITCH', boolField(), false);
  const metricsPort = r.get('APPLY_METRICS_PORT', portField(), 8043);
  const permitWaitMs = r.get('APPLY_PERMIT_WAIT_MS', numberField({ int: true, min: 0, max: 60_000 }), 1200);
  const permitStepMs = r.get('APPLY_PERMIT_STEP_MS', numberField({ int: true, min: 1, max: 60_000 }), 100);
  const requiredAuthorities = r.get('APPLY_REQUIRED_AUTHORITIES', nameListField(), ['governor', 'p33']);
  const binance = readBinance(r, mode, false);
  if (mode === 'live') {
    if (r.raw('APPLY_LIVE_CONFIRM') !== LIVE_CONFIRM_PHRASE) {
      r.problem('APPLY_LIVE_CONFIRM', `exactly "${LIVE_CONFIRM_PHRASE}" when APPLY_MODE=live`);
    }
    if (binance.apiKey === null && r.valid('BINANCE_API_KEY'))
      r.problem('BINANCE_API_KEY', 'an API key when APPLY_MODE=live');
    if (binance.apiSecret === null && r.valid('BINANCE_API_SECRET'))
      r.problem('BINANCE_API_SECRET', 'an API secret when APPLY_MODE=live');
  }
  r.finish('apply');
  return deepFreeze({
    service: 'apply',
    redis,
    logLevel,
    mode,
    symbols,
    allowlist,
    pollSec,
    dedupeTtlSec,
    kBlockCritical,
    kBlockWarning,
    killSwitch,
    metricsPort,
    permitWaitMs,
    permitStepMs,
    requiredAuthorities,
    binance,
  });
}

export function loadGovernorConfig(env: Env = process.env): GovernorConfig {
  const r = new EnvReader(env);
  const redis = readRedis(r);
  const logLevel = readLogLevel(r);
  const mode = readMode(r);
  const count = numberField({ int: true, min: 0 });
  const amount = numberField({ min: 0 });
  const cfg: GovernorConfig = {
    service: 'governor',
    redis,
    logLevel,
    mode,
    maxExecPerHour: r.get('GOV_MAX_EXEC_PER_HOUR', count, 3),
    maxExecPer5Min: r.get('GOV_MAX_EXEC_PER_5MIN', count, 2),
    maxReduceNotionalPerDayUsd: r.get('GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD', amount, 5000),
    maxReduceQtyPerDay: r.get('GOV_MAX_REDUCE_QTY_PER_DAY', amount, 0.02),
    killScoreCritical: r.get('GOV_KILL_SCORE_CRITICAL', numberField({ min: 0, max: 1 }), 0.8),
    autoApprove: r.get('GOV_AUTO_APPROVE', boolField(), false),
    metricsPort: r.get('METRICS_PORT', portField(), 8044),
    binance: readBinance(r, mode, true),
  };
  r.finish('governor');
  return deepFreeze(cfg);
}

export function loadP33Config(env: Env = process.env): P33Config {
  const r = new EnvReader(env);
  const redis = readRedis(r);
  const logLevel = readLogLevel(r, 'P33_LOG_LEVEL');
  const mode = readMode(r);
  const seconds = numberField({ gt: 0, max: 86_400 });
  const applyAllow = r.get('APPLY_ALLOWLIST', symbolListField({ nonEmpty: false }), DEFAULT_ALLOWLIST);
  const cfg: P33Config = {
    service: 'p33',
    redis,
    logLevel,
    mode,
    pollSec: r.get('P33_POLL_SEC', seconds, 5),
    staleThresholdSec: r.get('P33_STALE_THRESHOLD_SEC', seconds, 10),
    // The contract gives no default; 1 (%) is the fleet's documented value.
    qtyTolerancePct: r.get('P33_QTY_TOLERANCE_PCT', numberField({ min: 0, max: 100 }), 1),
    cooldownSec: r.get('P33_COOLDOWN_SEC', numberField({ min: 0, max: 86_400 }), 15),
    permitTtlSec: r.get('P33_PERMIT_TTL', numberField({ int: true, min: 1, max: 86_400 }), 60),
    allowlist: r.get('P33_ALLOWLIST', symbolListField({ nonEmpty: false }), applyAllow),
    metricsPort: r.get('P33_METRICS_PORT', portField(), 8045),
    binance: readBinance(r, mode, true),
  };
  r.finish('p33');
  return deepFreeze(cfg);
}

export const PAPER_DEFAULT_API_KEY = 'paper-key';
export const PAPER_DEFAULT_API_SECRET = 'paper-secret';

export function loadPaperConfig(env: Env = process.env): PaperConfig {
  const r = new EnvReader(env);
  const cfg: PaperConfig = {
    service: 'paper',
    logLevel: readLogLevel(r),
    host: r.get('PAPER_EXCHANGE_HOST', textField(), '127.0.0.1').trim(),
    port: r.get('PAPER_EXCHANGE_PORT', portField(), 8090),
    apiKey: r.get('PAPER_EXCHANGE_API_KEY', secretField(), null) ?? PAPER_DEFAULT_API_KEY,
    apiSecret: r.get('PAPER_EXCHANGE_API_SECRET', secretField(), null) ?? PAPER_DEFAULT_API_SECRET,
  };
  r.finish('paper exchange');
  return deepFreeze(cfg);
}
