/**
 * `quantum-apply all`: the Apply Layer, the Governor and the Position State Brain in one process
 * on Redis, for small deployments. Each service reads its own variables exactly as when run
 * alone; when the three name the same Redis they share one store (else each opens its own). One
 * ops server on APPLY_METRICS_PORT serves every metric (the three sets have distinct names). One
 * exchange adapter serves the three (opened as apply opens it): one exchangeInfo cache, one socket
 * pool, and one view of the account's request weight and of a 429/418 ban, which Binance counts
 * per IP and account, not per service.
 * With HISTORY_URL set, the history recorder runs beside them on the same store (docs/history.md).
 * Stop order: apply first (no new plans, in-flight ones finish and record their results), then
 * the two authorities, then the recorder, then the adapter and the shared store.
 */
import type { Command } from 'commander';
import { loadAllConfig, type AllConfig } from '../../ops/config/all.js';
import type { RedisConfig } from '../../ops/config.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';
import { openApplyExchange, openApplyStore, startApply, type SharedIo } from './apply.js';
import { startGovernor } from './governor.js';
import { startPositionBrain } from './position-brain.js';
import { startRecorder } from './recorder.js';
import { systemClock } from '../../ops/clock.js';
import type { HistorySettings, RecorderConfig } from '../../ops/config/recorder.js';
import { startHistoryService } from '../../history/service.js';

export { ALL_MAX_IN_FLIGHT, loadAllConfig, type AllConfig } from '../../ops/config/all.js';

const sameRedis = (a: RedisConfig, b: RedisConfig) =>
  a.url === b.url && a.keyPrefix === b.keyPrefix && a.cluster === b.cluster;

export async function startAll(cfg: AllConfig, kit: ServiceKit): Promise<StartedService> {
  const kitFor = (component: string): ServiceKit => ({ ...kit, logger: kit.logger.child({ component }) });
  const shared: SharedIo = { exchange: openApplyExchange(cfg.apply, kitFor('apply')) };
  const started: [string, StartedService][] = [];
  let recorder: StartedService | null = null;
  try {
    // One store for the three when they name the same Redis (the usual case: one REDIS_URL):
    // one command connection, so a turn's commands of all three leave in one write, and two
    // ioredis clients fewer. Blocking stream reads keep a connection per consumer either way.
    if (sameRedis(cfg.apply.redis, cfg.governor.redis) && sameRedis(cfg.apply.redis, cfg.p33.redis))
      shared.store = await openApplyStore(cfg.apply, kitFor('apply'));
    started.push(['governor', await startGovernor(cfg.governor, kitFor('governor'), shared)]);
    started.push(['position-brain', await startPositionBrain(cfg.p33, kitFor('position-brain'), shared)]);
    started.push(['apply', await startApply(cfg.apply, kitFor('apply'), shared)]);
    if (cfg.history) recorder = await startRecorderHere(cfg, cfg.history, kitFor('recorder'), shared);
  } catch (err) {
    await Promise.allSettled(started.map(([, s]) => s.stop()));
    await Promise.allSettled([shared.exchange.close(), shared.store?.close()]);
    throw err;
  }
  if (!recorder) kit.logger.info('history recorder off: HISTORY_URL is unset');
  const byName = new Map(started);
  return {
    async stop() {
      try {
        await byName.get('apply')?.stop();
        await Promise.all([byName.get('governor')?.stop(), byName.get('position-brain')?.stop()]);
        // Last, so it records what the others wrote while stopping.
        await recorder?.stop();
      } finally {
        await Promise.allSettled([shared.exchange.close(), shared.store?.close()]);
      }
    },
    async health() {
      const detail: Record<string, unknown> = {};
      let ok = true;
      for (const [name, s] of started) {
        const h = s.health ? await s.health() : { ok: true, detail: {} };
        ok &&= h.ok;
        detail[name] = h;
      }
      // Reported, never counted: a history database that is down must not get trading restarted.
      if (recorder) detail.recorder = await recorder.health?.();
      return { ok, detail };
    },
  };
}

/** The recorder on the services' store (its own when they do not share one). */
async function startRecorderHere(
  cfg: AllConfig,
  settings: HistorySettings,
  kit: ServiceKit,
  shared: SharedIo,
): Promise<StartedService> {
  if (shared.store) {
    const service = startHistoryService({
      store: shared.store,
      settings,
      clock: systemClock,
      logger: kit.logger,
      registry: kit.registry,
    });
    return { stop: () => service.stop(), health: () => service.health() };
  }
  return startRecorder({ ...cfgForRecorder(cfg), history: settings }, kit);
}

function cfgForRecorder(cfg: AllConfig): Omit<RecorderConfig, 'history'> {
  return {
    service: 'recorder',
    redis: cfg.apply.redis,
    logLevel: cfg.logLevel,
    logFormat: cfg.logFormat,
    metricsPort: cfg.metricsPort,
    metricsHost: cfg.metricsHost,
  };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('all')
    .description('run apply, governor and position-brain in one process on Redis (small deployments)')
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'all', loadAllConfig, startAll);
    });
}
