/**
 * `quantum-apply apply`: config → store → exchange → ApplyService → ops server → wait for a
 * signal → graceful stop (in-flight plans finish and record their results) → close.
 *
 * dry_run without BINANCE_TESTNET_API_KEY/_SECRET: positions need signed requests, so the
 * service reads none (hasCredentials=false) and takes the position from the P3.3 permit's
 * exchange_position_amt; exchangeInfo (step and tick sizes) is public, so the adapter is built
 * with placeholder credentials that never reach a signed endpoint. Ordering modes without
 * credentials start, but every EXECUTE plan ends in ERROR missing_binance_credentials (as the
 * fleet reports it) without consuming permits.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { PermitKey } from '../../domain/permit-signing.js';
import { planEntrySigner } from '../../domain/plan-signing.js';
import type { BinanceExchange } from '../../exchange/binance/index.js';
import { openExchange } from '../../exchange/index.js';
import { systemClock } from '../../ops/clock.js';
import { loadApplyConfig, type ApplyConfig } from '../../ops/config.js';
import { createApplyMetrics, createExchangeMetrics, createUserStreamMetrics } from '../../ops/metrics.js';
import { promSink } from '../../services/apply/metrics.js';
import type { ApplyOptions } from '../../services/apply/options.js';
import { SymbolLeases } from '../../services/apply/lease.js';
import { ApplyService } from '../../services/apply/service.js';
import { openStoreFor, type Store } from '../../store/index.js';
import { startHeartbeat, withHeartbeat } from '../heartbeat.js';
import { runService, type CliContext, type ServiceKit, type StartedService } from '../util.js';

export function applyOptionsFrom(cfg: ApplyConfig): ApplyOptions {
  return {
    mode: cfg.mode,
    symbols: cfg.symbols,
    allowlist: cfg.allowlist,
    pollSec: cfg.pollSec,
    dedupeTtlSec: cfg.dedupeTtlSec,
    maxProposalAgeSec: cfg.maxProposalAgeSec,
    kBlockCritical: cfg.kBlockCritical,
    kBlockWarning: cfg.kBlockWarning,
    killSwitch: cfg.killSwitch,
    permitWaitMs: cfg.permitWaitMs,
    permitStepMs: cfg.permitStepMs,
    maxInFlight: cfg.maxInFlight,
    // dry_run sends no order: nothing for it to reconcile.
    failoverLookbackMs: cfg.mode === 'dry_run' ? 0 : cfg.failoverLookbackSec * 1000,
    intentWait:
      cfg.intentWaitReplicas > 0 ? { replicas: cfg.intentWaitReplicas, timeoutMs: cfg.intentWaitMs } : null,
    requiredAuthorities: cfg.requiredAuthorities,
    hasCredentials: Boolean(cfg.binance.apiKey?.trim() && cfg.binance.apiSecret?.trim()),
    signedPermits: signedPermitsFrom(cfg.signedPermits),
    signPlanEntry: cfg.planSecret === null ? null : planEntrySigner(new PermitKey(cfg.planSecret)),
    // Every apply process answers canary requests, named as its heartbeat names it.
    canary: {
      ...cfg.canary,
      handler: { instance: `${hostname()}-${process.pid}`, host: hostname(), pid: process.pid },
    },
  };
}

/** Verification keys (current, then previous) when APPLY_REQUIRE_SIGNED_PERMITS=true. */
function signedPermitsFrom(c: ApplyConfig['signedPermits']): ApplyOptions['signedPermits'] {
  if (!c.required) return null;
  const keys = (s: { secret: string | null; previousSecret: string | null }) =>
    [s.secret, s.previousSecret].filter((x): x is string => x !== null).map((x) => new PermitKey(x));
  return {
    keys: { governor: keys(c.governor), p33: keys(c.p33) },
    maxSkewSec: c.maxSkewSec,
    permitTtlSec: c.permitTtlSec,
  };
}

/**
 * The adapter apply orders through, from the config loadApplyConfig checked (the real-money
 * rules live there): the mode's credentials, or public endpoints only in dry_run / testnet
 * without them.
 */
