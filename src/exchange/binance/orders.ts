/**
 * Exactly-once reduce-only MARKET orders. The exchange only rejects a duplicate client order
 * id among *open* orders, and a MARKET order is never open for long, so a resent order would
 * fill twice. Rules, in order:
 * 1. one send per client order id per process (a small in-process set refuses a second send;
 *    the caller's persisted intent is the first line of defence);
 * 2. an answer that leaves the outcome unknown (timeout, dropped connection, 5XX, 503 unknown,
 *    -1000/-1006/-1007, 408, an unreadable 200, -4116) → query by `origClientOrderId` before
 *    anything else, with bounded backoff;
 * 3. never resend, except when the first request provably never reached the exchange
 *    (connection refused) or was refused at the gateway for its timestamp (-1021);
 * 4. "absent" is only believed once the exchange's clock has passed the request's
 *    timestamp + recvWindow (its matching engine drops older requests, -5028): then the order
 *    can no longer appear, and the result is `rejected`; before that, `unknown`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ListedOrder, MarketReduceRequest, OrderFill, OrderOutcome, OrdersSince } from '../port.js';
import { ExchangeError } from '../port.js';
import { parsePlainDecimal } from '../../domain/decimal.js';
import { isDefinitelyNotExecuted, isOrderOutcomeUnknown, reasonFor } from './errors.js';
import { listedOrdersSchema, openOrdersSchema, orderSchema, type BinanceOrder } from './schemas.js';
import type { Reads } from './reads.js';
import type { CallOutcome, Transport } from './transport.js';

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
/** allOrders: Binance's largest page, and the pages one call may take (5 weight each). */
const ALL_ORDERS_PAGE = 1000;
const ALL_ORDERS_MAX_PAGES = 4;

export interface OrderOptions {
  recvWindow: number;
  /** Delays between recovery queries (ms); the last one repeats until the budget is spent. */
  recoveryDelaysMs: number[];
  /** Upper bound on the time spent recovering one order (ms). */
  recoveryBudgetMs: number;
  /** Slack on top of recvWindow before "absent" is believed (ms). */
  absenceMarginMs: number;
  now(): number;
  warn(fields: Record<string, unknown>, msg: string): void;
  /** A finished order the user stream reported, by client order id (absent: no stream). */
  pushed?(clientOrderId: string): OrderFill | null;
}

/** Remembers client order ids already sent (defence in depth behind the caller's intent record). */
export interface SentIntentStore {
  /** False when the id was already claimed. */
  claim(clientOrderId: string): boolean;
  /** Called only once the id is proven absent from the exchange. */
  release(clientOrderId: string): void;
  has(clientOrderId: string): boolean;
}

