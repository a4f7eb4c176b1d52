/**
 * Exchange snapshots for P3.3: every poll, each allowlisted symbol's position is written to
 * `quantum:position:snapshot:<S>` (TTL 3600, with `source`), and a missing ledger is seeded from
 * the exchange amount (never from zero). An unreachable exchange writes nothing: snapshots age
 * and evaluations deny as stale, never allow on old data.
 */
import { parseDec, type Dec } from '../../domain/decimal.js';
import { seededLedgerFields } from '../../domain/position/ledger.js';
import type { AccountStream, ExchangePort, Position } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';
import type { P33Metrics } from '../../ops/metrics.js';
import type { Store } from '../../store/port.js';
import { RecentSymbols, TTL_RENEW_MS } from '../recent-symbols.js';

export const SNAPSHOT_TTL_SEC = 3600;
export const LEDGER_TTL_SEC = 86_400;
/** Snapshots written per slice of a refresh. */
const WRITE_SLICE = 50;

export interface SnapshotOptions {
  store: Store;
  exchange: ExchangePort;
  clock: Clock;
  symbols: readonly string[];
  source: string;
  metrics?: P33Metrics;
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export function snapshotFields(p: Position, tsEpoch: number, source: string): Record<string, string> {
  const side = p.amount > 0 ? 'LONG' : p.amount < 0 ? 'SHORT' : 'NONE';
  return {
    position_amt: p.amountText,
    side,
    entry_price: String(p.entryPrice),
    mark_price: String(p.markPrice),
    unrealized_pnl: String(p.unrealizedPnl),
    leverage: p.leverage === null ? '' : String(p.leverage),
    ts_epoch: String(tsEpoch),
    source,
  };
}

export class SnapshotRefresher {
  private failures = 0;
  /** Unix seconds of each symbol's last snapshot written here (for the age gauge during outages). */
  private readonly lastOk = new Map<string, number>();
  /** Epoch ms each symbol's last snapshot written here holds at (the order of writes). */
  private readonly writtenAtMs = new Map<string, number>();
  /**
   * Symbols whose snapshot TTL a write renewed within TTL_RENEW_MS; the writes in between send
   * HSET alone (Store.hupdate: EXPIRE only when it re-created a vanished snapshot). 1,000
   * symbols every 5 s: 200 commands/s fewer.
   */
  private readonly ttlRenewed: RecentSymbols;

  private readonly symbols: ReadonlySet<string>;

  constructor(private readonly o: SnapshotOptions) {
    this.symbols = new Set(o.symbols);
    this.ttlRenewed = new RecentSymbols(o.clock, TTL_RENEW_MS);
  }

  /**
   * Writes a position the user stream changed as it arrives, between polls (ACCOUNT_UPDATE).
   * Returns the unsubscribe.
   */
  follow(stream: AccountStream): () => void {
    return stream.onPosition((p) => {
      if (!this.symbols.has(p.symbol) || !parseDec(p.amountText)) return;
      const asOf = stream.asOf();
      if (asOf === null) return;
      void this.write(p, this.o.clock.now()).catch((err: Error) =>
        this.o.logger.warn({ symbol: p.symbol, err: err.message }, 'pushed position not written'),
      );
    });
  }

  /**
   * One snapshot write. A write older than the symbol's last one is skipped: a poll's slice
   * issued after an event's write must not put the amount from before that event back. The
   * check and the command are issued in one turn, and one connection keeps their order.
   */
  private write(p: Position, asOfMs: number): Promise<void> {
    const { store, metrics } = this.o;
    const last = this.writtenAtMs.get(p.symbol);
    if (last !== undefined && asOfMs < last) return Promise.resolve();
    this.writtenAtMs.set(p.symbol, asOfMs);
    const tsEpoch = Math.floor(asOfMs / 1000);
    this.lastOk.set(p.symbol, tsEpoch);
    const key = store.keys.positionSnapshot(p.symbol);
    const fields = snapshotFields(p, tsEpoch, this.o.source);
    const renew = !this.ttlRenewed.has(p.symbol);
    if (renew) this.ttlRenewed.note(p.symbol);
    metrics?.exchangeAmt.set({ symbol: p.symbol }, p.amount);
    metrics?.snapshotAge.set({ symbol: p.symbol }, 0);
    return renew ? store.hset(key, fields, SNAPSHOT_TTL_SEC) : store.hupdate(key, fields, SNAPSHOT_TTL_SEC);
  }

  /** One refresh of every symbol. Returns false when the exchange could not be read. */
  async refresh(): Promise<boolean> {
    const { store, exchange, clock, symbols, metrics } = this.o;
    if (symbols.length === 0) return true;
    // The time the request starts: the data is at least this old, never younger. An answer from
    // the user stream's view is as old as its `ageMs` says.
    let asOfMs = clock.now();
    let positions: Position[];
    try {
      positions = await exchange.positions([...symbols]);
      const ageMs = positions.reduce((a, p) => Math.max(a, p.ageMs ?? 0), 0);
      if (ageMs > 0) asOfMs = Math.min(asOfMs, clock.now() - ageMs);
    } catch (err) {
      this.failures++;
      const nowSec = clock.now() / 1000;
      for (const [symbol, at] of this.lastOk) metrics?.snapshotAge.set({ symbol }, nowSec - at);
      if (this.failures === 1 || this.failures % 12 === 0) {
        this.o.logger.warn(
          { failures: this.failures, err: (err as Error).message },
          'waiting for the exchange: position snapshots not refreshed (P3.3 denies stale_exchange_state)',
        );
      }
      return false;
    }
    if (this.failures > 0)
      this.o.logger.info({ after: this.failures }, 'exchange reachable again: snapshots fresh');
    this.failures = 0;
    // The snapshots written a slice at a time (a slice's commands share a socket write, where each
    // symbol was a round trip of its own), then every missing ledger seeded in one batch
    // (seedLedgers-N).
    const fresh: { p: Position; amount: Dec }[] = [];
    const seen = new Set<string>();
    for (const p of positions) {
      if (!this.symbols.has(p.symbol) || seen.has(p.symbol)) continue;
      seen.add(p.symbol);
      const amount = parseDec(p.amountText);
      if (!amount) {
        this.o.logger.warn(
          { symbol: p.symbol, amount: p.amountText.slice(0, 40) },
          'exchange amount unparseable: snapshot skipped',
        );
        continue;
      }
      fresh.push({ p, amount });
    }
    // In slices: one slice's writes leave together, and plan evaluations run between slices
    // (all 1,000 at once held this process's event loop for tens of ms: p99 of the hand-off).
    for (let i = 0; i < fresh.length; i += WRITE_SLICE) {
      await Promise.all(fresh.slice(i, i + WRITE_SLICE).map(({ p }) => this.write(p, asOfMs)));
    }
    const tsEpoch = Math.floor(asOfMs / 1000);
    const seeded = await store.seedLedgers({
      ledgers: fresh.map(({ p, amount }) => ({
        ledgerKey: store.keys.positionLedger(p.symbol),
        fields: seededLedgerFields(amount, tsEpoch),
      })),
      ttlSec: LEDGER_TTL_SEC,
    });
    fresh.forEach(({ p }, i) => {
      if (!seeded[i]) return;
      metrics?.ledgerAmt.set({ symbol: p.symbol }, p.amount);
      this.o.logger.info({ symbol: p.symbol, amount: p.amountText }, 'ledger seeded from the exchange');
    });
    return true;
  }
}
