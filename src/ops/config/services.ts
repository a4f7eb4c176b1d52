/**
 * One frozen, typed config per service, read from a process.env-like object. Names and defaults
 * follow the fleet's (README.md "Configuration"); variables we do not know are ignored.
 */
import {
  DEFAULT_ALLOWLIST,
  DEFAULT_SYMBOLS,
  LIVE_CONFIRM_PHRASE,
  readBinance,
  readLogFormat,
  readLogLevel,
  readMode,
  readRedis,
  type ApplyMode,
  type BinanceConfig,
  type LogFormat,
  type RedisConfig,
} from './common.js';
import { readUserStream, type UserStreamConfig } from './user-stream.js';
import {
  EnvReader,
  boolField,
  deepFreeze,
  nameListField,
  numberField,
  portField,
  secretField,
  symbolListField,
  textField,
  type Env,
  type LogLevel,
} from './env.js';

import {
  readP33PermitTtl,
  readSignedPermits,
  readSigningSecret,
  type SignedPermitsConfig,
} from './signing.js';

import { readPlanSigningSecret, readSignedPlans, type SignedPlansConfig } from './plan-signing.js';
import { checkFleetStreams, readAutoDisarm, type AutoDisarmConfig } from './fleet-governor.js';
import { readMetricsHost } from './metrics-host.js';
import { readCanary, type CanaryConfig } from './canary.js';
import type { GovernorLimits } from '../../domain/governor/gates.js';

/** The Binance pair and the user stream beside it (its defaults follow the REST host). */
function readBinanceWithStream(
  r: EnvReader,
  mode: ApplyMode,
): { binance: BinanceConfig; userStream: UserStreamConfig } {
  const binance = readBinance(r, mode);
  return { binance, userStream: readUserStream(r, mode, binance.baseUrl) };
}

export type { PermitSecrets, SignedPermitsConfig } from './signing.js';
export type { SignedPlansConfig } from './plan-signing.js';
export type { AutoDisarmConfig, FleetApplyDisarmConfig } from './fleet-governor.js';
export { APPLY_MODES, LIVE_CONFIRM_PHRASE, PRODUCTION_BASE_URL, TESTNET_BASE_URL } from './common.js';
export type { ApplyMode, BinanceConfig, LogFormat, RedisConfig } from './common.js';

/**
 * APPLY_MAX_PROPOSAL_AGE_SEC's default. The fleet's exit brain writes a proposal anew (a new
 * computed_at_utc) at least every MAX_PUBLISH_AGE_SEC (60) while it stands, checked every
 * PUBLISH_INTERVAL_SEC (10): a live proposal is at most ~70 s old. Five minutes leaves room for
 * clock differences and a slow cycle, and is far below the 6 h dedupe TTL.
 */
export const DEFAULT_MAX_PROPOSAL_AGE_SEC = 300;

/**
 * The governor's limits when their variables are unset (the fleet's defaults). The one statement
 * of them: the loader below reads with these, and tests build their limits from them.
 */
export const DEFAULT_GOVERNOR_LIMITS: Readonly<GovernorLimits> = Object.freeze({
  maxExecPerHour: 3,
  maxExecPer5Min: 2,
  maxReduceNotionalPerDayUsd: 5000,
  maxReduceQtyPerDay: 0.02,
  killScoreCritical: 0.8,
});

/** Work items a service holds at once (APPLY_/GOV_/P33_MAX_IN_FLIGHT). */
const inFlightField = numberField({ int: true, min: 1, max: 100_000 });

export interface ApplyConfig {
  service: 'apply';
  redis: RedisConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
  mode: ApplyMode;
  symbols: readonly string[];
  allowlist: readonly string[];
  pollSec: number;
  dedupeTtlSec: number;
  /** APPLY_MAX_PROPOSAL_AGE_SEC: a proposal whose computed_at_utc is older never executes. */
  maxProposalAgeSec: number;
  kBlockCritical: number;
  kBlockWarning: number;
  killSwitch: boolean;
  metricsPort: number;
  /** METRICS_HOST: the ops server's listen address; null: the default (all interfaces). */
  metricsHost: string | null;
  permitWaitMs: number;
  permitStepMs: number;
  /** APPLY_LEASE_TTL_MS: symbol lease TTL for apply replicas (0: no leases, a single process). */
  leaseTtlMs: number;
  /**
   * APPLY_INTENT_WAIT_REPLICAS: replicas that must hold the order intent before the order
   * leaves (Redis WAIT); 0: none asked. APPLY_INTENT_WAIT_MS: how long to wait for them.
   */
  intentWaitReplicas: number;
  intentWaitMs: number;
  /** APPLY_MAX_IN_FLIGHT: plans handled at once over all symbols; past it, intake waits. */
  maxInFlight: number;
  /**
   * APPLY_FAILOVER_LOOKBACK_SEC: how far back the failover reconciliation asks the exchange for
   * our orders and checks what Redis holds of them; 0: no reconciliation.
   */
  failoverLookbackSec: number;
  requiredAuthorities: readonly string[];
  signedPermits: SignedPermitsConfig;
  /** PLAN_SECRET_APPLY: plan entries are signed when set. */
  planSecret: string | null;
  /** APPLY_CANARY_*: the canary rate limit, enforced by apply on every request and by the `canary` command. */
  canary: CanaryConfig;
  binance: BinanceConfig;
  /** BINANCE_USER_STREAM, BINANCE_FUTURES_WS_URL, BINANCE_USER_STREAM_SILENCE_SEC. */
  userStream: UserStreamConfig;
}

