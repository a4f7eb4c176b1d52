/**
 * `quantum-apply position-brain`: config → store → exchange → PositionBrainService → ops server
 * (P33_METRICS_PORT) → wait for a signal → graceful stop. Without credentials no snapshot can
 * be taken, so every plan is denied (no_exchange_snapshot / stale_exchange_state).
 */
import type { Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import { loadP33Config, type P33Config } from '../../ops/config.js';
import { createP33Metrics } from '../../ops/metrics.js';
import { PositionBrainService } from '../../services/position-brain/service.js';
import { openAuthorityIo, startedAuthority } from '../authority-io.js';
import type { SharedIo } from './apply.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';

export async function startPositionBrain(
  cfg: P33Config,
  kit: ServiceKit,
  shared?: SharedIo,
): Promise<StartedService> {
  const io = await openAuthorityIo(
    'position-brain',
    cfg,
    kit,
    'no snapshots, every plan will be denied',
    shared,
  );
  const service = new PositionBrainService({
    store: io.store,
    exchange: io.exchange,
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
    maxInFlight: cfg.maxInFlight,
    source: cfg.mode === 'live' ? 'binance' : 'binance_testnet',
    signingKey: io.signingKey,
    planSignatures: io.planSignatures,
  });
  service.start();
  return startedAuthority(service, io);
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('position-brain')
    .alias('p33')
    .description(
      'run the Position State Brain (P3.3): exchange snapshots, ledger, one allow/deny permit per plan',
    )
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'position-brain', loadP33Config, startPositionBrain);
    });
}
