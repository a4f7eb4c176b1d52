/**
 * The paper exchange's inspectable state: positions (exact decimal strings), marks, orders,
 * fills, algo orders and a request log. Tests read it to prove, e.g., that a fault did not
 * produce a second fill.
 */
import { addDecimal, parsePlainDecimal, canonicalText } from '../../domain/decimal.js';
import { ListenKeyBook } from './listen-keys.js';
import { PAPER_MARKETS, type PaperMarket } from './markets.js';

export interface PaperOrder {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  type: string;
  status: 'NEW' | 'FILLED' | 'CANCELED' | 'EXPIRED';
  origQty: string;
  executedQty: string;
  avgPrice: string;
  cumQuote: string;
  price: string;
  reduceOnly: boolean;
  timeInForce: string;
  time: number;
  updateTime: number;
  /** Set on the order a triggered algo order placed: the algo's type, trigger and settings. */
  origType?: string;
  stopPrice?: string;
  closePosition?: boolean;
  workingType?: string;
}

export interface PaperFill {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  qty: string;
  price: number;
  time: number;
  /** The symbol's position (decimal text) just before this fill: what a close could take. */
  positionBefore: string;
}

export interface PaperAlgoOrder {
  algoId: number;
  clientAlgoId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  orderType: string;
  triggerPrice: string;
  quantity: string;
  closePosition: boolean;
  reduceOnly: boolean;
  workingType: string;
  /** Binance's Algo Service statuses; TRIGGERING is passed through within one trigger. */
  algoStatus: 'NEW' | 'CANCELED' | 'TRIGGERING' | 'TRIGGERED' | 'FINISHED' | 'REJECTED' | 'EXPIRED';
  createTime: number;
  updateTime: number;
  /** The order a trigger placed ('' before), and when it triggered (0 before). */
  actualOrderId: string;
  triggerTime: number;
  /** Why the trigger was refused (ALGO_UPDATE `rm`). */
  rejectReason?: string;
}

/**
 * What changed, for the user data stream (user-stream.ts turns each into Binance's event). The
 * objects are read at once, while they still hold the state the change left.
 */
export type PaperEvent =
  | {
      type: 'order';
      order: PaperOrder;
      execution: 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED';
      time: number;
      /** The fill of a TRADE: its quantity, price, trade id and realized profit. */
      fill?: { qty: string; price: number; tradeId: number; realizedPnl: number };
      /** Binance's expire reason code (`er`), for EXPIRED. */
      expireReason?: number;
    }
  | { type: 'position'; symbol: string; reason: 'ORDER' | 'ADJUSTMENT'; time: number }
  | { type: 'algo'; algo: PaperAlgoOrder; time: number }
  | { type: 'streamClosed'; listenKey: string };

export interface RequestLogEntry {
  time: number;
  method: string;
  path: string;
  status: number;
  /** The fault applied, if any. */
  fault: string | null;
  clientOrderId: string | null;
  /** Length of the form body as received (signed params may travel there, ccxt puts them there). */
  bodyBytes: number;
}

/**
 * A float as the exchange's decimal text: 10 decimals at most, no trailing zeros, never "-0".
 * String work on toFixed's plain text (an account-wide positionRisk formats ~7,000 of these);
 * toFixed answers with an exponent from 1e21 on, which the exact parser refuses: '0', as ever.
 */
