/**
 * Moves the P3.3 ledger with executed results, each exactly once: a durable cursor (id of the
 * last result entry handled) and a compare-and-set on the ledger advance together in one script
 * (Store.applyLedgerResult). Restarts resume at the cursor; a hand edit between our read and
 * write makes the write fail and we read again. A ledger missing when a fill arrives is seeded
 * from a fresh exchange read, which already includes that fill.
 */
import { parseDec, toNumber, toText, type Dec } from '../../domain/position/dec.js';
import {
  applyFill,
  ledgerFieldsAfter,
  parseResultEntry,
  type ExecutedFill,
} from '../../domain/position/ledger.js';
import type { ExchangePort } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';
import type { P33Metrics } from '../../ops/metrics.js';
import type { Store, StreamEntry } from '../../store/port.js';
import { LEDGER_TTL_SEC } from './snapshots.js';

export interface LedgerFollowerOptions {
  store: Store;
  exchange: ExchangePort;
  clock: Clock;
  symbols: readonly string[];
  metrics?: P33Metrics;
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
  batch?: number;
}

const CAS_RETRIES = 5;

export class LedgerFollower {
  constructor(private readonly o: LedgerFollowerOptions) {}

  /**
   * The cursor; on first start it is placed at the newest result (history is already in the
   * exchange amount the ledger is seeded from). SET NX so replicas agree.
   */
  async cursor(): Promise<string> {
    const { store } = this.o;
    const key = store.keys.ledgerCursor();
    const cur = await store.get(key);
    if (cur !== null) return cur;
    const last = await store.xrevrange(store.keys.resultStream(), '+', '-', 1);
    await store.set(key, last[0]?.id ?? '0-0', { nx: true });
    return (await store.get(key)) ?? '0-0';
  }

  /** Applies the results after the cursor (one batch). Returns how many entries were handled. */
  async poll(): Promise<number> {
    const { store } = this.o;
    const cur = await this.cursor();
    const entries = (
      await store.xrange(store.keys.resultStream(), cur, '+', (this.o.batch ?? 100) + 1)
    ).filter((e) => e.id !== cur);
    for (const e of entries) await this.apply(e);
    return entries.length;
  }

  private async apply(entry: StreamEntry): Promise<void> {
    const { store, symbols, metrics } = this.o;
    const parsed = parseResultEntry(entry.fields);
    const fills: ExecutedFill[] = [];
    for (const p of parsed) {
      if (p.kind === 'fill' && symbols.includes(p.fill.symbol)) fills.push(p.fill);
      if (p.kind === 'invalid') {
        metrics?.inputRejected.inc({ reason: `result_${p.reason}` });
        this.o.logger.warn({ entry: entry.id, reason: p.reason }, 'result entry not applied to the ledger');
      }
    }
    const symbol = fills[0]?.symbol;
    const mine = fills.filter((f) => f.symbol === symbol);
    if (symbol === undefined) {
      await this.write(entry.id, store.keys.positionLedger('_'), { kind: 'any' }, {});
      return;
    }
    for (let attempt = 0; attempt < CAS_RETRIES; attempt++) {
      const code = await this.tryApply(entry.id, symbol, mine);
      if (code !== 'conflict') {
        if (code === 'applied') metrics?.ledgerApplied.inc({ symbol });
        return;
      }
    }
    throw new Error(`ledger ${symbol}: changed under us ${CAS_RETRIES} times`);
  }

  private async tryApply(id: string, symbol: string, fills: ExecutedFill[]) {
    const { store, clock } = this.o;
    const key = store.keys.positionLedger(symbol);
    const nowSec = clock.now() / 1000;
    const ledger = await store.hgetall(key);
    const raw = ledger.last_known_amt;
    if (raw === undefined) {
      // Seed from the exchange now: the fill this result reports is already in that amount.
      const pos = await this.o.exchange.position(symbol);
      const amt = parseDec(pos.amountText);
      if (!amt) throw new Error(`ledger ${symbol}: exchange amount unparseable`);
      const fields = {
        ...ledgerFieldsAfter(amt, fills[fills.length - 1]!, nowSec),
        last_known_amt: toText(amt),
      };
      return this.write(id, key, { kind: 'absent' }, fields, amt, symbol);
    }
    const current = parseDec(raw);
    if (!current) {
      this.o.logger.warn(
        { symbol, entry: id },
        'ledger last_known_amt unparseable: result skipped, fix it by hand',
      );
      return this.write(id, key, { kind: 'value', lastKnownAmt: raw }, {});
    }
    let amt: Dec = current;
    for (const f of fills) amt = applyFill(amt, f.side, f.executedQty);
    const fields = {
      ...ledgerFieldsAfter(current, fills[fills.length - 1]!, nowSec),
      last_known_amt: toText(amt),
    };
    return this.write(id, key, { kind: 'value', lastKnownAmt: raw }, fields, amt, symbol);
  }

  private async write(
    id: string,
    ledgerKey: string,
    expect: Parameters<Store['applyLedgerResult']>[0]['expect'],
    fields: Record<string, string>,
    amt?: Dec,
    symbol?: string,
  ) {
    const { store } = this.o;
    const code = await store.applyLedgerResult({
      ledgerKey,
      cursorKey: store.keys.ledgerCursor(),
      entryId: id,
      expect,
      ttlSec: LEDGER_TTL_SEC,
      fields,
    });
    if (code === 'applied' && amt && symbol) {
      this.o.metrics?.ledgerAmt.set({ symbol }, toNumber(amt));
      this.o.logger.info(
        { symbol, entry: id, last_known_amt: toText(amt) },
        'ledger updated from an executed result',
      );
    }
    return code;
  }
}
