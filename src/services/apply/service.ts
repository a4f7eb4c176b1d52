/**
 * The Apply Layer service: intake of proposals (change notifications plus a periodic sweep),
 * one serial worker per symbol, graceful stop. What happens to one proposal lives in
 * ProposalHandler; this module only decides when a symbol is looked at.
 */
import type { Unsubscribe } from '../../store/port.js';
import { CanaryRequests } from './canary-requests.js';
import { ProposalHandler } from './handle-proposal.js';
import { storeIntents } from './intents.js';
import { everyPass, OrderReconciler } from './reconciler.js';
import { FailoverReconciler } from './failover-reconciler.js';
import { FAILOVER_EVERY_MS, failoverPasses } from './failover-passes.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps, ApplyOptions } from './options.js';
import { SymbolScheduler } from './scheduler.js';
import { UnknownSymbols } from './unknown-symbols.js';

/** A full sweep at least every this many ticks, whatever the probe says (see tick()). */
export const FULL_SWEEP_EVERY = 12;
const PROBE_TTL_SEC = 60;
/** How often the reconciler asks the exchange about orders left order_status_unknown. */
export const RECONCILE_EVERY_MS = 30_000;

export interface ApplyHealth {
  running: boolean;
  notifications: boolean;
  /**
   * The last time intake was seen working: a symbol's run finished, or the sweep probe showed no
   * change notification was missed. Never when a sweep merely started (0: not yet).
   */
  lastSweepOkMs: number;
  inFlight: number;
  /** Symbols waiting for a slot (APPLY_MAX_IN_FLIGHT reached): the process is at capacity. */
  queued: number;
  consecutiveFailures: number;
}

export class ApplyService {
  private readonly handler: ProposalHandler;
  private readonly scheduler: SymbolScheduler;
  private readonly symbols: Set<string>;
  private readonly unknown: UnknownSymbols;
  private unsubscribe: Unsubscribe | null = null;
  private probeOff: Unsubscribe | null = null;
  /** The cheap sweep's proof state (see tick()). */
  private probe = { pending: false, gap: true, epoch: 0, round: 0 };
  /** Symbols whose run asked to be run again at the next tick (a deferred recovery). */
  private readonly again = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopReconciler: (() => Promise<void>) | null = null;
  /** Settles orders that plans left order_status_unknown (see reconciler.ts). */
  readonly reconciler: OrderReconciler;
  /** Accounts for what a Redis failover lost of our orders' records (failover-reconciler.ts). */
  readonly failover: FailoverReconciler;
  private stopFailover: (() => Promise<void>) | null = null;
  private running = false;
  private lastSweepOkMs = 0;
  private failures = 0;
  /** Replicas: symbols whose orphan scan ran since this replica last acquired them. */
  private readonly scanned = new Set<string>();
  /** Canary requests (opts.canary): store, clock and logger only, never the exchange. */
  private readonly canaries: CanaryRequests | null;