export function openApplyExchange(cfg: ApplyConfig, kit: ServiceKit): BinanceExchange {
  const opened = openExchange(cfg.mode, cfg.binance, {
    logger: kit.logger.child({ component: 'exchange' }),
    userStream: cfg.userStream,
    streamMetrics: cfg.userStream.enabled ? createUserStreamMetrics(kit.registry) : undefined,
  });
  if (opened.credentialed) {
    kit.logger.info({ base_url: cfg.binance.baseUrl, live: cfg.mode === 'live' }, opened.message);
  }
  createExchangeMetrics(kit.registry, opened.exchange);
  return opened.exchange;
}

/** I/O that `all` opens once for its three services (each closes only what it opened). */
export interface SharedIo {
  exchange: BinanceExchange;
  /** One store (one command connection) when the three are configured for the same Redis. */
  store?: Store;
}

/** The apply layer's store, as `apply` opens it (and `all` for the three, when they share one). */
export function openApplyStore(cfg: ApplyConfig, kit: ServiceKit): Promise<Store> {
  return openStoreFor(cfg.redis, {
    pollStepMs: cfg.permitStepMs,
    logger: kit.logger.child({ component: 'store' }),
  });
}

export async function startApply(
  cfg: ApplyConfig,
  kit: ServiceKit,
  shared?: SharedIo,
): Promise<StartedService> {
  const opts = applyOptionsFrom(cfg);
  const store = shared?.store ?? (await openApplyStore(cfg, kit));
  const closeStore = () => (shared?.store ? Promise.resolve() : store.close());
  let exchange: BinanceExchange;
  try {
    exchange = shared?.exchange ?? openApplyExchange(cfg, kit);
  } catch (err) {
    await closeStore();
    throw err;
  }
  const closeExchange = () => (shared ? Promise.resolve() : exchange.close());
  // Replicas: the symbol leases are held before intake starts (RELIABILITY.md).
  let service: ApplyService | null = null;
  const leases =
    cfg.leaseTtlMs > 0
      ? new SymbolLeases(store, cfg.symbols, {
          ttlMs: cfg.leaseTtlMs,
          clock: systemClock,
          logger: kit.logger,
          onAcquired: () => service?.sweep(),
        })
      : null;
  service = new ApplyService(
    {
      store,
      exchange,
      clock: systemClock,
      logger: kit.logger,
      metrics: promSink(createApplyMetrics(kit.registry), cfg.symbols),
      ...(leases ? { ownership: leases } : {}),
    },
    opts,
  );
  const running = service;
  try {
    await leases?.start();
    await running.start();
  } catch (err) {
    await leases?.stop();
    await Promise.allSettled([closeExchange(), closeStore()]);
    throw err;
  }
  if (opts.signedPermits) {
    const ids = Object.fromEntries(
      Object.entries(opts.signedPermits.keys).map(([a, ks]) => [a, (ks ?? []).map((k) => k.keyId)]),
    );
    kit.logger.info({ permit_key_ids: ids }, 'apply: signed permits required');
  }
  if (cfg.planSecret !== null) {
    kit.logger.info({ plan_key_id: new PermitKey(cfg.planSecret).keyId }, 'apply: signing plan entries');
  }
  if (!opts.hasCredentials) {
    kit.logger.warn(
      { mode: cfg.mode },
      cfg.mode === 'dry_run'
        ? 'apply: no exchange credentials; dry_run takes positions from the P3.3 permits'
        : 'apply: no exchange credentials; EXECUTE plans will end in missing_binance_credentials',
    );
  }
  const heartbeat = startHeartbeat('apply', cfg, kit, store, exchange, cfg.pollSec * 1000);
  return withHeartbeat(
    {
      async stop() {
        await running.stop();
        await leases?.stop();
        await Promise.allSettled([closeExchange(), closeStore()]);
      },
      health() {
        const h = running.health();
        const reasons = [
          ...(h.running ? [] : ['not_running']),
          ...(h.consecutiveFailures > 0 ? ['symbol_runs_failing'] : []),
        ];
        return { ok: reasons.length === 0, detail: { ...h, reasons } };
      },
    },
    heartbeat,
  );
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('run the Apply Layer: proposals → plans → permit-gated reduce-only orders')
    .action(async () => {
      ctx.exitCode = await runService(ctx, 'apply', loadApplyConfig, startApply);
    });
}
