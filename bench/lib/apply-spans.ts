/**
 * Where one hand-off's time goes, for bench/apply-latency.ts: the apply process's store and
 * exchange adapter are wrapped (bench only, nothing in src knows) so each step of a plan's order
 * path is stamped on the wall clock (performance.timeOrigin + performance.now(), as the fleet
 * process stamps the last permit): the permit's keyspace event, the consume, the client order id
 * lookup, the position read, the order intent write and the order handed to the adapter.
 */
import { performance } from 'node:perf_hooks';
import type { BinanceExchange } from '../../src/exchange/binance/index.js';
import type { Store } from '../../src/store/port.js';
import { fmt, markdownTable, summarize } from './stats.js';

const wall = (): number => performance.timeOrigin + performance.now();

interface Span {
  start: number;
  end: number;
}

/** A round as the fleet reports it: its plan, its order's client id, when the last permit left. */
export interface TracedRound {
  planId: string;
  clientOrderId: string;
  lastPermitWall: number;
  /** The order read by the exchange, ms after the last permit. */
  orderMs: number;
}

export class ApplySpans {
  /** First event per key (the permit's SET; its consume's DEL comes later), when it reached apply. */
  private readonly events = new Map<string, number>();
  /** Keyed by the consume's receipt key; the last attempt wins. */
  private readonly consumes = new Map<string, Span>();
  /** Keyed by client order id. */
  private readonly lookups = new Map<string, Span>();
  private readonly intents = new Map<string, Span>();
  private readonly handed = new Map<string, number>();
  /** One symbol, one plan at a time: a round's read is the last one started before its order. */
  private readonly positions: Span[] = [];

  constructor(
    private readonly store: Store,
    private readonly symbol: string,
  ) {}

  /** Wraps the store's and the adapter's methods on the order path (call before the service starts). */
  attach(exchange: BinanceExchange): void {
    const s = this.store;
    const span = async <T>(put: (sp: Span) => void, run: () => Promise<T>): Promise<T> => {
      const sp = { start: wall(), end: Number.NaN };
      try {
        return await run();
      } finally {
        sp.end = wall();
        put(sp);
      }
    };
    const onKeyChange = s.onKeyChange.bind(s);
    s.onKeyChange = (pattern, handler, opts) =>
      onKeyChange(
        pattern,
        (change) => {
          if (!this.events.has(change.key)) this.events.set(change.key, wall());
          handler(change);
        },
        opts,
      );
    const consume = s.consumePermits.bind(s);
    s.consumePermits = (keys, receipt, token, ttl, opts) =>
      span(
        (sp) => this.consumes.set(receipt, sp),
        () => consume(keys, receipt, token, ttl, opts),
      );
    const hset = s.hset.bind(s);
    s.hset = (key, fields, ttl) =>
      span(
        (sp) => fields.state === 'sending' && this.intents.set(fields.client_order_id ?? key, sp),
        () => hset(key, fields, ttl),
      );
    const createIntent = s.leases.createIntent.bind(s.leases);
    s.leases.createIntent = (keys, token, fields, ttl, consumeToken) =>
      span(
        (sp) => fields.state === 'sending' && this.intents.set(fields.client_order_id ?? keys.intent, sp),
        () => createIntent(keys, token, fields, ttl, consumeToken),
      );
    const findOrder = exchange.findOrder.bind(exchange);
    exchange.findOrder = (symbol, cid, o) =>
      span(
        (sp) => this.lookups.set(cid, sp),
        () => findOrder(symbol, cid, o),
      );
    const position = exchange.position.bind(exchange);
    exchange.position = (symbol, o) =>
      span(
        (sp) => this.positions.push(sp),
        () => position(symbol, o),
      );
    const place = exchange.placeReduceOnlyMarket.bind(exchange);
    exchange.placeReduceOnlyMarket = (req) => {
      this.handed.set(req.clientOrderId, wall());
      return place(req);
    };
  }

  /** Last permit → the adapter called, per round (ms). */
  serviceMs(rounds: readonly TracedRound[]): number[] {
    return rounds.map((r) => (this.handed.get(r.clientOrderId) ?? Number.NaN) - r.lastPermitWall);
  }

  /** p50 over rounds of each step's start and end, in ms after the last permit was sent. */
  table(rounds: readonly TracedRound[]): string {
    const k = this.store.keys;
    const steps: Array<[string, (r: TracedRound) => Span | undefined]> = [
      ['last permit: keyspace event in apply', (r) => point(this.events.get(k.permit('p33', r.planId)))],
      ['client order id lookup', (r) => this.lookups.get(r.clientOrderId)],
      ['consume (last attempt)', (r) => this.consumes.get(k.permitReceipt(r.planId))],
      ['position read', (r) => this.positionOf(r)],
      ['order intent write', (r) => this.intents.get(r.clientOrderId)],
      ['order handed to the adapter', (r) => point(this.handed.get(r.clientOrderId))],
      ['order read by the exchange', (r) => point(r.lastPermitWall + r.orderMs)],
    ];
    const rows = steps.map(([name, of]) => {
      const spans = rounds.map((r) => ({ r, sp: of(r) })).filter((x) => x.sp !== undefined);
      const start = summarize(spans.map(({ r, sp }) => sp!.start - r.lastPermitWall));
      const end = summarize(spans.map(({ r, sp }) => sp!.end - r.lastPermitWall));
      const took = summarize(spans.map(({ sp }) => sp!.end - sp!.start));
      return [name, String(spans.length), fmt(start.p50), fmt(end.p50), fmt(took.p50), fmt(took.p99)];
    });
    return markdownTable(
      ['step (ours)', 'n', 'p50 start ms', 'p50 end ms', 'p50 took ms', 'p99 took ms'],
      rows,
    );
  }

  private positionOf(r: TracedRound): Span | undefined {
    const handed = this.handed.get(r.clientOrderId);
    if (handed === undefined) return undefined;
    let found: Span | undefined;
    for (const sp of this.positions)
      if (sp.start <= handed && sp.start >= r.lastPermitWall - 1000) found = sp;
    return found;
  }
}

const point = (t: number | undefined): Span | undefined =>
  t === undefined ? undefined : { start: t, end: t };