  constructor(
    private readonly deps: ApplyDeps,
    private readonly opts: ApplyOptions,
  ) {
    this.symbols = new Set(opts.symbols);
    this.handler = new ProposalHandler(deps, opts);
    this.canaries = opts.canary
      ? new CanaryRequests(
          {
            store: deps.store,
            clock: deps.clock,
            logger: deps.logger,
            count: (outcome) => deps.metrics?.canary?.(outcome),
          },
          { ...opts, ...opts.canary },
        )
      : null;
    this.reconciler = new OrderReconciler(deps, storeIntents(deps, opts.dedupeTtlSec), opts.dedupeTtlSec);
    this.failover = new FailoverReconciler(
      deps,
      {
        lookbackMs: opts.failoverLookbackMs ?? 0,
        dedupeTtlSec: opts.dedupeTtlSec,
        symbols: opts.symbols,
        ...(opts.failoverSettleMs !== undefined ? { settleMs: opts.failoverSettleMs } : {}),
      },
      this.handler.activity,
    );
    const metrics = deps.metrics ?? noopMetrics;
    this.unknown = new UnknownSymbols({
      symbols: opts.symbols,
      clock: deps.clock,
      logger: deps.logger,
      count: () => metrics.unknownSymbolProposal(),
    });
    // An arm key Redis answers for with no arm hash blocks every plan: logged once, a gauge for alerts.
    this.handler.arm.report({
      logger: deps.logger,
      unreadable: (on) => metrics.armStateUnreadable(on),
      state: (armed, atMs) => metrics.armState(armed, atMs),
    });
    this.scheduler = new SymbolScheduler(
      async (symbol, detectedAtMs) => {
        // Replicas: only the holder of the symbol's lease handles it; a newly leased symbol is
        // first scanned for plans its previous holder left without a result.
        if (deps.ownership) {
          if (!deps.ownership.owns(symbol)) {
            this.scanned.delete(symbol);
            return;
          }
          if (!this.scanned.has(symbol)) {
            const r = await this.handler.recoverOrphans(opts.recoveryScan ?? 1000, symbol);
            if (r.recovered > 0)
              deps.logger.warn(
                { symbol, recovered: r.recovered },
                'apply: recovered plans of a previous lease holder',
              );
            if (r.deferred === 0) this.scanned.add(symbol);
            else this.again.add(symbol);
          }
        }
        await this.handler.handle(symbol, detectedAtMs);
        this.failures = 0;
        this.lastSweepOkMs = this.deps.clock.now();
      },
      {
        ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
        backoffMinMs: opts.retryMinMs ?? 100,
        backoffMaxMs: opts.retryMaxMs ?? 5000,
        onError: (symbol, err, attempt, retryInMs) => {
          this.failures++;
          metrics.runFailed(symbol);
          deps.logger.warn(
            { symbol, attempt, retry_in_ms: retryInMs, err: errorText(err) },
            `apply: ${symbol} failed (${errorText(err)}); waiting for Redis/exchange, retry in ${retryInMs} ms`,
          );
        },
      },
    );
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { store, logger } = this.deps;
    try {
      // Replicas scan per symbol as they acquire it (in the symbol's run), not here.
      const n = this.deps.ownership
        ? 0
        : (await this.handler.recoverOrphans(this.opts.recoveryScan ?? 1000)).recovered;
      if (n > 0) logger.warn({ recovered: n }, `apply: recovered ${n} plan(s) left without a result`);
    } catch (err) {
      // Unchanged proposals are recovered by the normal path; only changed ones wait for a restart.
      logger.warn({ err: errorText(err) }, 'apply: start-up recovery scan failed; continuing');
    }
    if (this.opts.notifications !== false) {
      const prefix = store.keys.proposal('');
      this.unsubscribe = await store.onKeyChange(store.keys.proposalPattern(), (change) => {
        if (!change.key.startsWith(prefix)) return;
        const symbol = change.key.slice(prefix.length);
        // Only our symbols: the pattern also matches proposals for symbols we do not trade,
        // and those written under a typo, which are counted and logged instead.
        if (this.symbols.has(symbol)) this.scheduler.kick(symbol, this.deps.clock.now());
        else if (change.event === 'hset') this.unknown.seen(symbol);
      });
      await this.handler.arm.start();
      if (store.notificationsActive()) {
        const probeKey = store.keys.notifyProbe();
        try {
          this.probeOff = await store.onKeyChange(probeKey, (c) => c.event === 'hset' && this.probed(), {
            keys: [probeKey],
          });
          // Both subscriptions are live and the start-up sweep below reads after this point: the
          // chain of probes starts here.
          this.probe = { pending: false, gap: false, epoch: store.notificationEpoch(), round: 0 };
        } catch (err) {
          // Without the probe every tick is a full sweep, as before.
          logger.warn({ err: errorText(err) }, 'apply: sweep probe not subscribed; every sweep re-reads all');
        }
      }
    }
    await this.canaries?.start();
    const periodMs = Math.max(1, Math.round(this.opts.pollSec * 1000));
    this.sweepTimer = setInterval(() => this.tick(), periodMs);
    const reconcileMs = this.opts.reconcileEveryMs ?? RECONCILE_EVERY_MS;
    if (reconcileMs > 0) this.stopReconciler = everyPass(this.reconciler, reconcileMs, logger);
    if ((this.opts.failoverLookbackMs ?? 0) > 0) {
      this.stopFailover = failoverPasses(this.failover, this.deps, {
        everyMs: this.opts.failoverEveryMs ?? FAILOVER_EVERY_MS,
        checkMs: Math.min(1000, periodMs),
      });
    }
    logger.info(
      {
        mode: this.opts.mode,
        symbols: [...this.symbols],
        poll_sec: this.opts.pollSec,
        notifications: this.opts.notifications !== false && store.notificationsActive(),
      },
      'apply: started',
    );
    this.sweep();
  }