export interface GovernorConfig {
  service: 'governor';
  redis: RedisConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** APPLY_MODE, read only to choose credentials; limits apply in every mode. */
  mode: ApplyMode;
  maxExecPerHour: number;
  maxExecPer5Min: number;
  maxReduceNotionalPerDayUsd: number;
  maxReduceQtyPerDay: number;
  killScoreCritical: number;
  autoApprove: boolean;
  /** GOV_ENABLE_AUTO_DISARM, GOV_DISARM_ON_BURST_BREACH, GOV_DISARM_ON_ERROR_COUNT (the fleet's). */
  autoDisarm: AutoDisarmConfig;
  /** GOV_MAX_IN_FLIGHT: plan entries handled at once (read ahead of a slow batch); past it, reading waits. */
  maxInFlight: number;
  metricsPort: number;
  /** METRICS_HOST: the ops server's listen address; null: the default (all interfaces). */
  metricsHost: string | null;
  /** PERMIT_SECRET_GOVERNOR: permits are signed when set. */
  permitSecret: string | null;
  /** GOV_REQUIRE_SIGNED_PLANS, PLAN_SECRET_APPLY (+ _PREVIOUS): plan entries verified. */
  signedPlans: SignedPlansConfig;
  binance: BinanceConfig;
  /** BINANCE_USER_STREAM, BINANCE_FUTURES_WS_URL, BINANCE_USER_STREAM_SILENCE_SEC. */
  userStream: UserStreamConfig;
}

export interface P33Config {
  service: 'p33';
  redis: RedisConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
  mode: ApplyMode;
  pollSec: number;
  staleThresholdSec: number;
  qtyTolerancePct: number;
  cooldownSec: number;
  permitTtlSec: number;
  allowlist: readonly string[];
  /** P33_MAX_IN_FLIGHT: plan entries handled at once (read ahead of a slow batch); past it, reading waits. */
  maxInFlight: number;
  metricsPort: number;
  /** METRICS_HOST: the ops server's listen address; null: the default (all interfaces). */
  metricsHost: string | null;
  /** PERMIT_SECRET_P33: permits (allow and deny) are signed when set. */
  permitSecret: string | null;
  /** P33_REQUIRE_SIGNED_PLANS, PLAN_SECRET_APPLY (+ _PREVIOUS): plan entries verified. */
  signedPlans: SignedPlansConfig;
  binance: BinanceConfig;
  /** BINANCE_USER_STREAM, BINANCE_FUTURES_WS_URL, BINANCE_USER_STREAM_SILENCE_SEC. */
  userStream: UserStreamConfig;
}

export interface PaperConfig {
  service: 'paper';
  logLevel: LogLevel;
  logFormat: LogFormat;
  host: string;
  port: number;
  apiKey: string;
  apiSecret: string;
}

export type ServiceConfig = ApplyConfig | GovernorConfig | P33Config | PaperConfig;

