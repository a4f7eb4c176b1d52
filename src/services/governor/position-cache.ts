/**
 * The governor's position reads. positionRisk costs weight 5 of Binance's 2400/min whether it
 * names one symbol or none (then it returns every position), so one read per plan cannot keep
 * up with load: 100 plans/s over many symbols would spend 30,000 weight a minute.
 *
 * - A read is reused for `maxAgeMs`; concurrent plans of one symbol share one request.
 * - Few symbols (fewer than `bulkAfter` distinct reads within `maxAgeMs`): one read per symbol.
 * - Many symbols: one account-wide read serves every symbol asked for lately, and it is renewed
 *   ahead of time (once past three quarters of its age, when a plan uses it) so plans seldom wait for it.
 *
 * Exit-only positions shrink, so a read up to `maxAgeMs` old can only overstate the notional
 * counted against the daily cap. A failed read is never reused; a failed account-wide read
 * falls back to the symbol's own read.
 */
import type { ExchangePort, Position } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';

export interface PositionCacheOptions {
  /** How long a read is reused (ms; 0: every plan reads). */
  maxAgeMs: number;
  /** Distinct symbols read within maxAgeMs from which one account-wide read serves them all. */
  bulkAfter?: number;
  /** A symbol not asked for this long is left out of account-wide reads (ms). */
  forgetAfterMs?: number;
  /** Called for each read sent (a metric). */
  onRead?: (scope: 'symbol' | 'account') => void;
}

interface Entry {
  /** When the read was sent. */
  at: number;
  p: Promise<Position>;
  /** Filled by an account-wide read (renewed ahead), not the symbol's own. */
  bulk: boolean;
}

interface BulkRead {
  symbols: Set<string>;
  rows: Promise<Map<string, Position>>;
}

/** After a failed account-wide read, symbols read their own for this long (ms). */
const BULK_BACKOFF_MS = 10_000;

export class PositionCache {
  private readonly entries = new Map<string, Entry>();
  /** Symbol → when a plan last asked for it. */
  private readonly asked = new Map<string, number>();
  /** Start times of the symbols' own reads within the last maxAgeMs. */
  private singles: number[] = [];
  private bulk: BulkRead | null = null;
  private bulkFailedAt = -Infinity;
  private readonly bulkAfter: number;
  private readonly forgetAfterMs: number;

  constructor(
    private readonly exchange: ExchangePort,
    private readonly clock: Clock,
    private readonly o: PositionCacheOptions,
  ) {
    this.bulkAfter = o.bulkAfter ?? 16;
    this.forgetAfterMs = o.forgetAfterMs ?? 60_000;
  }

  get(symbol: string): Promise<Position> {
    const now = this.clock.now();
    this.asked.set(symbol, now);
    const cached = this.entries.get(symbol);
    if (cached && this.fresh(cached, now)) {
      // Renewed ahead: this plan uses the current read, later ones the next.
      if (cached.bulk && now - cached.at >= (this.o.maxAgeMs * 3) / 4) this.renew(now);
      return cached.p;
    }
    // Waits for an account-wide read only when it names this symbol: in flight already, or
    // sent now. A symbol new to the cache while one is in flight reads its own.
    const bulk = this.bulk ?? (this.busy(now) ? this.renew(now) : null);
    if (!bulk?.symbols.has(symbol)) return this.own(symbol, now);
    return bulk.rows.then(
      (rows) => rows.get(symbol) ?? this.own(symbol, this.clock.now()),
      () => this.own(symbol, this.clock.now()),
    );
  }

  private fresh(e: Entry, now: number): boolean {
    return now >= e.at && now - e.at < this.o.maxAgeMs;
  }

  /** Whether enough distinct symbols read their own lately for one account-wide read to pay. */
  private busy(now: number): boolean {
    this.singles = this.singles.filter((t) => now >= t && now - t < this.o.maxAgeMs);
    return (
      this.o.maxAgeMs > 0 &&
      this.singles.length >= this.bulkAfter &&
      now - this.bulkFailedAt >= BULK_BACKOFF_MS
    );
  }

  /** The symbol's own read, shared with concurrent plans of the symbol. */
  private own(symbol: string, now: number): Promise<Position> {
    const cached = this.entries.get(symbol);
    if (cached && !cached.bulk && this.fresh(cached, now)) return cached.p;
    this.singles.push(now);
    this.o.onRead?.('symbol');
    const e: Entry = { at: now, p: this.exchange.position(symbol), bulk: false };
    this.entries.set(symbol, e);
    e.p.catch(() => {
      if (this.entries.get(symbol) === e) this.entries.delete(symbol);
    });
    return e.p;
  }

  /**
   * One account-wide read for every symbol asked for within forgetAfterMs, unless one is in
   * flight; the symbols' entries are replaced when it answers (aged from when it was sent).
   */
  private renew(now: number): BulkRead {
    if (this.bulk) return this.bulk;
    for (const [s, t] of this.asked) {
      if (now - t <= this.forgetAfterMs) continue;
      this.asked.delete(s);
      this.entries.delete(s);
    }
    const symbols = [...this.asked.keys()];
    this.o.onRead?.('account');
    const rows = this.exchange.positions(symbols).then((list) => {
      const bySymbol = new Map(list.map((p) => [p.symbol, p]));
      for (const [s, p] of bySymbol) {
        const cur = this.entries.get(s);
        if (!cur || cur.at <= now) this.entries.set(s, { at: now, p: Promise.resolve(p), bulk: true });
      }
      return bySymbol;
    });
    const bulk: BulkRead = { symbols: new Set(symbols), rows };
    this.bulk = bulk;
    rows.then(
      () => void (this.bulk === bulk && (this.bulk = null)),
      () => {
        if (this.bulk === bulk) this.bulk = null;
        this.bulkFailedAt = this.clock.now();
      },
    );
    return bulk;
  }
}