  /** Kicks every symbol; each worker does its own HGETALL (auto-pipelined by the adapter). */
  sweep(): void {
    const now = this.deps.clock.now();
    for (const s of this.symbols) this.scheduler.kick(s, now);
  }

  /**
   * Every APPLY_POLL_SEC. The sweep only exists for changes whose notification was missed, and
   * a notification can only be missed while the subscriber connection is down (or while the
   * server sends none): so instead of re-reading every proposal, write the probe key (one HSET)
   * and re-read everything only when its notification shows a gap since the last one:
   * - its event arrives and the subscriber connection is the one that carried the previous
   *   probe's (same notificationEpoch): every event in between came in order on it, nothing to do;
   * - the connection was lost in between, a probe went unanswered for a whole period, or its
   *   write failed: full sweep (it reads what the gap may have hidden);
   * - a full sweep every `fullSweepEvery` ticks (12) regardless, a backstop for what this reasoning
   *   does not see (notifications switched off and on again between two probes).
   * Without notifications (or without the probe) every tick is a full sweep, as before.
   */
  private tick(): void {
    const { store, clock } = this.deps;
    // The arm gauges follow the key between plans too (one HGETALL a period; a failure is the
    // plans' to report).
    this.handler.arm.read().catch(() => {});
    for (const s of this.again) this.scheduler.kick(s, clock.now());
    this.again.clear();
    const p = this.probe;
    p.round++;
    const fullEvery = Math.max(1, this.opts.fullSweepEvery ?? FULL_SWEEP_EVERY);
    if (!this.probeOff || !store.notificationsActive() || p.round % fullEvery === 0) {
      p.gap = true; // the next confirmed probe starts a new chain
      p.pending = false;
      this.sweep();
      return;
    }
    if (p.pending) {
      p.gap = true; // no answer within a period: events may not be flowing
      this.sweep();
    }
    p.pending = true;
    store.hset(store.keys.notifyProbe(), { at: String(clock.now()) }, PROBE_TTL_SEC).catch(() => {
      p.gap = true;
      p.pending = false;
      this.sweep();
    });
  }

  /** The probe's notification: nothing missed since the last one unless there was a gap. */
  private probed(): void {
    const p = this.probe;
    if (!p.pending) return; // another replica's probe, or a late one
    p.pending = false;
    const epoch = this.deps.store.notificationEpoch();
    if (p.gap || epoch !== p.epoch) this.sweep();
    else this.lastSweepOkMs = this.deps.clock.now();
    p.gap = false;
    p.epoch = epoch;
  }

  /** Stops intake, lets in-flight plans finish (each records its result), then resolves. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const unsub = this.unsubscribe;
    const probeOff = this.probeOff;
    this.unsubscribe = null;
    this.probeOff = null;
    const reconciler = this.stopReconciler;
    const failover = this.stopFailover;
    this.stopReconciler = null;
    this.stopFailover = null;
    await Promise.allSettled([
      unsub?.(),
      probeOff?.(),
      this.scheduler.drain(),
      reconciler?.(),
      failover?.(),
      this.canaries?.stop(),
    ]);
    await this.handler.arm.stop();
    this.deps.logger.info('apply: stopped');
  }

  health(): ApplyHealth {
    return {
      running: this.running,
      notifications: this.unsubscribe !== null && this.deps.store.notificationsActive(),
      lastSweepOkMs: this.lastSweepOkMs,
      inFlight: this.scheduler.inFlight(),
      queued: this.scheduler.queued(),
      consecutiveFailures: this.failures,
    };
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
