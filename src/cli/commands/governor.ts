/**
 * `quantum-apply governor`: config → store → exchange → GovernorService → ops server
 * (METRICS_PORT) → wait for a signal → graceful stop. Without exchange credentials positions
 * cannot be read, so every EXECUTE plan is blocked `position_fetch_failed` (fail closed).
 */
import type { Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import { loadGovernorConfig, type GovernorConfig } from '../../ops/config.js';
import { createGovernorMetrics, createStreamMetrics } from '../../ops/metrics.js';
import { fleetDisarmProblem } from '../../services/governor/fleet-disarm.js';
import { GovernorService, type GovernorOptions } from '../../services/governor/service.js';
import { openAuthorityIo, startedAuthority } from '../authority-io.js';
import type { SharedIo } from './apply.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';

export function governorLimitsFrom(cfg: GovernorConfig): GovernorOptions['limits'] {
  return {
    killScoreCritical: cfg.killScoreCritical,
    maxExecPerHour: cfg.maxExecPerHour,
    maxExecPer5Min: cfg.maxExecPer5Min,
    maxReduceNotionalPerDayUsd: cfg.maxReduceNotionalPerDayUsd,
    maxReduceQtyPerDay: cfg.maxReduceQtyPerDay,
  };
}

/** The fleet's auto-disarm switches (GOV_ENABLE_AUTO_DISARM, GOV_DISARM_ON_*) as service options. */
export function governorDisarmFrom(
  cfg: GovernorConfig,
): Pick<GovernorOptions, 'autoDisarm' | 'disarmOnBurst' | 'disarmErrorThreshold' | 'fleetApplyDisarm'> {
  return {
    autoDisarm: cfg.autoDisarm.enabled,
    disarmOnBurst: cfg.autoDisarm.onBurst,
    disarmErrorThreshold: cfg.autoDisarm.errorCount,
    fleetApplyDisarm: cfg.autoDisarm.fleetApply,
  };
}

export async function startGovernor(
  cfg: GovernorConfig,
  kit: ServiceKit,
  shared?: SharedIo,
): Promise<StartedService> {
  const io = await openAuthorityIo(
    'governor',
    cfg,
    kit,
    'every EXECUTE plan will be blocked position_fetch_failed',
    shared,
  );
  // Lag and pending of every group on the plan stream (governor, p33, ...), read at scrape time;
  // registered here once, so `all` (one registry) gets them once too.
  createStreamMetrics(kit.registry, io.store, [io.store.keys.planStream()]);
  const fleet = cfg.autoDisarm.enabled ? cfg.autoDisarm.fleetApply : null;
  if (fleet) {
    kit.logger.info(
      { envFile: fleet.envFile, command: fleet.restartCommand.join(' ') },
      "auto-disarm also disarms the fleet's apply layer its way (GOV_DISARM_FLEET_APPLY=true)",
    );
    // Found now rather than at the disarm; the start goes on (our own disarm still works).
    const problem = await fleetDisarmProblem(fleet);
    if (problem !== null)
      kit.logger.error({ envFile: fleet.envFile }, `a fleet-way disarm would fail: ${problem}`);
  }
  const service = new GovernorService({
    store: io.store,
    exchange: io.exchange,
    clock: systemClock,
    logger: kit.logger,
    metrics: createGovernorMetrics(kit.registry),
    limits: governorLimitsFrom(cfg),
    autoApprove: cfg.autoApprove,
    ...governorDisarmFrom(cfg),
    maxInFlight: cfg.maxInFlight,
    signingKey: io.signingKey,
    planSignatures: io.planSignatures,
  });
  service.start();
  return startedAuthority(service, io);
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('governor')
    .description('run the Governor: rate and daily limits, one permit or block record per EXECUTE plan')
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'governor', loadGovernorConfig, startGovernor);
    });
}