/** Client order ids this process has sent; bounded, oldest dropped first. */
export class SentIds implements SentIntentStore {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 10_000) {}
  claim(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
  release(id: string): void {
    this.ids.delete(id);
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
}

/** The account's open orders (weight 40: once per user-stream reconciliation). */
export async function readOpenOrders(reads: Reads): Promise<OrderFill[]> {
  return (await reads.get('/fapi/v1/openOrders', {}, true, openOrdersSchema)).map(toFill);
}

export function toFill(o: BinanceOrder): OrderFill {
  return {
    orderId: String(o.orderId),
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    status: o.status,
    origQty: o.origQty,
    executedQty: o.executedQty,
    avgPrice: o.avgPrice,
    reduceOnly: o.reduceOnly ?? false,
  };
}

/**
 * FILLED → filled; NEW / PARTIALLY_FILLED → accepted (still working). A MARKET order that ended
 * EXPIRED or CANCELED (thin book) counts as filled for what it executed, or rejected when
 * nothing executed: the caller reads `executedQty` either way.
 */
export function outcomeOf(order: OrderFill, recovered: boolean): OrderOutcome {
  if (order.status === 'FILLED') return { kind: 'filled', order, recovered };
  if (order.status === 'NEW' || order.status === 'PARTIALLY_FILLED')
    return { kind: 'accepted', order, recovered };
  const executed = parsePlainDecimal(order.executedQty);
  if (executed && executed.m > 0n) return { kind: 'filled', order, recovered };
  return {
    kind: 'rejected',
    reason: `order_${order.status.toLowerCase()}`.replace(/[^a-z_]/g, '_'),
    code: null,
    message: `order ${order.clientOrderId} ended ${order.status} with nothing executed`,
  };
}

export class Orders {
  constructor(
    private readonly t: Transport,
    private readonly reads: Reads,
    private readonly sent: SentIntentStore,
    private readonly opts: OrderOptions,
  ) {}

  /**
   * The order with this client id, or null when the exchange says it does not exist. `recovery`
   * (the default): the query may spend the weight kept in reserve.
   */
  findOrder(symbol: string, clientOrderId: string, recovery = true): Promise<OrderFill | null> {
    // A finished order the user stream reported needs no query: it never changes again.
    const pushed = this.opts.pushed?.(clientOrderId);
    if (pushed && pushed.symbol === symbol) return Promise.resolve(pushed);
    return this.query(symbol, { origClientOrderId: clientOrderId }, 'clientOrderId', clientOrderId, recovery);
  }

  /** The order with this exchange order id (another service's order), or null when none. */
  findOrderById(symbol: string, orderId: string, recovery = true): Promise<OrderFill | null> {
    return this.query(symbol, { orderId }, 'orderId', orderId, recovery);
  }

  private async query(
    symbol: string,
    params: Record<string, string>,
    field: 'clientOrderId' | 'orderId',
    id: string,
    recovery: boolean,
  ): Promise<OrderFill | null> {
    try {
      const o = await this.reads.get(
        '/fapi/v1/order',
        { symbol, ...params },
        true,
        orderSchema,
        true,
        recovery,
      );
      // An answer about another order must never be adopted as ours (fuzz-found).
      if (String(o[field]) !== id || o.symbol !== symbol) {
        throw new ExchangeError('bad_response', `order query for ${id} answered about another order`);
      }
      return toFill(o);
    } catch (err) {
      if (err instanceof ExchangeError && err.code === -2013) return null;
      throw err;
    }
  }

  /**
   * GET /fapi/v1/allOrders (weight 5 a page of up to 1000): from `startTime`, then from the next
   * order id, at most ALL_ORDERS_MAX_PAGES pages. Not a recovery query: the reserve is left alone.
   */
  async ordersSince(symbol: string, startMs: number): Promise<OrdersSince> {
    const orders: ListedOrder[] = [];
    let params: Record<string, string> = { symbol, startTime: String(Math.floor(startMs)) };
    for (let pages = 1; ; pages++) {
      const rows = await this.reads.get(
        '/fapi/v1/allOrders',
        { ...params, limit: String(ALL_ORDERS_PAGE) },
        true,
        listedOrdersSchema,
      );
      for (const o of rows) {
        if (o.symbol !== symbol)
          throw new ExchangeError('bad_response', `allOrders for ${symbol} listed ${o.symbol}`);
        orders.push({ ...toFill(o), time: o.time });
      }
      if (rows.length < ALL_ORDERS_PAGE) return { orders, pages, complete: true };
      if (pages >= ALL_ORDERS_MAX_PAGES) return { orders, pages, complete: false };
      const last = rows.reduce((m, o) => (BigInt(o.orderId) > m ? BigInt(o.orderId) : m), 0n);
      params = { symbol, orderId: String(last + 1n) };
    }
  }

  async placeReduceOnlyMarket(req: MarketReduceRequest): Promise<OrderOutcome> {
    const invalid = validate(req);
    if (invalid)
      return { kind: 'rejected', reason: invalid, code: null, message: `invalid request: ${invalid}` };
    if (!this.sent.claim(req.clientOrderId)) {
      // Already sent by this process: report what the exchange has, never send again.
      return this.recover(req, 'already_sent', null);
    }
    try {
      await this.reads.ensureTimeSynced();
    } catch (err) {
      this.sent.release(req.clientOrderId);
      const reason = err instanceof ExchangeError ? err.reason : 'exchange_unreachable';
      return {
        kind: 'rejected',
        reason,
        code: null,
        message: `time sync failed before sending: ${String(err)}`,
      };
    }
    let refusedRetries = 1;
    let timestampRetries = 1;
    for (;;) {
      const sentAt = this.t.serverNow();
      const out = await this.t.call('POST', '/fapi/v1/order', this.params(req), {
        signed: true,
        order: true,
      });
      if (out.kind === 'not_sent' && out.cause === 'connection_refused' && refusedRetries-- > 0) {
        await sleep(this.opts.recoveryDelaysMs[0] ?? 100);
        continue;
      }
      if (out.kind === 'http_error' && out.code === -1021 && timestampRetries-- > 0) {
        // -1021 is a gateway refusal: the order was not accepted, one retry after a re-sync is safe.
        try {
          await this.reads.syncTime();
        } catch {
          /* the retry below reports what happens */
        }
        continue;
      }
      return this.settle(req, out, sentAt);
    }
  }

  private params(req: MarketReduceRequest): Record<string, string> {
    return {
      symbol: req.symbol,
      side: req.side,
      type: 'MARKET',
      quantity: req.quantity,
      reduceOnly: 'true',
      newClientOrderId: req.clientOrderId,
      newOrderRespType: 'RESULT',
    };
  }

  private async settle(req: MarketReduceRequest, out: CallOutcome, sentAt: number): Promise<OrderOutcome> {
    if (out.kind === 'ok') {
      const parsed = orderSchema.safeParse(out.body);
      const d = parsed.success ? parsed.data : null;
      if (d && d.clientOrderId === req.clientOrderId && d.symbol === req.symbol && d.side === req.side)
        return outcomeOf(toFill(d), false);
      return this.recover(req, 'unreadable_answer', sentAt);
    }
    if (out.kind === 'not_sent') {
      this.sent.release(req.clientOrderId);
      const reason = out.cause === 'connection_refused' ? 'exchange_unreachable' : out.cause;
      return { kind: 'rejected', reason, code: null, message: out.message };
    }
    if (out.kind === 'no_response') return this.recover(req, out.cause, sentAt);
    if (out.code === -4116) return this.recover(req, 'duplicate_client_order_id', sentAt);
    if (isOrderOutcomeUnknown(out.status, out.code, out.message) || out.status >= 500) {
      // Even a 5XX documented as "not executed" is checked before anything else.
      const notExecuted = isDefinitelyNotExecuted(out.status, out.message);
      return this.recover(req, reasonFor(out.status, out.code), sentAt, notExecuted);
    }
    this.sent.release(req.clientOrderId);
    return {
      kind: 'rejected',
      reason: reasonFor(out.status, out.code),
      code: out.code,
      message: out.message,
    };
  }

  /**
   * Queries by client order id until the order is found, or its absence is certain, or the
   * budget is spent. `sentAt` is the exchange-clock time of the send (null: not known here).
   */
  private async recover(
    req: MarketReduceRequest,
    cause: string,
    sentAt: number | null,
    notExecuted = false,
  ): Promise<OrderOutcome> {
    const started = this.opts.now();
    const absentAfter =
      sentAt === null ? Number.POSITIVE_INFINITY : sentAt + this.opts.recvWindow + this.opts.absenceMarginMs;
    const delays = this.opts.recoveryDelaysMs;
    let lastError = '';
    for (let i = 0; ; i++) {
      const delay = delays[Math.min(i, delays.length - 1)] ?? 500;
      if (i > 0 || cause !== 'already_sent') await sleep(delay);
      try {
        const found = await this.findOrder(req.symbol, req.clientOrderId);
        if (found && (found.side !== req.side || found.symbol !== req.symbol)) {
          // The id belongs to an order we did not describe: report it, never adopt it.
          return {
            kind: 'unknown',
            reason: 'client_order_id_conflict',
            message: `order ${req.clientOrderId} exists as ${found.side} ${found.symbol}`,
          };
        }
        if (found) {
          this.opts.warn(
            { clientOrderId: req.clientOrderId, cause, status: found.status },
            'order recovered by client order id',
          );
          return outcomeOf(found, true);
        }
        if (sentAt === null) {
          return {
            kind: 'unknown',
            reason: 'already_sent',
            message: `order ${req.clientOrderId} was sent before and is not found`,
          };
        }
        if (this.t.serverNow() > absentAfter) {
          this.sent.release(req.clientOrderId);
          return {
            kind: 'rejected',
            reason: notExecuted ? 'exchange_unavailable' : 'order_not_placed',
            code: null,
            message: `no order ${req.clientOrderId} past its recvWindow after ${cause}`,
          };
        }
        lastError = 'order_not_found_yet';
      } catch (err) {
        lastError = err instanceof ExchangeError ? err.reason : String(err);
      }
      const elapsed = this.opts.now() - started;
      if (elapsed + (delays[Math.min(i + 1, delays.length - 1)] ?? 500) > this.opts.recoveryBudgetMs) {
        this.opts.warn({ clientOrderId: req.clientOrderId, cause, lastError }, 'order outcome unknown');
        return {
          kind: 'unknown',
          reason: `unknown_after_${cause}`,
          message: `order ${req.clientOrderId}: ${cause}; last query: ${lastError}`,
        };
      }
    }
  }
}

function validate(req: MarketReduceRequest): string | null {
  if (!/^[A-Z0-9]{2,30}$/.test(req.symbol)) return 'invalid_symbol';
  if (req.side !== 'BUY' && req.side !== 'SELL') return 'bad_parameter';
  const q = parsePlainDecimal(req.quantity);
  if (!q || /e/i.test(req.quantity) || req.quantity.trim() !== req.quantity) return 'bad_parameter';
  if (q.m <= 0n) return 'quantity_not_positive';
  if (!CLIENT_ID.test(req.clientOrderId)) return 'invalid_client_order_id';
  return null;
}
