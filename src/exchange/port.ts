/**
 * The exchange port. Services depend on this interface only; `binance/` implements it for
 * Binance USD-M futures (the one module that imports an exchange client library), and tests
 * may use a recording double. Quantities and prices cross the port as decimal strings where
 * they go to the exchange, and as numbers where they are only compared.
 */

export interface SymbolRules {
  symbol: string;
  /** LOT_SIZE / MARKET_LOT_SIZE step for MARKET orders (decimal string, e.g. "0.001"). */
  stepSize: string;
  minQty: string;
  maxQty: string;
  /** PRICE_FILTER tickSize (decimal string, > 0). */
  tickSize: string;
  /**
   * PRICE_FILTER minPrice / maxPrice (decimal strings, ≥ 0). Zero disables that bound, as Binance
   * documents (USDⓈ-M futures API, Common Definition → Filters → PRICE_FILTER).
   */
  minPrice: string;
  maxPrice: string;
  /** MIN_NOTIONAL notional (decimal string); reduce-only orders are exempt on Binance. */
  minNotional: string;
}

export interface Position {
  symbol: string;
  /** Signed amount: > 0 long, < 0 short, 0 flat (parsed from the exchange's `positionAmt`). */
  amount: number;
  /** The exchange's own decimal string for `positionAmt`. */
  amountText: string;
  entryPrice: number;
  markPrice: number;
  unrealizedPnl: number;
  leverage: number | null;
  /** Exchange `updateTime` (ms), 0 when unknown. */
  updateTime: number;
  /**
   * Set when the answer comes from a read sent before the call (`maxAgeMs`): how long before the
   * answer that read was sent, ms. An age, not a time, so a caller on another clock can use it.
   */
  ageMs?: number;
}

export interface OrderFill {
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  status: string;
  origQty: string;
  executedQty: string;
  avgPrice: string;
  reduceOnly: boolean;
}

/** An order as the exchange lists it (GET /fapi/v1/allOrders), with when it was placed (ms). */
export interface ListedOrder extends OrderFill {
  time: number;
}

/**
 * One symbol's orders placed since a time, oldest first. `pages`: requests it took (each weighs 5
 * on Binance); `complete` false when the page cap stopped it before the newest order.
 */
export interface OrdersSince {
  orders: ListedOrder[];
  pages: number;
  complete: boolean;
}

export interface MarketReduceRequest {
  symbol: string;
  side: 'BUY' | 'SELL';
  /** Already rounded down to the step size. */
  quantity: string;
  /** Deterministic per plan step; see clientOrderIdFor(). */
  clientOrderId: string;
}

export interface StopLossRequest {
  symbol: string;
  /** The side that closes the position: SELL for a long, BUY for a short. */
  side: 'BUY' | 'SELL';
  triggerPrice: string;
  clientAlgoId: string;
}

/**
 * Order outcome. `unknown` means the exchange may or may not have the order (timeout, 5XX,
 * 503 unknown status) and the follow-up query could not settle it: callers must not resend.
 */
export type OrderOutcome =
  | { kind: 'filled'; order: OrderFill; recovered: boolean }
  | { kind: 'accepted'; order: OrderFill; recovered: boolean }
  | { kind: 'rejected'; reason: string; code: number | null; message: string }
  | { kind: 'unknown'; reason: string; message: string };

/** `recovery` (default true): the query may spend the request weight kept for recoveries. */
export interface LookupOptions {
  recovery?: boolean;
}

/** A stop found by its client id: its algo id and the exchange's algoStatus. */
export interface StopFound {
  algoId: string;
  status: string;
}

export type StopOutcome =
  | { kind: 'placed'; algoId: string; clientAlgoId: string; replaced: string[] }
  | { kind: 'rejected'; reason: string; code: number | null; message: string }
  | { kind: 'unknown'; reason: string; message: string };

/** Thrown by read calls; `reason` is a short stable snake_case code (see error mapping). */
export class ExchangeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly code: number | null = null,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
    this.name = 'ExchangeError';
  }
}

