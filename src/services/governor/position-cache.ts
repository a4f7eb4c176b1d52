/**
 * The governor's position reads: concurrent plans of one symbol share one request, and a read is
 * reused for `maxAgeMs`. positionRisk costs weight 5 of Binance's 2400/min, so one read per plan
 * cannot keep up with bursts; exit-only positions shrink, so a slightly older read can only
 * overstate the notional counted against the daily cap. A failed read is never reused.
 *
 * One account-wide read for every symbol (the same weight) was tried and taken back: the
 * governor's batch then waited on an answer of a row per position (1,000 rows from the bench's
 * paper exchange, ~30 ms, longer on a busy host), and the pipeline's latency and capacity fell
 * (BENCHMARKS.md, Pipeline, latest round).
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
    const p = this.exchange.position(symbol);
    this.entries.set(symbol, { at: now, p });
    p.catch(() => {
      if (this.entries.get(symbol)?.p === p) this.entries.delete(symbol);
    });
    return p;
  }
}
