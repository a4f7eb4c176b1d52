/**
 * `quantum-apply recorder`'s config (and the recorder's settings inside `all` and the demo):
 * the history database, how long it keeps rows, how many entries a batch takes.
 */
import { readHistoryUrl } from './history-url.js';
import { readLogFormat, readLogLevel, readRedis, type LogFormat, type RedisConfig } from './common.js';
import { deepFreeze, EnvReader, numberField, portField, type Env, type LogLevel } from './env.js';
import { readMetricsHost } from './metrics-host.js';

export interface HistorySettings {
  /** HISTORY_URL: `sqlite:<path>` or `postgres://…`. */
  url: string;
  /** HISTORY_RETENTION_DAYS: rows older than this are pruned; 0 keeps every row. */
  retentionDays: number;
  /** HISTORY_BATCH: stream entries read per stream per round, written in one transaction. */
  batch: number;
}

export interface RecorderConfig {
  service: 'recorder';
  redis: RedisConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
  history: HistorySettings;
  metricsPort: number;
  metricsHost: string | null;
}

export const DEFAULT_HISTORY_BATCH = 500;

/** The recorder's settings; `url` defaults to the SQLite file (HISTORY_URL's default). */
export function readHistorySettings(r: EnvReader): HistorySettings {
  return {
    url: readHistoryUrl(r),
    retentionDays: r.get('HISTORY_RETENTION_DAYS', numberField({ min: 0, max: 36_500 }), 0),
    batch: r.get('HISTORY_BATCH', numberField({ int: true, min: 1, max: 5_000 }), DEFAULT_HISTORY_BATCH),
  };
}

export function loadRecorderConfig(env: Env = process.env): RecorderConfig {
  const r = new EnvReader(env);
  const cfg: RecorderConfig = {
    service: 'recorder',
    redis: readRedis(r),
    logLevel: readLogLevel(r, 'HISTORY_LOG_LEVEL'),
    logFormat: readLogFormat(r),
    history: readHistorySettings(r),
    metricsPort: r.get('HISTORY_METRICS_PORT', portField(), 8046),
    metricsHost: readMetricsHost(r),
  };
  r.finish('recorder');
  return deepFreeze(cfg);
}

/**
 * The recorder's settings under `all` and the demo: null while HISTORY_URL is unset (`all`
 * records nothing then, rather than write a database file where it happens to run).
 */
export function loadHistorySettingsIfSet(env: Env, service: string): HistorySettings | null {
  if (env.HISTORY_URL === undefined) return null;
  const r = new EnvReader(env);
  const settings = readHistorySettings(r);
  r.finish(service);
  return deepFreeze(settings);
}
