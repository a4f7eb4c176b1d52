/**
 * Moves the P3.3 ledger with executed results, each exactly once: a durable cursor (id of the
 * last result entry handled) and a compare-and-set on the ledger advance together in one script
 * (Store.applyLedgerResults: a poll's batch in one step). Restarts resume at the cursor. The
 * amount a write expects is the one this follower last wrote (else a read): a hand edit, another
 * replica's write or an expiry in between makes the write fail, and we read again. A ledger
 * missing when a fill arrives is seeded from a fresh exchange read, which already includes that fill.
 * An executed result that reports no fill quantity (an order only acknowledged, as the fleet's
 * apply gets it) is resolved from the exchange before it is applied: by its order id (the fill
 * the exchange recorded; an order still working is waited for, briefly), else by the position
 * (the ledger takes the exchange's amount); never skipped, and counted either way.
 * A handled result then settles its plan's P3.3 reservation (reservationRelease): an order that
 * was not placed releases it; a fill marks it done once the ledger holds the fill, and it keeps
 * counting against snapshots read before that (they may not show the fill yet).
 */
import { parseDec, toNumber, toText, type Dec } from '../../domain/decimal.js';
import {
  applyFill,
  fillFromOrder,
  ledgerFieldsAfter,
  ledgerFieldsResynced,
  parseResultEntry,
  reservationRelease,
  type ExecutedFill,
  type ReservationRelease,
  type UnfilledStep,
} from '../../domain/position/ledger.js';
import { doneField, reservationField } from '../../domain/position/reservations.js';
import type { ExchangePort } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';
import type { P33Metrics } from '../../ops/metrics.js';
import type { LedgerBatchRequest, LedgerWriteCode, Store, StreamEntry } from '../../store/port.js';
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
  /**
   * TTL a done mark gives the reservation hash (the mark is a new field, so Store.hupdate renews
   * the TTL): at least as long as any TTL a grant gives it (reservationHashTtlSec), so a mark
   * never shortens a hash whose reservations or grant cooldown still count. Default 3600.
   */
  reservationTtlSec?: number;
  /**
   * Which stream the ledger follows, and its cursor: the result stream (default), or the
   * reconciled stream (what apply's reconciler found of orders a result left unknown; same format).
   */
  source?: 'results' | 'reconciled';
}

