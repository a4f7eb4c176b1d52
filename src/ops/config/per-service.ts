/**
 * Each service command's config loader, under the name the CLI gives the service, and the
 * variables each one reads, found by running its loader: help text and the known-variables check
 * use this one list, so neither can drift from what the loaders read.
 */
import { loadAllConfig } from './all.js';
import { LIVE_CONFIRM_PHRASE } from './common.js';
import type { Env } from './env.js';
import { loadRecorderConfig } from './recorder.js';
import { loadApplyConfig, loadGovernorConfig, loadP33Config, loadPaperConfig } from './services.js';

export const SERVICE_CONFIGS = {
  apply: loadApplyConfig,
  governor: loadGovernorConfig,
  'position-brain': loadP33Config,
  'paper-exchange': loadPaperConfig,
  all: loadAllConfig,
  recorder: loadRecorderConfig,
} as const satisfies Record<string, (env: Env) => object>;

export type ServiceName = keyof typeof SERVICE_CONFIGS;

export const SERVICE_NAMES = Object.keys(SERVICE_CONFIGS) as ServiceName[];

/** Other names a service answers to: the fleet's `p33`, and the shorter `paper`. */
export const SERVICE_ALIASES: Readonly<Record<string, ServiceName>> = {
  p33: 'position-brain',
  paper: 'paper-exchange',
};

/** The service a name or alias stands for, or null. */
export function serviceNamed(name: string): ServiceName | null {
  if (Object.hasOwn(SERVICE_CONFIGS, name)) return name as ServiceName;
  return SERVICE_ALIASES[name] ?? null;
}

/** An env that records every name looked up in it. */
export function recordingEnv(base: Env, seen: Set<string>): Env {
  return new Proxy(base, {
    get(target, prop) {
      if (typeof prop === 'string') seen.add(prop);
      return (target as Record<string, string | undefined>)[prop as string];
    },
  });
}

/**
 * One env per mode: each mode reads variables of its own (the live pair, the confirmation); and
 * Sentinel's, whose master is named by REDIS_SENTINEL_NAME and whose sentinels have their own login.
 */
const ENV_PER_MODE: readonly Env[] = [
  {},
  { APPLY_MODE: 'testnet' },
  {
    APPLY_MODE: 'live',
    APPLY_LIVE_CONFIRM: LIVE_CONFIRM_PHRASE,
    BINANCE_API_KEY: 'k',
    BINANCE_API_SECRET: 's',
  },
  { REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'master' },
];

/** Every variable a loader reads in some mode, sorted. */
export function variablesReadBy(load: (env: Env) => unknown): string[] {
  const seen = new Set<string>();
  for (const env of ENV_PER_MODE) load(recordingEnv(env, seen));
  return [...seen].sort();
}
