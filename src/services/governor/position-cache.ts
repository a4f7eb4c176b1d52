/**
 * The governor's position reads: concurrent plans of one symbol share one request, and a read is
 * reused for `maxAgeMs`, counted from the read's start (which may be the adapter's last
 * account-wide read, binance/position-reads.ts). Exit-only positions shrink, so a slightly older
 * read can only overstate the notional counted against the daily cap. A failed read is never reused.
 *
 * An account-wide read for every plan was tried and taken back: the governor's batch then waited
 * on an answer of a row per position, and the pipeline's latency and capacity fell (BENCHMARKS.md,
 * Pipeline). The adapter reads the account only once the minute's
 * request weight runs short.
 */
import type { ExchangePort, Position } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';

export class PositionCache {
  private readonly entries = new Map<string, { at: number; p: Promise<Position> }>();

  constructor(
    private readonly exchange: ExchangePort,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
    /** Called for each read sent (a metric). */
    private readonly onRead: () => void = () => {},
  ) {}

  get(symbol: string): Promise<Position> {
    const now = this.clock.now();
    const cached = this.entries.get(symbol);
    if (cached && now >= cached.at && now - cached.at < this.maxAgeMs) return cached.p;
    this.onRead();
    const p = this.exchange.position(symbol, { maxAgeMs: this.maxAgeMs });
    const entry = { at: now, p };
    this.entries.set(symbol, entry);
    p.then(
      // An answer from an earlier read (the adapter's last account-wide one) ages from that read,
      // on this cache's clock (the adapter reports an age, its clock may not be ours).
      (pos) =>
        void (pos.ageMs !== undefined && (entry.at = Math.min(entry.at, this.clock.now() - pos.ageMs))),
      () => {
        if (this.entries.get(symbol)?.p === p) this.entries.delete(symbol);
      },
    );
    return p;
  }
}
