/**
 * Moves the P3.3 ledger with executed results, each exactly once: a durable cursor (id of the
 * last result entry handled) and a compare-and-set on the ledger advance together in one script
 * (Store.applyLedgerResults: a poll's batch in one step). Restarts resume at the cursor. The
 * amount a write expects is the one this follower last wrote (else a read): a hand edit, another
 * replica's write or an expiry in between makes the write fail, and we read again. A ledger
 * missing when a fill arrives is seeded from a fresh exchange read, which already includes that fill.
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
import type { LedgerBatchRequest, Store, StreamEntry } from '../../store/port.js';
import { RecentSymbols, TTL_RENEW_MS } from '../recent-symbols.js';
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
  private readonly symbols: ReadonlySet<string>;
  /**
   * last_known_amt as this follower last wrote it, per symbol: the next batch takes it from here
   * instead of reading the ledger first (a HGETALL per executed plan). The compare-and-set in the
   * script still checks it, so a ledger changed by anyone else (a hand edit, another replica, its
   * expiry) is a conflict, which drops the entry here and the ledger is read again.
   */
  private readonly written = new Map<string, string>();
  /** Symbols whose ledger TTL a write of ours renewed within TTL_RENEW_MS. */
  private readonly ttlRenewed: RecentSymbols;

  constructor(private readonly o: LedgerFollowerOptions) {
    this.symbols = new Set(o.symbols);
    this.ttlRenewed = new RecentSymbols(o.clock, TTL_RENEW_MS);
  }

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

  /**
   * Applies the results after the cursor (one batch). Returns how many entries were handled.
   * The batch goes to Redis as one applyLedgerResults step (the ledgers it touches read once,
   * together, before it); a conflict (a hand edit between our read and our write) stops the step
   * at that entry, which is read and tried again, up to CAS_RETRIES times.
   */
  async poll(): Promise<number> {
    const { store } = this.o;
    const cur = await this.cursor();
    const entries = (
      await store.xrange(store.keys.resultStream(), cur, '+', (this.o.batch ?? 100) + 1)
    ).filter((e) => e.id !== cur);
    const plans = entries.map((e) => this.parse(e));
    let from = 0;
    let conflicts = 0;
    while (from < plans.length) {
      const done = await this.applyFrom(plans.slice(from));
      if (done.conflict) {
        conflicts = done.handled === 0 ? conflicts + 1 : 1;
        const symbol = plans[from + done.handled]?.symbol ?? '?';
        if (conflicts >= CAS_RETRIES)
          throw new Error(`ledger ${symbol}: changed under us ${CAS_RETRIES} times`);
      } else conflicts = 0;
      from += done.handled;
    }
    return entries.length;
  }

  /** An entry's fills for one of our symbols (the first such symbol's, as the seed did). */
  private parse(entry: StreamEntry): Planned {
    const { metrics } = this.o;
    const fills: ExecutedFill[] = [];
    for (const p of parseResultEntry(entry.fields)) {
      if (p.kind === 'fill' && this.symbols.has(p.fill.symbol)) fills.push(p.fill);
      if (p.kind === 'invalid') {
        metrics?.inputRejected.inc({ reason: `result_${p.reason}` });
        this.o.logger.warn({ entry: entry.id, reason: p.reason }, 'result entry not applied to the ledger');
      }
    }
    const symbol = fills[0]?.symbol;
    return { id: entry.id, symbol, fills: fills.filter((f) => f.symbol === symbol) };
  }

  /**
   * Reads the ledgers of `plans` (one round trip), computes each entry's write in stream order
   * (an entry sees the amount the previous one of its symbol leaves), and applies them in one
   * step. Returns how many entries were handled and whether the next one conflicted.
   */
  private async applyFrom(plans: Planned[]): Promise<{ handled: number; conflict: boolean }> {
    const { store, clock } = this.o;
    const symbols = [...new Set(plans.flatMap((p) => (p.symbol === undefined ? [] : [p.symbol])))];
    const unknown = symbols.filter((s) => !this.written.has(s));
    const read = await Promise.all(unknown.map((s) => store.hgetall(store.keys.positionLedger(s))));
    /** Each symbol's last_known_amt as the next entry of it will find it (undefined: absent). */
    const amt = new Map<string, string | undefined>(unknown.map((s, i) => [s, read[i]!.last_known_amt]));
    for (const s of symbols) if (this.written.has(s)) amt.set(s, this.written.get(s));
    const writes: Write[] = [];
    let failed: unknown = null;
    for (const p of plans) {
      if (p.symbol === undefined) {
        writes.push({ entryId: p.id, ledgerKey: null, expect: { kind: 'any' }, fields: {} });
        continue;
      }
      const key = store.keys.positionLedger(p.symbol);
      const nowSec = clock.now() / 1000;
      const raw = amt.get(p.symbol);
      const last = p.fills[p.fills.length - 1]!;
      if (raw === undefined) {
        // Seed from the exchange now: the fill this result reports is already in that amount.
        let seed: Dec | null;
        try {
          seed = parseDec((await this.o.exchange.position(p.symbol)).amountText);
          if (!seed) throw new Error(`ledger ${p.symbol}: exchange amount unparseable`);
        } catch (err) {
          failed = err; // the entries before this one are still applied, then we wait
          break;
        }
        const fields = { ...ledgerFieldsAfter(seed, last, nowSec), last_known_amt: toText(seed) };
        writes.push({ entryId: p.id, ledgerKey: key, expect: { kind: 'absent' }, fields, amt: seed, p });
        amt.set(p.symbol, fields.last_known_amt);
        continue;
      }
      const current = parseDec(raw);
      if (!current) {
        this.o.logger.warn(
          { symbol: p.symbol, entry: p.id },
          'ledger last_known_amt unparseable: result skipped, fix it by hand',
        );
        writes.push({
          entryId: p.id,
          ledgerKey: key,
          expect: { kind: 'value', lastKnownAmt: raw },
          fields: {},
          p,
        });
        continue;
      }
      let next: Dec = current;
      for (const f of p.fills) next = applyFill(next, f.side, f.executedQty);
      const fields = { ...ledgerFieldsAfter(current, last, nowSec), last_known_amt: toText(next) };
      writes.push({
        entryId: p.id,
        ledgerKey: key,
        expect: { kind: 'value', lastKnownAmt: raw },
        fields,
        amt: next,
        p,
      });
      amt.set(p.symbol, fields.last_known_amt);
    }
    if (writes.length === 0 && failed !== null) throw failed;
    // A ledger's TTL is renewed by its first write of a batch that has fields, then once a minute
    // at most.
    const renewing = new Set<string>();
    const renew = writes.map(({ p, fields }) => {
      const symbol = p?.symbol;
      if (symbol === undefined || Object.keys(fields).length === 0) return false;
      if (renewing.has(symbol) || this.ttlRenewed.has(symbol)) return false;
      renewing.add(symbol);
      return true;
    });
    let codes: Awaited<ReturnType<Store['applyLedgerResults']>>;
    try {
      codes = await store.applyLedgerResults({
        cursorKey: store.keys.ledgerCursor(),
        ttlSec: LEDGER_TTL_SEC,
        entries: writes.map(({ entryId, ledgerKey, expect, fields }, i) => ({
          entryId,
          ledgerKey,
          expect,
          fields,
          renewTtl: renew[i]!,
        })),
      });
    } catch (err) {
      this.written.clear(); // the step may or may not have run: read every ledger next time
      throw err;
    }
    codes.forEach((code, i) => {
      const w = writes[i]!;
      const symbol = w.p?.symbol;
      if (symbol === undefined) return;
      const wrote = w.fields.last_known_amt;
      if (code === 'applied' && wrote !== undefined) this.written.set(symbol, wrote);
      else this.written.delete(symbol); // conflict, or not written by us: read it next time
      if (code !== 'applied') return;
      if (renew[i]) this.ttlRenewed.note(symbol);
      this.o.metrics?.ledgerApplied.inc({ symbol });
      if (!w.amt) return;
      this.o.metrics?.ledgerAmt.set({ symbol }, toNumber(w.amt));
      this.o.logger.info(
        { symbol, entry: w.entryId, last_known_amt: toText(w.amt) },
        'ledger updated from an executed result',
      );
    });
    const conflict = codes[codes.length - 1] === 'conflict';
    if (!conflict && failed !== null) throw failed;
    return { handled: conflict ? codes.length - 1 : codes.length, conflict };
  }
}

interface Planned {
  id: string;
  /** The symbol whose ledger the entry moves; undefined: it only moves the cursor. */
  symbol: string | undefined;
  fills: ExecutedFill[];
}

type Write = Omit<LedgerBatchRequest['entries'][number], 'renewTtl'> & { amt?: Dec; p?: Planned };
