/**
 * The account as the user data stream tells it: each symbol's position and our orders' fills,
 * ordered by the events' `E` (an event older than what a symbol or an order already has is
 * dropped). A REST reconciliation replaces the positions and open orders wholesale; events are
 * absolute states (ACCOUNT_UPDATE's `pa`, ORDER_TRADE_UPDATE's `z`), so one that arrives after a
 * read is applied on top of it when it is not older than the read. No I/O, no clock: callers
 * pass the times.
 */
import type { OrderFill, Position } from '../port.js';
import { flatPosition } from './reads.js';
import type { AlgoUpdate, OrderUpdate, PositionUpdate, UserEvent } from './user-events.js';

/**
 * Statuses after which an order never changes again; FINISHED is an algo order's (its triggered
 * order is done).
 */
const FINAL = new Set(['FILLED', 'CANCELED', 'EXPIRED', 'EXPIRED_IN_MATCH', 'REJECTED', 'FINISHED']);

export function isFinalStatus(status: string): boolean {
  return FINAL.has(status);
}

/** What applying one event did (a metric label, and the consumers' cue). */
export type Applied = 'position' | 'order' | 'algo' | 'stale' | 'ignored' | 'hedge_mode';

interface Stamped<T> {
  /** Exchange time the value holds at: the event's `E`, or the read's start. */
  at: number;
  value: T;
}

export class AccountView {
  private positions = new Map<string, Stamped<Position>>();
  private orders = new Map<string, Stamped<OrderFill>>();
  /** Our algo (conditional) orders by clientAlgoId, as ALGO_UPDATE last told them. */
  private readonly algos = new Map<string, Stamped<AlgoUpdate>>();
  /** Symbols the stream reported in hedge mode: never answered from here. */
  private readonly hedged = new Set<string>();

  /** Applies one event; older than the symbol's (or order's) state → `stale`. */
  apply(ev: UserEvent): Applied[] {
    if (ev.kind === 'order') return [this.applyOrder(ev.eventTime, ev.order)];
    if (ev.kind === 'account') return ev.positions.map((p) => this.applyPosition(ev.eventTime, p));
    if (ev.kind === 'algo') return [this.applyAlgo(ev.eventTime, ev.algo)];
    return ['ignored'];
  }

  private applyAlgo(at: number, a: AlgoUpdate): Applied {
    if (!a.clientAlgoId) return 'ignored';
    const known = this.algos.get(a.clientAlgoId);
    if (known && (at < known.at || isFinalStatus(known.value.status))) return 'stale';
    this.algos.set(a.clientAlgoId, { at, value: a });
    return 'algo';
  }

  private applyPosition(at: number, p: PositionUpdate): Applied {
    if (p.positionSide !== 'BOTH') {
      this.hedged.add(p.symbol);
      return 'hedge_mode';
    }
    const known = this.positions.get(p.symbol);
    if (known && at < known.at) return 'stale';
    const amount = Number(p.amountText);
    this.positions.set(p.symbol, {
      at,
      value: {
        symbol: p.symbol,
        amount,
        amountText: p.amountText,
        entryPrice: Number(p.entryPrice),
        // ACCOUNT_UPDATE carries no mark price or leverage: kept from the last read.
        markPrice: known?.value.markPrice ?? 0,
        unrealizedPnl: p.unrealizedPnl === null ? (known?.value.unrealizedPnl ?? 0) : Number(p.unrealizedPnl),
        leverage: known?.value.leverage ?? null,
        updateTime: at,
      },
    });
    return 'position';
  }

  private applyOrder(at: number, o: OrderUpdate): Applied {
    if (!o.clientOrderId) return 'ignored';
    const known = this.orders.get(o.clientOrderId);
    if (known && (at < known.at || isFinalStatus(known.value.status))) return 'stale';
    this.orders.set(o.clientOrderId, {
      at,
      value: {
        orderId: o.orderId,
        clientOrderId: o.clientOrderId,
        symbol: o.symbol,
        side: o.side,
        status: o.status,
        origQty: o.origQty,
        executedQty: o.executedQty,
        avgPrice: o.avgPrice,
        reduceOnly: o.reduceOnly,
      },
    });
    return 'order';
  }

  /**
   * A REST reconciliation read at `at` (exchange time, the read's start): every position it
   * covers, and the account's open orders. Positions the stream moved past `at` keep the
   * stream's value; orders the view held open that are no longer open are forgotten (their end
   * was missed: a lookup goes to REST). `hedged`: symbols the read found in hedge mode.
   */
  reconcile(at: number, positions: Position[], openOrders: OrderFill[], hedged: string[] = []): void {
    const next = new Map<string, Stamped<Position>>();
    for (const p of positions) {
      const known = this.positions.get(p.symbol);
      next.set(p.symbol, known && known.at > at ? known : { at, value: p });
    }
    for (const [symbol, known] of this.positions)
      if (!next.has(symbol) && known.at > at) next.set(symbol, known);
    this.positions = next;
    const open = new Set(openOrders.map((o) => o.clientOrderId));
    for (const [id, o] of this.orders)
      if (!isFinalStatus(o.value.status) && !open.has(id)) this.orders.delete(id);
    for (const o of openOrders) {
      const known = this.orders.get(o.clientOrderId);
      if (!known || known.at <= at) this.orders.set(o.clientOrderId, { at, value: o });
    }
    // The read has no algo orders: one not yet finished may have moved on unseen (REST answers).
    for (const [id, a] of this.algos) if (!isFinalStatus(a.value.status) && a.at <= at) this.algos.delete(id);
    this.hedged.clear();
    for (const symbol of hedged) this.hedged.add(symbol);
  }

  /**
   * A symbol's position: flat when the last reconciliation covered the account and did not list
   * it. Null when hedge mode was reported for it (the adapter then reads by REST).
   */
  position(symbol: string): Position | null {
    if (this.hedged.has(symbol)) return null;
    return this.positions.get(symbol)?.value ?? flatPosition(symbol);
  }

  /** Our order with this client id as the stream last told it, or null. */
  order(clientOrderId: string): OrderFill | null {
    return this.orders.get(clientOrderId)?.value ?? null;
  }

  /** Our algo order with this clientAlgoId as ALGO_UPDATE last told it, or null. */
  algo(clientAlgoId: string): AlgoUpdate | null {
    return this.algos.get(clientAlgoId)?.value ?? null;
  }

  /** Forgets finished orders beyond `max` (oldest first), so a long run holds bounded memory. */
  trim(max: number): void {
    for (const map of [this.orders, this.algos] as Map<string, Stamped<{ status: string }>>[]) {
      if (map.size <= max) continue;
      for (const [id, o] of map) {
        if (map.size <= max) break;
        if (isFinalStatus(o.value.status)) map.delete(id);
      }
    }
  }
}
