/**
 * Every variable the loaders read (a test keeps this list equal to what they actually read).
 * Variables with our prefixes that are not here are reported once at start-up, by name only,
 * so a typo such as APPLY_KILLSWITCH does not pass silently.
 */
import type { Env } from './env.js';

export const KNOWN_VARIABLES: ReadonlySet<string> = new Set([
  'LOG_LEVEL',
  'REDIS_URL',
  'REDIS_HOST',
  'REDIS_PORT',
  'REDIS_DB',
  'REDIS_KEY_PREFIX',
  'REDIS_CLUSTER',
  'BINANCE_FUTURES_BASE_URL',
  'BINANCE_API_KEY',
  'BINANCE_API_SECRET',
  'BINANCE_TESTNET_API_KEY',
  'BINANCE_TESTNET_API_SECRET',
  'APPLY_MODE',
  'APPLY_LOG_LEVEL',
  'SYMBOLS',
  'APPLY_ALLOWLIST',
  'APPLY_POLL_SEC',
  'APPLY_DEDUPE_TTL_SEC',
  'K_BLOCK_CRITICAL',
  'K_BLOCK_WARNING',
  'APPLY_KILL_SWITCH',
  'APPLY_METRICS_PORT',
  'APPLY_PERMIT_WAIT_MS',
  'APPLY_PERMIT_STEP_MS',
  'APPLY_LEASE_TTL_MS',
  'APPLY_MAX_IN_FLIGHT',
  'APPLY_REQUIRED_AUTHORITIES',
  'APPLY_LIVE_CONFIRM',
  'APPLY_REQUIRE_SIGNED_PERMITS',
  'APPLY_PERMIT_MAX_SKEW_SEC',
  'PERMIT_SECRET_GOVERNOR',
  'PERMIT_SECRET_GOVERNOR_PREVIOUS',
  'PERMIT_SECRET_P33',
  'PERMIT_SECRET_P33_PREVIOUS',
  'GOV_MAX_EXEC_PER_HOUR',
  'GOV_MAX_EXEC_PER_5MIN',
  'GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD',
  'GOV_MAX_REDUCE_QTY_PER_DAY',
  'GOV_KILL_SCORE_CRITICAL',
  'GOV_AUTO_APPROVE',
  'GOV_MAX_IN_FLIGHT',
  'METRICS_PORT',
  'P33_LOG_LEVEL',
  'P33_POLL_SEC',
  'P33_STALE_THRESHOLD_SEC',
  'P33_QTY_TOLERANCE_PCT',
  'P33_COOLDOWN_SEC',
  'P33_PERMIT_TTL',
  'P33_ALLOWLIST',
  'P33_METRICS_PORT',
  'P33_MAX_IN_FLIGHT',
  'PAPER_EXCHANGE_HOST',
  'PAPER_EXCHANGE_PORT',
  'PAPER_EXCHANGE_API_KEY',
  'PAPER_EXCHANGE_API_SECRET',
]);

const OUR_PREFIXES = /^(APPLY_|GOV_|P33_|PAPER_EXCHANGE_|BINANCE_|REDIS_|K_BLOCK_|PERMIT_)/;

/** Names (never values) of variables with our prefixes that no loader reads. */
export function ignoredVariables(env: Env): string[] {
  return Object.keys(env)
    .filter((k) => OUR_PREFIXES.test(k) && !KNOWN_VARIABLES.has(k))
    .sort();
}
