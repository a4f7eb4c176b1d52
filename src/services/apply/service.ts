/**
 * The Apply Layer service: intake of proposals (change notifications plus a periodic sweep),
 * one serial worker per symbol, graceful stop. What happens to one proposal lives in
 * ProposalHandler; this module only decides when a symbol is looked at.
 */
import type { Unsubscribe } from '../../store/port.js';
import { ProposalHandler } from './handle-proposal.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps, ApplyOptions } from './options.js';
import { SymbolScheduler } from './scheduler.js';

export interface ApplyHealth {
  running: boolean;
  notifications: boolean;
  lastSweepOkMs: number;
  inFlight: number;
  consecutiveFailures: number;
}

export class ApplyService {
  private readonly handler: ProposalHandler;
  private readonly scheduler: SymbolScheduler;
  private readonly symbols: Set<string>;
  private unsubscribe: Unsubscribe | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private running = false;
  private lastSweepOkMs = 0;
  private failures = 0;
  /** Replicas: symbols whose orphan scan ran since this replica last acquired them. */
  private readonly scanned = new Set<string>();

  constructor(
    private readonly deps: ApplyDeps,
    private readonly opts: ApplyOptions,
  ) {
    this.symbols = new Set(opts.symbols);
    this.handler = new ProposalHandler(deps, opts);
    const metrics = deps.metrics ?? noopMetrics;
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
          }
        }
        await this.handler.handle(symbol, detectedAtMs);
        this.failures = 0;
      },
      {
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
        // Only our symbols: the pattern also matches proposals for symbols we do not trade.
        if (this.symbols.has(symbol)) this.scheduler.kick(symbol, this.deps.clock.now());
      });
    }
    const periodMs = Math.max(1, Math.round(this.opts.pollSec * 1000));
    this.sweepTimer = setInterval(() => this.sweep(), periodMs);
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
    this.lastSweepOkMs = now;
  }

  /** Stops intake, lets in-flight plans finish (each records its result), then resolves. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const unsub = this.unsubscribe;
    this.unsubscribe = null;
    await Promise.allSettled([unsub?.(), this.scheduler.drain()]);
    this.deps.logger.info('apply: stopped');
  }

  health(): ApplyHealth {
    return {
      running: this.running,
      notifications: this.unsubscribe !== null && this.deps.store.notificationsActive(),
      lastSweepOkMs: this.lastSweepOkMs,
      inFlight: this.scheduler.inFlight(),
      consecutiveFailures: this.failures,
    };
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
