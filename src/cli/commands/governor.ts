/**
 * `quantum-apply governor`: config → store → exchange → GovernorService → ops server
 * (METRICS_PORT) → wait for a signal → graceful stop. Without exchange credentials positions
 * cannot be read, so every EXECUTE plan is blocked `position_fetch_failed` (fail closed).
 */
import type { Command } from 'commander';
import { PermitKey } from '../../domain/permit-signing.js';
import { createBinanceExchange } from '../../exchange/binance/index.js';
import { systemClock } from '../../ops/clock.js';
import { loadGovernorConfig, type GovernorConfig } from '../../ops/config.js';
import { createGovernorMetrics, createStreamMetrics } from '../../ops/metrics.js';
import { GovernorService, type GovernorOptions } from '../../services/governor/service.js';
import { createStore } from '../../store/index.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';

const PUBLIC_ONLY = 'public-endpoints-only';

export function governorLimitsFrom(cfg: GovernorConfig): GovernorOptions['limits'] {
  return {
    killScoreCritical: cfg.killScoreCritical,
    maxExecPerHour: cfg.maxExecPerHour,
    maxExecPer5Min: cfg.maxExecPer5Min,
    maxReduceNotionalPerDayUsd: cfg.maxReduceNotionalPerDayUsd,
    maxReduceQtyPerDay: cfg.maxReduceQtyPerDay,
  };
}

export async function startGovernor(cfg: GovernorConfig, kit: ServiceKit): Promise<StartedService> {
  const store = await createStore({
    url: cfg.redis.url,
    prefix: cfg.redis.keyPrefix,
    cluster: cfg.redis.cluster,
    logger: kit.logger.child({ component: 'store' }),
  });
  const hasCredentials = cfg.binance.apiKey !== null && cfg.binance.apiSecret !== null;
  const exchange = createBinanceExchange({
    baseUrl: cfg.binance.baseUrl,
    apiKey: cfg.binance.apiKey ?? PUBLIC_ONLY,
    apiSecret: cfg.binance.apiSecret ?? PUBLIC_ONLY,
    logger: kit.logger.child({ component: 'exchange' }),
  });
  if (!hasCredentials) {
    kit.logger.warn(
      {},
      'governor: no exchange credentials; every EXECUTE plan will be blocked position_fetch_failed',
    );
  }
  const signingKey = cfg.permitSecret === null ? null : new PermitKey(cfg.permitSecret);
  // Lag and pending of every group on the plan stream (governor, p33, ...), read at scrape time;
  // registered here once, so `all` (one registry) gets them once too.
  createStreamMetrics(kit.registry, store, [store.keys.planStream()]);
  const service = new GovernorService({
    store,
    exchange,
    clock: systemClock,
    logger: kit.logger,
    metrics: createGovernorMetrics(kit.registry),
    limits: governorLimitsFrom(cfg),
    autoApprove: cfg.autoApprove,
    signingKey,
  });
  if (signingKey) kit.logger.info({ permit_key_id: signingKey.keyId }, 'governor: signing permits');
  service.start();
  return {
    async stop() {
      await service.stop();
      await Promise.allSettled([exchange.close(), store.close()]);
    },
    health() {
      const waiting = service.consumer.waitingFor;
      return { ok: waiting === null, detail: { waitingFor: waiting } };
    },
  };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('governor')
    .description('run the Governor: rate and daily limits, one permit or block record per EXECUTE plan')
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'governor', loadGovernorConfig, startGovernor);
    });
}
