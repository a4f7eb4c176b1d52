/**
 * A recording exchange double honouring ExchangePort: positions and rules set by the test,
 * every call recorded, MARKET reduce-only orders filled at the mark price, and per-call failure
 * hooks. Services are also tested against the paper exchange; this double keeps unit tests fast.
 */
import {
  ExchangeError,
  type ExchangePort,
  type MarketReduceRequest,
  type OrderFill,
  type OrderOutcome,
  type OrdersSince,
  type Position,
  type LookupOptions,
  type StopFound,
  type StopLossRequest,
  type StopOutcome,
  type SymbolRules,
} from '../../src/exchange/port.js';

export interface RecordedCall {
  method: string;
  args: unknown[];
}

// PRICE_FILTER bounds as Binance USD-M lists them for these symbols.
const DEFAULT_RULES: Record<string, Partial<SymbolRules>> = {
  BTCUSDT: { stepSize: '0.001', minQty: '0.001', tickSize: '0.1', minPrice: '556.8', maxPrice: '4529764' },
  ETHUSDT: { stepSize: '0.001', minQty: '0.001', tickSize: '0.01', minPrice: '39.86', maxPrice: '306177' },
  SOLUSDT: { stepSize: '1', minQty: '1', tickSize: '0.01', minPrice: '0.42', maxPrice: '6857' },
};

export class FakeExchange implements ExchangePort {
  readonly calls: RecordedCall[] = [];
  readonly orders: OrderFill[] = [];
  readonly stops: StopLossRequest[] = [];
  /** clientAlgoId → algo id and status of every stop placed (replaced ones CANCELED). */
  readonly placedStops = new Map<string, StopFound & { symbol: string }>();
  /** When each order (by order id) was placed: Date.now() at placement, or set by a test. */
  readonly placedAt = new Map<string, number>();
  private readonly amounts = new Map<string, number>();
  private readonly marks = new Map<string, number>();
  private nextId = 1;
  /** Set to make the next calls of a method fail (ExchangeError with this reason). */
  failWith: Partial<Record<keyof ExchangePort, string>> = {};

  constructor(positions: Record<string, number> = {}, marks: Record<string, number> = {}) {
    for (const [s, a] of Object.entries(positions)) this.amounts.set(s, a);
    for (const [s, m] of Object.entries(marks)) this.marks.set(s, m);
  }

  setPosition(symbol: string, amount: number): void {
    this.amounts.set(symbol, amount);
  }

  setMark(symbol: string, mark: number): void {
    this.marks.set(symbol, mark);
  }

  private record(method: keyof ExchangePort, args: unknown[]): void {
    this.calls.push({ method, args });
    const reason = this.failWith[method];
    if (reason) throw new ExchangeError(reason, `fake failure: ${reason}`);
  }

  async symbolRules(symbol: string): Promise<SymbolRules> {
    this.record('symbolRules', [symbol]);
    const r = DEFAULT_RULES[symbol];
    if (!r) throw new ExchangeError('invalid_symbol', `unknown symbol ${symbol}`, -1121, 400);
    return {
      symbol,
      stepSize: '0.001',
      minQty: '0.001',
      maxQty: '1000',
      tickSize: '0.01',
      minPrice: '0.01',
      maxPrice: '1000000',
      minNotional: '5',
      ...r,
    };
  }

  async position(symbol: string, _opts?: { maxAgeMs?: number }): Promise<Position> {
    this.record('position', [symbol]);
    return this.snapshot(symbol);
  }

  async positions(symbols: string[]): Promise<Position[]> {
    this.record('positions', [symbols]);
    return symbols.map((s) => this.snapshot(s));
  }

  async markPrice(symbol: string): Promise<number> {
    this.record('markPrice', [symbol]);
    return this.marks.get(symbol) ?? 100;
  }

  async placeReduceOnlyMarket(req: MarketReduceRequest): Promise<OrderOutcome> {
    this.record('placeReduceOnlyMarket', [req]);
    const amt = this.amounts.get(req.symbol) ?? 0;
    const qty = Number(req.quantity);
    const reduces = (amt > 0 && req.side === 'SELL') || (amt < 0 && req.side === 'BUY');
    if (!reduces || qty > Math.abs(amt) + 1e-12) {
      return {
        kind: 'rejected',
        reason: 'reduce_only_rejected',
        code: -2022,
        message: 'ReduceOnly Order is rejected.',
      };
    }
    this.amounts.set(req.symbol, amt + (req.side === 'BUY' ? qty : -qty));
    const order: OrderFill = {
      orderId: String(this.nextId++),
      clientOrderId: req.clientOrderId,
      symbol: req.symbol,
      side: req.side,
      status: 'FILLED',
      origQty: req.quantity,
      executedQty: req.quantity,
      avgPrice: String(this.marks.get(req.symbol) ?? 100),
      reduceOnly: true,
    };
    this.orders.push(order);
    this.placedAt.set(order.orderId, Date.now());
    return { kind: 'filled', order, recovered: false };
  }

  async placeStopLoss(req: StopLossRequest): Promise<StopOutcome> {
    this.record('placeStopLoss', [req]);
    const replaced = this.stops.filter((s) => s.symbol === req.symbol).map((s) => s.clientAlgoId);
    for (const id of replaced) {
      const old = this.placedStops.get(id);
      if (old) old.status = 'CANCELED';
    }
    this.stops.splice(0, this.stops.length, ...this.stops.filter((s) => s.symbol !== req.symbol), req);
    const algoId = String(this.nextId++);
    this.placedStops.set(req.clientAlgoId, { algoId, status: 'NEW', symbol: req.symbol });
    return { kind: 'placed', algoId, clientAlgoId: req.clientAlgoId, replaced };
  }

  async findStopLoss(symbol: string, clientAlgoId: string, opts?: LookupOptions): Promise<StopFound | null> {
    this.record('findStopLoss', opts ? [symbol, clientAlgoId, opts] : [symbol, clientAlgoId]);
    const found = this.placedStops.get(clientAlgoId);
    return found && found.symbol === symbol ? { algoId: found.algoId, status: found.status } : null;
  }

  async findOrder(symbol: string, clientOrderId: string, opts?: LookupOptions): Promise<OrderFill | null> {
    this.record('findOrder', opts ? [symbol, clientOrderId, opts] : [symbol, clientOrderId]);
    return this.orders.find((o) => o.symbol === symbol && o.clientOrderId === clientOrderId) ?? null;
  }

  async ordersSince(symbol: string, startMs: number): Promise<OrdersSince> {
    this.record('ordersSince', [symbol, startMs]);
    const orders = this.orders
      .map((o) => ({ ...o, time: this.placedAt.get(o.orderId) ?? 0 }))
      .filter((o) => o.symbol === symbol && o.time >= startMs);
    return { orders, pages: 1, complete: true };
  }

  async findOrderById(symbol: string, orderId: string, opts?: LookupOptions): Promise<OrderFill | null> {
    this.record('findOrderById', opts ? [symbol, orderId, opts] : [symbol, orderId]);
    return this.orders.find((o) => o.symbol === symbol && o.orderId === orderId) ?? null;
  }

  async close(): Promise<void> {}

  private snapshot(symbol: string): Position {
    const amount = this.amounts.get(symbol) ?? 0;
    const mark = this.marks.get(symbol) ?? 100;
    return {
      symbol,
      amount,
      amountText: String(amount),
      entryPrice: mark,
      markPrice: mark,
      unrealizedPnl: 0,
      leverage: 10,
      updateTime: 0,
    };
  }
}
