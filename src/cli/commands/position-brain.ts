/**
 * `quantum-apply position-brain`: config → store → exchange → PositionBrainService → ops server
 * (P33_METRICS_PORT) → wait for a signal → graceful stop. Without credentials no snapshot can
 * be taken, so every plan is denied (no_exchange_snapshot / stale_exchange_state).
 */
import type { Command } from 'commander';
import { PermitKey } from '../../domain/permit-signing.js';
import { createBinanceExchange } from '../../exchange/binance/index.js';
import { systemClock } from '../../ops/clock.js';
import { loadP33Config, type P33Config } from '../../ops/config.js';
import { createP33Metrics } from '../../ops/metrics.js';
import { PositionBrainService } from '../../services/position-brain/service.js';
import { createStore } from '../../store/index.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';

const PUBLIC_ONLY = 'public-endpoints-only';

export async function startPositionBrain(cfg: P33Config, kit: ServiceKit): Promise<StartedService> {
  const store = await createStore({
    url: cfg.redis.url,
    prefix: cfg.redis.keyPrefix,
    cluster: cfg.redis.cluster,
    logger: kit.logger.child({ component: 'store' }),
  });
  const exchange = createBinanceExchange({
    baseUrl: cfg.binance.baseUrl,
    apiKey: cfg.binance.apiKey ?? PUBLIC_ONLY,
    apiSecret: cfg.binance.apiSecret ?? PUBLIC_ONLY,
    logger: kit.logger.child({ component: 'exchange' }),
  });
  if (cfg.binance.apiKey === null || cfg.binance.apiSecret === null) {
    kit.logger.warn({}, 'position-brain: no exchange credentials; no snapshots, every plan will be denied');
  }
  const signingKey = cfg.permitSecret === null ? null : new PermitKey(cfg.permitSecret);
  if (signingKey) kit.logger.info({ permit_key_id: signingKey.keyId }, 'position-brain: signing permits');
  const service = new PositionBrainService({
    store,
    exchange,
    clock: systemClock,
    logger: kit.logger,
    metrics: createP33Metrics(kit.registry),
    allowlist: cfg.allowlist,
    limits: {
      staleThresholdSec: cfg.staleThresholdSec,
      qtyTolerancePct: cfg.qtyTolerancePct,
      cooldownSec: cfg.cooldownSec,
    },
    pollSec: cfg.pollSec,
    permitTtlSec: cfg.permitTtlSec,
    source: cfg.mode === 'live' ? 'binance' : 'binance_testnet',
    signingKey,
  });
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
    .command('position-brain')
    .description(
      'run the Position State Brain (P3.3): exchange snapshots, ledger, one allow/deny permit per plan',
    )
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'position-brain', loadP33Config, startPositionBrain);
    });
}