const CAS_RETRIES = 5;
/** How long an entry whose order is still working waits for it to settle (fillFromOrder). */
const WORKING_ORDER_WAIT_MS = 10_000;

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

  private readonly stream: string;
  private readonly cursorKey: string;

  constructor(private readonly o: LedgerFollowerOptions) {
    this.symbols = new Set(o.symbols);
    this.ttlRenewed = new RecentSymbols(o.clock, TTL_RENEW_MS);
    const k = o.store.keys;
    const reconciled = o.source === 'reconciled';
    this.stream = reconciled ? k.reconciledStream() : k.resultStream();
    this.cursorKey = reconciled ? k.reconciledCursor() : k.ledgerCursor();
  }

  /**
   * The cursor; on first start it is placed at the newest result (history is already in the
   * exchange amount the ledger is seeded from). SET NX so replicas agree.
   */
  async cursor(): Promise<string> {
    const { store } = this.o;
    const key = this.cursorKey;
    const cur = await store.get(key);
    if (cur !== null) return cur;
    const last = await store.xrevrange(this.stream, '+', '-', 1);
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
    const entries = (await store.xrange(this.stream, cur, '+', (this.o.batch ?? 100) + 1)).filter(
      (e) => e.id !== cur,
    );
    const parsed = entries.map((e) => this.parse(e));
    // Entries up to one whose fill cannot be asked of the exchange now are applied, then we wait.
    const { resolved: plans, failed } = await this.resolveUnfilled(parsed);
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
    if (failed !== null) throw failed;
    return entries.length;
  }

  /** How long ago a stream entry was added, from its id (ms since the epoch, Redis' clock). */
  private entryAgeMs(id: string): number {
    return this.o.clock.now() - Number(id.split('-')[0]);
  }

  /**
   * Asks the exchange what each unfilled step's order filled (fillFromOrder); an order it cannot
   * settle makes its entry a resync (the ledger takes the position). Returns the entries resolved,
   * in order, up to the first whose lookup failed, and that failure.
   */
  private async resolveUnfilled(plans: Planned[]): Promise<{ resolved: Planned[]; failed: unknown }> {
    const { exchange, logger, metrics } = this.o;
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i]!;
      for (const step of p.unfilled) {
        let found;
        try {
          found = step.orderId === '' ? null : await exchange.findOrderById(step.symbol, step.orderId);
        } catch (err) {
          return { resolved: plans.slice(0, i), failed: err };
        }
        const r = fillFromOrder(step, found);
        // A MARKET order still working settles within moments: its entry waits for that, up to
        // WORKING_ORDER_WAIT_MS from the entry, before the position has to stand in for it.
        if (
          r.kind === 'unknown' &&
          r.why === 'order_not_final' &&
          this.entryAgeMs(p.id) < WORKING_ORDER_WAIT_MS
        ) {
          return {
            resolved: plans.slice(0, i),
            failed: new Error(`order ${step.orderId} of ${step.symbol} still working: its result waits`),
          };
        }
        const via = r.kind === 'fill' ? 'order' : r.kind === 'none' ? 'order_unfilled' : 'position';
        metrics?.ledgerFillResolved.inc({ symbol: step.symbol, via });
        const ctx = { symbol: step.symbol, entry: p.id, plan: step.planId, order_id: step.orderId };
        if (r.kind === 'fill') {
          p.fills.push(r.fill);
          logger.info(
            { ...ctx, executed_qty: toText(r.fill.executedQty) },
            'executed result without a fill quantity: fill read from the exchange order',
          );
        } else if (r.kind === 'none') {
          logger.info(ctx, 'executed result without a fill quantity: the order ended unfilled');
        } else {
          p.resync = step;
          logger.warn(
            { ...ctx, why: r.why },
            'executed result without a fill quantity: the order cannot tell, the ledger takes the position',
          );
        }
      }
      const first = p.unfilled[0];
      if (first && (p.fills.length > 0 || p.resync)) p.symbol = first.symbol;
    }
    return { resolved: plans, failed: null };
  }

  /** An entry's fills for one of our symbols (the first such symbol's, as the seed did). */
  private parse(entry: StreamEntry): Planned {
    const { metrics } = this.o;
    const fills: ExecutedFill[] = [];
    const unfilled: UnfilledStep[] = [];
    const parsed = parseResultEntry(entry.fields);
    for (const p of parsed) {
      if (p.kind === 'fill' && this.symbols.has(p.fill.symbol)) fills.push(p.fill);
      if (p.kind === 'unfilled' && this.symbols.has(p.step.symbol)) unfilled.push(p.step);
      if (p.kind === 'invalid') {
        metrics?.inputRejected.inc({ reason: `result_${p.reason}` });
        this.o.logger.warn({ entry: entry.id, reason: p.reason }, 'result entry not applied to the ledger');
      }
    }
    const symbol = fills[0]?.symbol;
    const release = reservationRelease(entry.fields, parsed);
    return {
      id: entry.id,
      symbol,
      fills: fills.filter((f) => f.symbol === symbol),
      unfilled,
      resync: null,
      release: release && this.symbols.has(release.symbol) ? release : null,
    };
  }

  /**
   * Settles the reservations of the entries handled (`codes`, in the order of `writes`): deleted
   * for an order that was not placed; for a fill, marked done (`done:<id>`, now) after the ledger
   * write, so that snapshots read before it go on counting it and later ones hold the fill. An
   * entry whose fill is not in the ledger (its ledger unreadable) leaves its reservation to lapse.
   * A failure here leaves reservations to lapse too: counted too long, never too short.
   */
  private async release(writes: Write[], codes: LedgerWriteCode[]): Promise<void> {
    const { store, clock } = this.o;
    const gone = new Map<string, string[]>();
    const done = new Map<string, Record<string, string>>();
    const nowSec = String(clock.now() / 1000);
    codes.forEach((code, i) => {
      const w = writes[i]!;
      const r = w.release;
      if (!r || code === 'conflict') return;
      // 'already_applied': the cursor passed the entry, which it does only with its ledger write.
      if (r.afterFill && code === 'applied' && w.amt === undefined) return;
      if (r.afterFill) done.set(r.symbol, { ...done.get(r.symbol), [doneField(r.planId)]: nowSec });
      else gone.set(r.symbol, [...(gone.get(r.symbol) ?? []), reservationField(r.planId)]);
    });
    await Promise.all([
      ...[...gone].map(([symbol, fields]) => store.hdel(store.keys.p33Reserved(symbol), fields)),
      // hupdate: a hash that lapsed meanwhile is not re-created without a TTL.
      ...[...done].map(([symbol, fields]) =>
        store.hupdate(store.keys.p33Reserved(symbol), fields, this.o.reservationTtlSec ?? 3600),
      ),
    ]);
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
        writes.push({
          entryId: p.id,
          ledgerKey: null,
          expect: { kind: 'any' },
          fields: {},
          release: p.release,
        });
        continue;
      }
      const key = store.keys.positionLedger(p.symbol);
      const nowSec = clock.now() / 1000;
      const raw = amt.get(p.symbol);
      // An entry with a symbol has a fill or a resync (resolveUnfilled sets the symbol so): without
      // a resync, `last` is there.
      const last = p.fills[p.fills.length - 1];
      if (raw === undefined || p.resync !== null) {
        // Seed from the exchange now: the fill this result reports is already in that amount.
        // A resync takes it too: the exchange alone knows what an unresolved order filled.
        let seed: Dec | null;
        try {
          seed = parseDec((await this.o.exchange.position(p.symbol)).amountText);
          if (!seed) throw new Error(`ledger ${p.symbol}: exchange amount unparseable`);
        } catch (err) {
          failed = err; // the entries before this one are still applied, then we wait
          break;
        }
        const previous = raw === undefined ? null : parseDec(raw);
        const fields =
          p.resync !== null
            ? ledgerFieldsResynced(previous, seed, p.resync, nowSec)
            : { ...ledgerFieldsAfter(seed, last!, nowSec), last_known_amt: toText(seed) };
        writes.push({
          entryId: p.id,
          ledgerKey: key,
          expect: raw === undefined ? { kind: 'absent' } : { kind: 'value', lastKnownAmt: raw },
          fields,
          amt: seed,
          p,
          release: p.release,
        });
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
          release: p.release,
        });
        continue;
      }
      let next: Dec = current;
      for (const f of p.fills) next = applyFill(next, f.side, f.executedQty);
      const fields = { ...ledgerFieldsAfter(current, last!, nowSec), last_known_amt: toText(next) };
      writes.push({
        entryId: p.id,
        ledgerKey: key,
        expect: { kind: 'value', lastKnownAmt: raw },
        fields,
        amt: next,
        p,
        release: p.release,
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
        cursorKey: this.cursorKey,
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
    await this.release(writes, codes);
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
  /** Order steps executed without a fill quantity, resolved from the exchange before the write. */
  unfilled: UnfilledStep[];
  /** The step whose order the exchange could not settle: the ledger takes the position. */
  resync: UnfilledStep | null;
  /** The plan's reservation this entry releases once handled; null: none, or it must lapse. */
  release: ReservationRelease | null;
}

type Write = Omit<LedgerBatchRequest['entries'][number], 'renewTtl'> & {
  amt?: Dec;
  p?: Planned;
  release?: ReservationRelease | null;
};
