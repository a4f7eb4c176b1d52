/**
 * What the service commands share: the context (context.ts, re-exported here) and
 * runService(), the lifecycle of a long-running service: config → logger → ops server → start
 * (retried while Redis cannot be reached) → wait for SIGTERM/SIGINT → graceful stop → flush →
 * exit code.
 */
import type { Registry } from 'prom-client';
import { backoffMs } from '../ops/backoff.js';
import { ConfigError, configWarnings, describeConfig, ignoredVariables, type Env } from '../ops/config.js';
import { createLogger, flushLogger, type Logger } from '../ops/logger.js';
import { createRegistry } from '../ops/metrics.js';
import { startOpsServer, type Health, type OpsServer } from '../ops/http.js';
import { isConnectionError } from '../services/plan-consumer.js';

import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, type CliContext } from './context.js';

export {
  createContext,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_OK,
  waitForSignal,
  type CliContext,
  type CliIo,
} from './context.js';

/** Loads a config, or prints the ConfigError on stderr, sets ctx.exitCode to 2 and returns null. */
export function loadOrReport<C>(ctx: CliContext, name: string, load: (env: Env) => C): C | null {
  try {
    return load(ctx.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.err(`quantum-apply ${name}: ${err.message}\n`);
      ctx.exitCode = EXIT_CONFIG;
      return null;
    }
    throw err;
  }
}

export interface ServiceKit {
  logger: Logger;
  registry: Registry;
  env: Env;
  /** Ask for a graceful stop from inside (e.g. an unrecoverable error); the exit code becomes 1. */
  requestStop(reason: string): void;
}

export interface StartedService {
  /** Take no new work, finish in-flight work, close connections. */
  stop(): Promise<void>;
  health?(): Health | Promise<Health>;
}

export interface RunServiceOptions<C> {
  /** The ops server port (null: no server). Default: the config's `metricsPort`. */
  opsPort?: (cfg: C) => number | null;
  stopTimeoutMs?: number;
  processMetrics?: boolean;
  /** Backoff between start attempts while Redis cannot be reached (doubling from min to max). */
  startRetryMinMs?: number;
  startRetryMaxMs?: number;
}

/**
 * A service whose Redis is down at boot waits for it instead of exiting: systemd gives up on a
 * unit that keeps failing (StartLimitBurst) and would leave it failed after Redis came back.
 */
export const START_RETRY_MIN_MS = 500;
export const START_RETRY_MAX_MS = 15_000;

function defaultOpsPort(cfg: unknown): number | null {
  const port = (cfg as { metricsPort?: unknown }).metricsPort;
  return typeof port === 'number' ? port : null;
}

/** The config's `metricsHost` (METRICS_HOST), null when unset. */
function configuredOpsHost(cfg: unknown): string | null {
  const host = (cfg as { metricsHost?: unknown }).metricsHost;
  return typeof host === 'string' ? host : null;
}

