/**
 * `quantum-apply recorder`: follows the plan, result, order-event and decision streams into the
 * history database (HISTORY_URL; docs/history.md). Off the trading path: it only reads the
 * streams and acks its own group. Ops server on HISTORY_METRICS_PORT (lag, rows, failures).
 */
import type { Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import { loadRecorderConfig, type RecorderConfig } from '../../ops/config/recorder.js';
import { startHistoryService } from '../../history/service.js';
import { openStoreFor } from '../../store/index.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';

export async function startRecorder(cfg: RecorderConfig, kit: ServiceKit): Promise<StartedService> {
  // It only reads streams through its group: no key it waits on, so no notifications.
  const store = await openStoreFor(cfg.redis, {
    logger: kit.logger.child({ component: 'store' }),
    keyEvents: false,
  });
  const service = startHistoryService({
    store,
    settings: cfg.history,
    clock: systemClock,
    logger: kit.logger,
    registry: kit.registry,
  });
  return {
    async stop() {
      try {
        await service.stop();
      } finally {
        await store.close();
      }
    },
    health: () => service.health(),
  };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('recorder')
    .description('record plans, decisions, orders and results into the history database (HISTORY_URL)')
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'recorder', loadRecorderConfig, startRecorder);
    });
}
