/**
 * What `explain` and `status` read from the environment: the apply layer's own variables
 * (same names, defaults and parsers as src/ops/config), without the checks that only matter to
 * a process that sends orders (live confirmation, credentials), so an operator can inspect any box.
 */
import {
  DEFAULT_ALLOWLIST,
  DEFAULT_SYMBOLS,
  readBinance,
  readMode,
  readRedis,
} from '../ops/config/common.js';
import {
  EnvReader,
  boolField,
  deepFreeze,
  nameListField,
  numberField,
  redactUrl,
  symbolListField,
  type Env,
} from '../ops/config/env.js';
import type { ApplyMode, RedisConfig } from '../ops/config.js';
import { openStoreFor } from '../store/index.js';
import type { Store } from '../store/port.js';

export interface InspectConfig {
  redis: RedisConfig;
  mode: ApplyMode;
  /** Exchange REST base URL (never a credential). */
  baseUrl: string;
  symbols: readonly string[];
  allowlist: readonly string[];
  requiredAuthorities: readonly string[];
  permitWaitMs: number;
  dedupeTtlSec: number;
  killSwitch: boolean;
}

export function loadInspectConfig(env: Env): InspectConfig {
  const r = new EnvReader(env);
  const redis = readRedis(r);
  const mode = readMode(r);
  const cfg: InspectConfig = {
    redis,
    mode,
    baseUrl: readBinance(r, mode).baseUrl,
    symbols: r.get('SYMBOLS', symbolListField({ nonEmpty: true }), DEFAULT_SYMBOLS),
    allowlist: r.get('APPLY_ALLOWLIST', symbolListField({ nonEmpty: false }), DEFAULT_ALLOWLIST),
    requiredAuthorities: r.get('APPLY_REQUIRED_AUTHORITIES', nameListField(), ['governor', 'p33']),
    permitWaitMs: r.get('APPLY_PERMIT_WAIT_MS', numberField({ int: true, min: 0, max: 60_000 }), 1200),
    dedupeTtlSec: r.get('APPLY_DEDUPE_TTL_SEC', numberField({ int: true, min: 1 }), 21600),
    killSwitch: r.get('APPLY_KILL_SWITCH', boolField(), false),
  };
  r.finish('inspect');
  return deepFreeze(cfg);
}

/** The Redis URL as it may be printed (password hidden). */
export function shownRedisUrl(cfg: InspectConfig): string {
  return redactUrl(cfg.redis.url);
}

/** Opens the store the services use; a short command timeout so a dead Redis fails fast. */
export function openInspectStore(cfg: InspectConfig): Promise<Store> {
  return openStoreFor(cfg.redis, { commandTimeout: 5000 });
}

/** Every symbol worth a look: SYMBOLS, then allowlisted ones not in it. */
export function inspectSymbols(cfg: InspectConfig): string[] {
  return [...new Set([...cfg.symbols, ...cfg.allowlist])];
}