/**
 * What the exchange pushes about the account (Binance's user data stream), for services that act
 * on a change as it happens. The adapter already answers `position`/`positions`/`findOrder` from it
 * while it is trusted; this is for the rest (P3.3 writing a snapshot on a position change).
 */
export interface AccountStream {
  /**
   * This process's clock time the pushed account state holds at, while the stream is trusted
   * (connected, reconciled by REST since, not silent past its bound); null otherwise.
   */
  asOf(): number | null;
  /** A symbol's position as of `asOf()`; null when the stream is not trusted (or hedge mode). */
  position(symbol: string): Position | null;
  /** A position the stream changed (one-way mode), after the adapter's view took it. */
  onPosition(fn: (p: Position) => void): () => void;
  /** One of our orders the stream changed: its fill so far (`executedQty`, `avgPrice`). */
  onOrder(fn: (o: OrderFill) => void): () => void;
}

export interface ExchangePort {
  symbolRules(symbol: string): Promise<SymbolRules>;
  /**
   * The position of one symbol (one-way mode); a flat symbol has amount 0. By default from a read
   * sent after this call; `maxAgeMs` accepts a read that started at most that long ago.
   */
  position(symbol: string, opts?: { maxAgeMs?: number }): Promise<Position>;
  positions(symbols: string[]): Promise<Position[]>;
  markPrice(symbol: string): Promise<number>;
  /**
   * An order is expected soon: open its connection now, so that connecting is not on its path.
   * Sends nothing; optional (an adapter without connections to open has nothing to do).
   */
  prepareOrder?(): void;
  /** Exactly-once per clientOrderId: queries before any resend, never sends twice. */
  placeReduceOnlyMarket(req: MarketReduceRequest): Promise<OrderOutcome>;
  /** Places a reduce-only stop (algo endpoint), cancelling our earlier stops for the symbol. */
  placeStopLoss(req: StopLossRequest): Promise<StopOutcome>;
  /**
   * The order with this client id, null when the exchange says it has none; throws when the
   * query fails. By default a recovery query, which may spend the request weight kept in reserve;
   * `{ recovery: false }` (the lookup before a first send) leaves that reserve to recoveries.
   */
  findOrder(symbol: string, clientOrderId: string, opts?: LookupOptions): Promise<OrderFill | null>;
  /**
   * The order with this exchange order id, null when the exchange has none; throws when the query
   * fails. For orders another service placed (a fleet result that reports only the order id).
   */
  findOrderById(symbol: string, orderId: string, opts?: LookupOptions): Promise<OrderFill | null>;
  /**
   * Our stop with this client id in whatever state it is now (working `NEW`, or triggered,
   * cancelled, expired), null when the exchange has no such stop; throws when the lookup itself
   * fails. A stop found in any state was placed: it is never placed again for that id.
   */
  findStopLoss(symbol: string, clientAlgoId: string, opts?: LookupOptions): Promise<StopFound | null>;
  /**
   * Every order of `symbol` placed at or after `startMs` (less than 7 days back), oldest first,
   * whoever placed it; throws when the query fails. For the failover reconciliation, which asks
   * what the exchange booked while Redis may have lost the record of it; never a recovery query.
   */
  ordersSince(symbol: string, startMs: number): Promise<OrdersSince>;
  /** Present when the adapter follows the account's user data stream (BINANCE_USER_STREAM=on). */
  readonly accountStream?: AccountStream;
  close(): Promise<void>;
}

/**
 * Deterministic client order id for a plan step: `qa-<planId>-<step>` trimmed to the charset
 * `^[.A-Z:/a-z0-9_-]{1,36}$`. Same plan and step → same id, so a resend is recognisable.
 */
export function clientOrderIdFor(planId: string, step: string): string {
  const clean = `${planId}-${step}`.replace(/[^.A-Z:/a-z0-9_-]/g, '_');
  return `qa-${clean}`.slice(0, 36);
}