function timeout(ms: number): { promise: Promise<'timeout'>; cancel(): void } {
  let t: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((resolve) => {
    t = setTimeout(() => resolve('timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(t) };
}

export async function runService<C extends { logLevel: string; logFormat?: 'json' | 'pretty' }>(
  ctx: CliContext,
  name: string,
  loadConfig: (env: Env) => C,
  start: (cfg: C, kit: ServiceKit) => Promise<StartedService>,
  opts: RunServiceOptions<C> = {},
): Promise<number> {
  const cfg = loadOrReport(ctx, name, loadConfig);
  if (cfg === null) return EXIT_CONFIG;
  const logger = createLogger({
    service: name,
    level: cfg.logLevel,
    format: cfg.logFormat,
    destination: ctx.logDestination,
  });
  const processMetrics = opts.processMetrics ?? true;
  // A fresh registry per start attempt: a failed attempt leaves metrics registered behind it.
  let registry = createRegistry({ processMetrics });
  const scraped = {
    get contentType() {
      return registry.contentType;
    },
    metrics: () => registry.metrics(),
  };
  let state: 'starting' | 'waiting_for_redis' | 'running' | 'stopping' = 'starting';
  let startError: string | null = null;
  let service: StartedService | null = null;
  let internalStop: ((reason: string) => void) | null = null;
  const stopRequested = new Promise<string>((resolve) => (internalStop = resolve));
  let exitCode = EXIT_OK;
  const kit: ServiceKit = {
    logger,
    get registry() {
      return registry;
    },
    env: ctx.env,
    requestStop: (reason) => {
      exitCode = EXIT_FAILURE;
      internalStop?.(reason);
    },
  };
  const health = async (): Promise<Health> => {
    if (state === 'waiting_for_redis')
      return { ok: false, detail: { state, reasons: ['redis_unreachable'], why: [startError] } };
    if (state !== 'running' || service === null) return { ok: false, detail: { state } };
    return service.health ? service.health() : { ok: true, detail: { state } };
  };

  logger.info({ config: describeConfig(cfg) }, `${name} starting`);
  const ignored = ignoredVariables(ctx.env);
  if (ignored.length > 0) logger.warn({ ignored }, 'environment variables not read by quantum-apply');
  for (const w of configWarnings(cfg)) logger.warn({ variable: w.variable }, w.message);
  const onRejection = (err: unknown) => {
    logger.fatal({ err }, `${name} unhandled rejection; stopping`);
    kit.requestStop('unhandled_rejection');
  };
  if (ctx.handleProcessErrors) process.on('unhandledRejection', onRejection);
  // Listen before starting, so a signal during start-up stops the service once it is up.
  const listening = new AbortController();
  const stopSignal = ctx.waitForStop(listening.signal);
  const stopping = Promise.race([stopSignal, stopRequested]);
  let server: OpsServer | null = null;
  try {
    try {
      const port = (opts.opsPort ?? defaultOpsPort)(cfg);
      if (port !== null)
        server = await startOpsServer({
          port,
          host: configuredOpsHost(cfg) ?? ctx.opsHost,
          registry: scraped,
          health,
        });
      for (let attempt = 1; service === null; attempt++) {
        try {
          service = await start(cfg, kit);
        } catch (err) {
          if (!isConnectionError(err)) throw err;
          registry = createRegistry({ processMetrics });
          startError = err instanceof Error ? err.message : String(err);
          state = 'waiting_for_redis';
          const delayMs = backoffMs(attempt - 1, {
            minMs: opts.startRetryMinMs ?? START_RETRY_MIN_MS,
            maxMs: opts.startRetryMaxMs ?? START_RETRY_MAX_MS,
          });
          logger.warn(
            { attempt, retry_in_ms: delayMs, err: startError },
            `${name} waiting for Redis (${startError}); retry in ${delayMs} ms`,
          );
          const wait = timeout(delayMs);
          const outcome = await Promise.race([wait.promise, stopping]);
          wait.cancel();
          if (outcome !== 'timeout') {
            logger.info({ reason: outcome }, `${name} stopped while waiting for Redis`);
            await server?.close();
            await flushLogger(logger);
            return exitCode;
          }
        }
      }
    } catch (err) {
      logger.fatal({ err }, `${name} failed to start`);
      await server?.close();
      await flushLogger(logger);
      ctx.err(
        `quantum-apply ${name}: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      return EXIT_FAILURE;
    }
    state = 'running';
    logger.info({ opsPort: server?.port ?? null }, `${name} started`);

    const reason = await stopping;
    state = 'stopping';
    logger.info({ reason }, `${name} stopping`);
    if (!(await stopWithin(service, opts.stopTimeoutMs ?? 15_000, logger, name))) exitCode = EXIT_FAILURE;
    await server?.close();
    logger.info({ exitCode }, `${name} stopped`);
    await flushLogger(logger);
    return exitCode;
  } finally {
    listening.abort();
    process.off('unhandledRejection', onRejection);
  }
}

/** Runs stop(); false when it failed or did not finish in time. */
async function stopWithin(
  service: StartedService,
  ms: number,
  logger: Logger,
  name: string,
): Promise<boolean> {
  const limit = timeout(ms);
  try {
    const outcome = await Promise.race([service.stop().then(() => 'stopped' as const), limit.promise]);
    if (outcome === 'stopped') return true;
    logger.error({ timeoutMs: ms }, `${name} stop timed out`);
  } catch (err) {
    logger.error({ err }, `${name} stop failed`);
  } finally {
    limit.cancel();
  }
  return false;
}