export function decimalOf(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite amount: ${n}`);
  const text = n.toFixed(10);
  if (text.includes('e')) {
    const parsed = parsePlainDecimal(text);
    return parsed ? canonicalText(parsed) : '0';
  }
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (text.charCodeAt(end - 1) === 46 /* . */) end--;
  const out = text.slice(0, end);
  return out === '-0' ? '0' : out;
}

export interface PaperStateOptions {
  /**
   * Markets listed besides PAPER_MARKETS (syntheticMarkets(n) for load tests, markets given on the
   * command line); one with a built-in symbol replaces it.
   */
  extraMarkets?: readonly PaperMarket[];
  /**
   * Load tests: every fill is booked (orders, fills, update time) but the position keeps its size,
   * so exits can run forever. P3.3's ledger then drifts from the exchange by design.
   */
  holdPositions?: boolean;
}

export class PaperState {
  readonly markets = new Map<string, PaperMarket>();
  /** Orders with status NEW (resting), so order checks do not scan every order ever placed. */
  readonly open = new Set<PaperOrder>();
  readonly holdPositions: boolean;
  readonly positions = new Map<string, string>();
  readonly entryPrices = new Map<string, number>();
  readonly marks = new Map<string, number>();
  readonly leverage = new Map<string, number>();
  readonly orders: PaperOrder[] = [];
  /** The latest order of each client order id, and each order by id: queries do not scan. */
  private readonly byClientId = new Map<string, PaperOrder>();
  private readonly byOrderId = new Map<string, PaperOrder>();
  readonly fills: PaperFill[] = [];
  readonly algoOrders: PaperAlgoOrder[] = [];
  readonly requestLog: RequestLogEntry[] = [];
  /** Requests received since start, by `METHOD path` (the log above keeps only the latest). */
  readonly requestCounts = new Map<string, number>();
  positionUpdateTime = new Map<string, number>();
  /** Realized profit per symbol since start (ACCOUNT_UPDATE `cr`) and the USDT wallet it moves. */
  readonly realized = new Map<string, number>();
  walletUsdt = 100_000;
  readonly listenKeys = new ListenKeyBook();
  private readonly listeners = new Set<(e: PaperEvent) => void>();
  nextOrderId = 4_000_000_001;
  nextAlgoId = 2_000_000_001;
  nextTradeId = 900_000_001;

  constructor(
    positions: Record<string, number> = {},
    marks: Record<string, number> = {},
    opts: PaperStateOptions = {},
  ) {
    this.holdPositions = opts.holdPositions ?? false;
    for (const market of [...PAPER_MARKETS, ...(opts.extraMarkets ?? [])]) {
      this.markets.set(market.symbol, market);
      this.marks.set(market.symbol, market.mark);
      this.positions.set(market.symbol, '0');
      this.leverage.set(market.symbol, 20);
    }
    for (const [s, p] of Object.entries(marks)) this.setMark(s, p);
    for (const [s, a] of Object.entries(positions)) this.setPosition(s, a);
  }

  /**
   * The listed symbols, for an unknown symbol's message: the first `limit` of them and how many
   * more (load tests list thousands of synthetic ones).
   */
  knownSymbols(limit = 40): string {
    const all = [...this.markets.keys()];
    const more = all.length > limit ? ` and ${all.length - limit} more` : '';
    return `${all.slice(0, limit).join(', ')}${more}`;
  }

  private requireMarket(symbol: string): void {
    if (!this.markets.has(symbol)) {
      throw new Error(`unknown paper symbol ${symbol}; known: ${this.knownSymbols()}`);
    }
  }

  setMark(symbol: string, mark: number): void {
    this.requireMarket(symbol);
    if (!(mark > 0)) throw new Error(`mark must be > 0 for ${symbol}`);
    this.marks.set(symbol, mark);
  }

  /** Sets a position by hand (entry at the current mark). */
  setPosition(symbol: string, amount: number, now = 0): void {
    this.requireMarket(symbol);
    this.positions.set(symbol, decimalOf(amount));
    this.entryPrices.set(symbol, amount === 0 ? 0 : this.markOf(symbol));
    this.positionUpdateTime.set(symbol, now);
  }

  /** Calls `listener` with every change from now on; returns the unsubscribe. */
  subscribe(listener: (e: PaperEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: PaperEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** An algo order's new status, and its ALGO_UPDATE. */
  setAlgoStatus(a: PaperAlgoOrder, status: PaperAlgoOrder['algoStatus'], now: number): void {
    a.algoStatus = status;
    a.updateTime = now;
    this.emit({ type: 'algo', algo: a, time: now });
  }

  /**
   * An order a triggered algo order placed is done (cancelled, expired): the algo order is
   * FINISHED, as Binance's Algo Service reports it once its order leaves the book.
   */
  finishAlgoOf(order: PaperOrder, now: number): void {
    if (!order.origType) return;
    const id = String(order.orderId);
    const a = this.algoOrders.find((x) => x.actualOrderId === id && x.algoStatus === 'TRIGGERED');
    if (a) this.setAlgoStatus(a, 'FINISHED', now);
  }

  markOf(symbol: string): number {
    return this.marks.get(symbol) ?? 0;
  }

  positionOf(symbol: string): number {
    return Number(this.positions.get(symbol) ?? '0');
  }

  /** Resting (NEW) orders, optionally of one symbol. */
  openOrders(symbol?: string): PaperOrder[] {
    const out: PaperOrder[] = [];
    for (const o of this.open) {
      if (o.status !== 'NEW') this.open.delete(o);
      else if (symbol === undefined || o.symbol === symbol) out.push(o);
    }
    return out;
  }

  /** Books a new order (a reused MARKET client id then answers with this, its latest order). */
  addOrder(order: PaperOrder): void {
    this.orders.push(order);
    this.byClientId.set(order.clientOrderId, order);
    this.byOrderId.set(String(order.orderId), order);
  }

  /** The order with this id, or the latest with this client order id, of `symbol`. */
  findOrder(symbol: string, key: { orderId: string } | { clientOrderId: string }): PaperOrder | null {
    const o = 'orderId' in key ? this.byOrderId.get(key.orderId) : this.byClientId.get(key.clientOrderId);
    return o && o.symbol === symbol ? o : null;
  }

  fillsFor(clientOrderId: string): PaperFill[] {
    return this.fills.filter((f) => f.clientOrderId === clientOrderId);
  }

  /** The profit a fill would realize now: the part of the position it closes, against the entry. */
  realizedBy(fill: { symbol: string; side: 'BUY' | 'SELL'; qty: string; price: number }): number {
    if (this.holdPositions) return 0;
    const before = this.positionOf(fill.symbol);
    const delta = fill.side === 'BUY' ? Number(fill.qty) : -Number(fill.qty);
    const closing = Math.sign(delta) === -Math.sign(before) ? Math.min(Math.abs(delta), Math.abs(before)) : 0;
    return closing * (fill.price - (this.entryPrices.get(fill.symbol) ?? 0)) * Math.sign(before);
  }

  /** Applies a fill to the position, keeping a weighted entry price while it grows. */
  applyFill(booked: Omit<PaperFill, 'positionBefore'>): void {
    const fill = { ...booked, positionBefore: this.positions.get(booked.symbol) ?? '0' };
    this.positionUpdateTime.set(fill.symbol, fill.time);
    this.fills.push(fill);
    if (this.holdPositions) return;
    const realized = this.realizedBy(fill);
    const before = this.positionOf(fill.symbol);
    const delta = fill.side === 'BUY' ? fill.qty : `-${fill.qty}`;
    const afterText = addDecimal(this.positions.get(fill.symbol) ?? '0', delta);
    const after = Number(afterText);
    const entry = this.entryPrices.get(fill.symbol) ?? 0;
    if (after === 0) this.entryPrices.set(fill.symbol, 0);
    else if (before === 0 || Math.sign(before) !== Math.sign(after))
      this.entryPrices.set(fill.symbol, fill.price);
    else if (Math.abs(after) > Math.abs(before)) {
      const q = Math.abs(after) - Math.abs(before);
      this.entryPrices.set(fill.symbol, (entry * Math.abs(before) + fill.price * q) / Math.abs(after));
    }
    this.positions.set(fill.symbol, afterText);
    this.realized.set(fill.symbol, (this.realized.get(fill.symbol) ?? 0) + realized);
    this.walletUsdt += realized;
  }

  /** A JSON-safe snapshot for `GET /paper/state`. */
  snapshot(): unknown {
    return {
      positions: Object.fromEntries(this.positions),
      marks: Object.fromEntries(this.marks),
      orders: this.orders,
      fills: this.fills,
      algoOrders: this.algoOrders,
      listenKey: this.listenKeys.view(),
      requestLog: this.requestLog.slice(-500),
    };
  }
}