export function loadApplyConfig(env: Env = process.env): ApplyConfig {
  const r = new EnvReader(env);
  const redis = readRedis(r);
  const logLevel = readLogLevel(r, 'APPLY_LOG_LEVEL');
  const logFormat = readLogFormat(r);
  const mode = readMode(r);
  const symbols = r.get('SYMBOLS', symbolListField({ nonEmpty: true }), DEFAULT_SYMBOLS);
  const allowlist = r.get('APPLY_ALLOWLIST', symbolListField({ nonEmpty: false }), DEFAULT_ALLOWLIST);
  const pollSec = r.get('APPLY_POLL_SEC', numberField({ gt: 0, max: 3600 }), 5);
  const dedupeTtlSec = r.get('APPLY_DEDUPE_TTL_SEC', numberField({ int: true, min: 1 }), 21600);
  const maxProposalAgeSec = r.get(
    'APPLY_MAX_PROPOSAL_AGE_SEC',
    numberField({ gt: 0, max: 86_400 }),
    DEFAULT_MAX_PROPOSAL_AGE_SEC,
  );
  // A proposal must go stale before its dedupe key can expire: then no unchanged proposal left
  // in Redis can be decided EXECUTE a second time, whatever the exchange lookup says.
  if (r.valid('APPLY_MAX_PROPOSAL_AGE_SEC', 'APPLY_DEDUPE_TTL_SEC') && maxProposalAgeSec >= dedupeTtlSec) {
    r.problem(
      'APPLY_MAX_PROPOSAL_AGE_SEC',
      `a number of seconds below APPLY_DEDUPE_TTL_SEC (${dedupeTtlSec})`,
      r.isSet('APPLY_MAX_PROPOSAL_AGE_SEC') ? undefined : `(unset; default ${maxProposalAgeSec})`,
    );
  }
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
  const metricsHost = readMetricsHost(r);
  const permitWaitMs = r.get('APPLY_PERMIT_WAIT_MS', numberField({ int: true, min: 0, max: 60_000 }), 1200);
  const permitStepMs = r.get('APPLY_PERMIT_STEP_MS', numberField({ int: true, min: 1, max: 60_000 }), 100);
  const leaseTtlMs = r.get('APPLY_LEASE_TTL_MS', numberField({ int: true, min: 0, max: 600_000 }), 5000);
  const intentWaitReplicas = r.get(
    'APPLY_INTENT_WAIT_REPLICAS',
    numberField({ int: true, min: 0, max: 16 }),
    0,
  );
  const intentWaitMs = r.get('APPLY_INTENT_WAIT_MS', numberField({ int: true, min: 1, max: 5000 }), 100);
  const maxInFlight = r.get('APPLY_MAX_IN_FLIGHT', inFlightField, 64);
  // At most 30 min: well inside the consume receipt's 3600 s TTL, so a receipt missing from the
  // window was lost, not expired; and inside the intents' and markers' APPLY_DEDUPE_TTL_SEC.
  const failoverLookbackSec = r.get(
    'APPLY_FAILOVER_LOOKBACK_SEC',
    numberField({ int: true, min: 0, max: 1800 }),
    300,
  );
  if (r.valid('APPLY_FAILOVER_LOOKBACK_SEC', 'APPLY_DEDUPE_TTL_SEC') && failoverLookbackSec > dedupeTtlSec) {
    r.problem(
      'APPLY_FAILOVER_LOOKBACK_SEC',
      `at most APPLY_DEDUPE_TTL_SEC (${dedupeTtlSec}), which the intents and result markers it checks live for`,
    );
  }
  const requiredAuthorities = r.get('APPLY_REQUIRED_AUTHORITIES', nameListField(), ['governor', 'p33']);
  const signedPermits = readSignedPermits(r, requiredAuthorities);
  const planSecret = readPlanSigningSecret(r, [
    'PERMIT_SECRET_GOVERNOR',
    'PERMIT_SECRET_GOVERNOR_PREVIOUS',
    'PERMIT_SECRET_P33',
    'PERMIT_SECRET_P33_PREVIOUS',
  ]);
  const canary = readCanary(r);
  const binance = readBinance(r, mode);
  const userStream = readUserStream(r, mode, binance.baseUrl);
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
    logFormat,
    mode,
    symbols,
    allowlist,
    pollSec,
    dedupeTtlSec,
    maxProposalAgeSec,
    kBlockCritical,
    kBlockWarning,
    killSwitch,
    metricsPort,
    metricsHost,
    permitWaitMs,
    permitStepMs,
    leaseTtlMs,
    intentWaitReplicas,
    intentWaitMs,
    maxInFlight,
    failoverLookbackSec,
    requiredAuthorities,
    signedPermits,
    planSecret,
    canary,
    binance,
    userStream,
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
    logFormat: readLogFormat(r),
    mode,
    maxExecPerHour: r.get('GOV_MAX_EXEC_PER_HOUR', count, DEFAULT_GOVERNOR_LIMITS.maxExecPerHour),
    maxExecPer5Min: r.get('GOV_MAX_EXEC_PER_5MIN', count, DEFAULT_GOVERNOR_LIMITS.maxExecPer5Min),
    maxReduceNotionalPerDayUsd: r.get(
      'GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD',
      amount,
      DEFAULT_GOVERNOR_LIMITS.maxReduceNotionalPerDayUsd,
    ),
    maxReduceQtyPerDay: r.get(
      'GOV_MAX_REDUCE_QTY_PER_DAY',
      amount,
      DEFAULT_GOVERNOR_LIMITS.maxReduceQtyPerDay,
    ),
    killScoreCritical: r.get(
      'GOV_KILL_SCORE_CRITICAL',
      numberField({ min: 0, max: 1 }),
      DEFAULT_GOVERNOR_LIMITS.killScoreCritical,
    ),
    autoApprove: r.get('GOV_AUTO_APPROVE', boolField(), false),
    autoDisarm: readAutoDisarm(r),
    maxInFlight: r.get('GOV_MAX_IN_FLIGHT', inFlightField, 256),
    metricsPort: r.get('METRICS_PORT', portField(), 8044),
    metricsHost: readMetricsHost(r),
    permitSecret: readSigningSecret(r, 'governor'),
    signedPlans: readSignedPlans(r, 'GOV_REQUIRE_SIGNED_PLANS', ['PERMIT_SECRET_GOVERNOR']),
    ...readBinanceWithStream(r, mode),
  };
  checkFleetStreams(r, redis.keyPrefix);
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
    logFormat: readLogFormat(r),
    mode,
    pollSec: r.get('P33_POLL_SEC', seconds, 5),
    staleThresholdSec: r.get('P33_STALE_THRESHOLD_SEC', seconds, 10),
    // The contract gives no default; 1 (%) is the fleet's documented value. The fleet accepts any
    // number: above 100 the quantity check passes any ledger (configWarnings says so).
    qtyTolerancePct: r.get('P33_QTY_TOLERANCE_PCT', numberField({ min: 0 }), 1),
    cooldownSec: r.get('P33_COOLDOWN_SEC', numberField({ min: 0, max: 86_400 }), 15),
    permitTtlSec: readP33PermitTtl(r),
    allowlist: r.get('P33_ALLOWLIST', symbolListField({ nonEmpty: false }), applyAllow),
    maxInFlight: r.get('P33_MAX_IN_FLIGHT', inFlightField, 256),
    metricsPort: r.get('P33_METRICS_PORT', portField(), 8045),
    metricsHost: readMetricsHost(r),
    permitSecret: readSigningSecret(r, 'p33'),
    signedPlans: readSignedPlans(r, 'P33_REQUIRE_SIGNED_PLANS', ['PERMIT_SECRET_P33']),
    ...readBinanceWithStream(r, mode),
  };
  r.finish('p33');
  return deepFreeze(cfg);
}

