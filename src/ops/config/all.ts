/**
 * `quantum-apply all`'s config: the three services' own configs, each read as when run alone,
 * and the history recorder's when HISTORY_URL is set, with every problem reported at once.
 */
import { ConfigError, type Env, type LogLevel } from './env.js';
import type { LogFormat } from './common.js';
import { loadHistorySettingsIfSet, type HistorySettings } from './recorder.js';
import {
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  type ApplyConfig,
  type GovernorConfig,
  type P33Config,
} from './services.js';

export interface AllConfig {
  apply: ApplyConfig;
  governor: GovernorConfig;
  p33: P33Config;
  /** The history recorder's settings; null (no recorder) while HISTORY_URL is unset. */
  history: HistorySettings | null;
  logLevel: LogLevel;
  logFormat: LogFormat;
  metricsPort: number;
  metricsHost: string | null;
}

/**
 * APPLY_MAX_IN_FLIGHT when unset under `all`. The three services share one thread here, so past
 * ~16 plans in flight more mostly queue inside the process: more memory, little more throughput.
 * The figures behind the choice: BENCHMARKS.md, "Memory of `all`". The single apply service
 * keeps 64.
 */
export const ALL_MAX_IN_FLIGHT = 16;

/** Loads the three configs and reports every problem of all three at once. */
export function loadAllConfig(env: Env): AllConfig {
  const problems: ConfigError['problems'][number][] = [];
  const attempt = <C>(load: (e: Env) => C): C | null => {
    try {
      return load(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) {
        if (!problems.some((q) => q.variable === p.variable)) problems.push(p);
      }
      return null;
    }
  };
  const apply = attempt(loadApplyConfig);
  const governor = attempt(loadGovernorConfig);
  const p33 = attempt(loadP33Config);
  const history = attempt((e) => ({ settings: loadHistorySettingsIfSet(e, 'all') }));
  if (!apply || !governor || !p33 || !history) throw new ConfigError('all', problems);
  const applyHere =
    env.APPLY_MAX_IN_FLIGHT === undefined
      ? Object.freeze({ ...apply, maxInFlight: ALL_MAX_IN_FLIGHT })
      : apply;
  return {
    apply: applyHere,
    governor,
    p33,
    history: history.settings,
    logLevel: apply.logLevel,
    logFormat: apply.logFormat,
    metricsPort: apply.metricsPort,
    metricsHost: apply.metricsHost,
  };
}
