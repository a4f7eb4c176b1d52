/**
 * Symbol ownership for apply replicas. Every replica runs the same proposals; each symbol is
 * handled only by the replica holding its lease (`keys.symbolLease`, SET NX PX with a random
 * token, renewed every ttl/3, every symbol of a round in a few batched script calls). A replica believes it owns a symbol only until
 * `attemptStart + ttl - safety`, measured on its own clock from BEFORE the renewal was sent, so
 * it stops acting before Redis can hand the lease to another replica. The order intent is
 * written through the fence (createIntent-3.lua: only while the lease token still matches), so
 * a replica that was paused past its lease cannot send.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../ops/clock.js';
import type { Store } from '../../store/port.js';

/** What the apply service needs from a replica-ownership scheme (ApplyDeps.ownership). */
export interface ApplyOwnership {
  /** True while this replica may handle `symbol` (checked before every run). */
  owns(symbol: string): boolean;
  /** The token our leases hold: the plan's first intent is written only while it still does. */
  readonly token: string;
  /**
   * How long a `sending` intent of another replica is given before recovery believes an order
   * absent from the exchange was never sent (it may be paused between its fence and its send).
   */
  readonly intentGraceMs: number;
}

export interface SymbolLeaseOptions {
  /** Lease TTL (APPLY_LEASE_TTL_MS); a crashed owner's symbols move after at most this long. */
  ttlMs: number;
  /** Renewal period; default ttl/3. */
  renewEveryMs?: number;
  /** Ownership ends locally this long before the lease's TTL runs out; default ttl/5. */
  safetyMs?: number;
  /** Default: 2 × ttl + 10 s (an order request's timeout and recovery). */
  intentGraceMs?: number;
  token?: string;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Called when a symbol is newly acquired (the service kicks it at once). */
  onAcquired?: (symbol: string) => void;
}

export class SymbolLeases implements ApplyOwnership {
  readonly token: string;
  readonly intentGraceMs: number;
  private readonly validUntil = new Map<string, number>();
  private readonly leaseKeys: string[];
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> = Promise.resolve();
  private stopped = false;
  private errorLogged = false;

  constructor(
    private readonly store: Store,
    private readonly symbols: readonly string[],
    private readonly opts: SymbolLeaseOptions,
  ) {
    if (!(opts.ttlMs > 0)) throw new Error('SymbolLeases: ttlMs must be > 0');
    this.token = opts.token ?? randomUUID();
    this.intentGraceMs = opts.intentGraceMs ?? 2 * opts.ttlMs + 10_000;
    this.leaseKeys = symbols.map((s) => store.keys.symbolLease(s));
  }

  /** First acquisition round (awaited), then renewals in the background. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.renewAll();
    const every = this.opts.renewEveryMs ?? Math.max(10, Math.floor(this.opts.ttlMs / 3));
    this.timer = setInterval(() => {
      this.round = this.round.then(() => this.renewAll());
    }, every);
  }

  owns(symbol: string): boolean {
    return (this.validUntil.get(symbol) ?? 0) > this.opts.clock.now();
  }

  owned(): string[] {
    return this.symbols.filter((s) => this.owns(s));
  }

  /** Stops renewing WITHOUT releasing: what a crash or a long pause looks like to the others. */
  halt(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops renewing and releases our leases so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
    const mine = [...this.validUntil.keys()];
    this.validUntil.clear();
    await Promise.allSettled(
      mine.map((s) => this.store.leases.release(this.store.keys.symbolLease(s), this.token)),
    );
  }

  /** One round: every symbol's lease acquired or renewed in a few batched script calls. */
  private async renewAll(): Promise<void> {
    if (this.stopped) return;
    const { ttlMs, clock } = this.opts;
    const safety = this.opts.safetyMs ?? Math.floor(ttlMs / 5);
    // Measured before the request leaves: ownership can only end early, never late.
    const startedAt = clock.now();
    let codes;
    try {
      codes = await this.store.leases.acquireMany(this.leaseKeys, this.token, ttlMs);
      this.errorLogged = false;
    } catch (err) {
      // Ownership simply runs out locally at validUntil; nothing to undo.
      if (!this.errorLogged) {
        this.errorLogged = true;
        this.opts.logger.warn({ err: (err as Error).message }, 'apply: lease renewal failed');
      }
      return;
    }
    if (this.stopped) return;
    this.symbols.forEach((symbol, i) => {
      if (codes[i] === 'held') {
        this.validUntil.delete(symbol);
        return;
      }
      const fresh = !this.owns(symbol);
      this.validUntil.set(symbol, startedAt + ttlMs - safety);
      if (fresh) {
        this.opts.logger.info({ symbol, token: this.token }, `apply: lease on ${symbol} acquired`);
        this.opts.onAcquired?.(symbol);
      }
    });
  }
}