export interface ConfigWarning {
  variable: string;
  message: string;
}

/**
 * Values accepted, as the fleet accepts them, that an operator must hear about at start: found
 * in a service's config or in any config nested one level down (`all`).
 */
export function configWarnings(cfg: unknown): ConfigWarning[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (!isObject(cfg)) return [];
  const out: ConfigWarning[] = [];
  for (const c of [cfg, ...Object.values(cfg)]) {
    if (!isObject(c)) continue;
    if (c.service === 'p33' && typeof c.qtyTolerancePct === 'number' && c.qtyTolerancePct > 100)
      out.push({
        variable: 'P33_QTY_TOLERANCE_PCT',
        message: `P33_QTY_TOLERANCE_PCT=${c.qtyTolerancePct}: above 100 the quantity check passes every ledger amount from 0 to ${1 + c.qtyTolerancePct / 100} times the exchange's, so it is effectively off (accepted, as the fleet accepts it)`,
      });
    const ignored = isObject(c.binance) ? c.binance.liveKeysIgnored : undefined;
    for (const variable of Array.isArray(ignored) ? (ignored as string[]) : []) {
      // `all` holds three configs reading the same variables: one warning each.
      if (out.some((w) => w.variable === variable)) continue;
      out.push({
        variable,
        message: `${variable} is set but APPLY_MODE=${String(c.mode)}: ignored and never sent anywhere (outside live mode only BINANCE_TESTNET_API_KEY/_SECRET are read)`,
      });
    }
  }
  return out;
}

export const PAPER_DEFAULT_API_KEY = 'paper-key';
export const PAPER_DEFAULT_API_SECRET = 'paper-secret';

export function loadPaperConfig(env: Env = process.env): PaperConfig {
  const r = new EnvReader(env);
  const cfg: PaperConfig = {
    service: 'paper',
    logLevel: readLogLevel(r),
    logFormat: readLogFormat(r),
    host: r.get('PAPER_EXCHANGE_HOST', textField(), '127.0.0.1').trim(),
    port: r.get('PAPER_EXCHANGE_PORT', portField(), 8090),
    apiKey: r.get('PAPER_EXCHANGE_API_KEY', secretField(), null) ?? PAPER_DEFAULT_API_KEY,
    apiSecret: r.get('PAPER_EXCHANGE_API_SECRET', secretField(), null) ?? PAPER_DEFAULT_API_SECRET,
  };
  r.finish('paper exchange');
  return deepFreeze(cfg);
}
