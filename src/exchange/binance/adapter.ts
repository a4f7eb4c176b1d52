/** `createBinanceExchange`: the ExchangePort for Binance USD-M futures (or the paper exchange). */
import { systemClock, type Clock } from '../../ops/clock.js';
import type {
  AccountStream,
  ExchangePort,
  MarketReduceRequest,
  OrderFill,
  OrderOutcome,
  OrdersSince,
  Position,
  LookupOptions,
  StopFound,
  StopLossRequest,
  StopOutcome,
  SymbolRules,
} from '../port.js';
import { Orders, readOpenOrders, SentIds, type SentIntentStore } from './orders.js';
import { isFinalStatus } from './account-view.js';

export type { SentIntentStore };
import { PositionReads } from './position-reads.js';
import { Reads } from './reads.js';
import { Stops } from './stops.js';
import { Transport, type RateLimitState } from './transport.js';
import { ListenKeys } from './listen-key.js';
import { UserStream, type UserStreamOptions } from './user-stream.js';
import { processStreams, type StreamRegistry } from './shared-stream.js';

/** The subset of a pino logger the adapter uses. */
export interface ExchangeLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface BinanceExchangeOptions {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  /** Sent with every signed request (ms, ≤ 60000). Default 5000. */
  recvWindow?: number;
  /** Per-request timeout (ms). Default 5000. */
  timeoutMs?: number;
  /**
   * Drives cache TTLs, time re-sync, recovery budgets, the 429/418 circuit and request
   * timestamps (this clock + the offset synced from GET /fapi/v1/time).
   */
  clock?: Clock;
  logger?: ExchangeLogger;
  intentStore?: SentIntentStore;
  /** exchangeInfo cache lifetime (ms). Default 10 minutes. */
  exchangeInfoTtlMs?: number;
  /** Cached rules keep serving this long when a refresh fails (ms). Default 6 hours. */
  exchangeInfoMaxStaleMs?: number;
  /** `/fapi/v3/positionRisk` (default) or the deprecated v2 (which also reports leverage). */
  positionRiskVersion?: 2 | 3;
  /** Delays between recovery queries after an unknown order outcome (ms). */
  recoveryDelaysMs?: number[];
  /** Upper bound on recovering one order (ms). Default recvWindow + 4000. */
  recoveryBudgetMs?: number;
  /** Slack on top of recvWindow before an absent order is believed never placed. Default 1000. */
  absenceMarginMs?: number;
  /** Retries of idempotent reads after no answer or a 5XX. Default 2. */
  readRetries?: number;
  retryBaseMs?: number;
  /** Local refusal thresholds from the usage headers (defaults: Binance's 2400 / 300 / 1200). */
  weightLimit1m?: number;
  weightReserve1m?: number;
  orderLimit10s?: number;
  orderLimit1m?: number;
  /**
   * Position reads are shared (one account-wide read serves every symbol waiting) once this much
   * of the minute's weight is used (position-reads.ts). Default 40 % of weightLimit1m; 0 shares
   * from the first read that reports a weight; Infinity never shares.
   */
  sharePositionReadsFromWeight?: number;
  /**
   * Follow the account's user data stream (user-stream.ts): positions, fills and order lookups
   * are answered from it while it is trusted, from REST otherwise. Absent: REST only.
   */
  userStream?: Pick<
    UserStreamOptions,
    | 'wsBaseUrl'
    | 'silenceMs'
    | 'pingMs'
    | 'keepaliveMs'
    | 'maxConnectionMs'
    | 'backoff'
    | 'metrics'
    | 'closeKeyOnStop'
  >;
  /**
   * Where the account's stream is shared (shared-stream.ts): by default the process's, so every
   * adapter of one account in a process follows one stream, opened with the first one's settings.
   * A registry of its own stands in for another process (tests).
   */
  streams?: StreamRegistry;
}

export interface BinanceExchange extends ExchangePort {
  rateLimitState(): RateLimitState;
  /** Weight and orders used this minute as the headers said (0 when no answer of this minute said). */
  usageThisMinute(): { usedWeight1m: number; orderCount1m: number };
  /** Server minus local clock (ms) as last synced. */
  serverTimeOffsetMs(): number;
  syncTime(): Promise<number>;
  /** The user data stream, when `userStream` was given. */
  readonly userStream: UserStream | null;
}

const silent: ExchangeLogger = { warn: () => undefined };

export function createBinanceExchange(opts: BinanceExchangeOptions): BinanceExchange {
  const clock = opts.clock ?? systemClock;
  const recvWindow = opts.recvWindow ?? 5000;
  if (!(recvWindow > 0 && recvWindow <= 60_000)) throw new Error('recvWindow must be in (0, 60000]');
  if (!opts.apiKey || !opts.apiSecret) throw new Error('apiKey and apiSecret are required');
  const logger = opts.logger ?? silent;
  const warn = (fields: Record<string, unknown>, msg: string) => logger.warn(fields, msg);
  const transportOptions = {
    baseUrl: opts.baseUrl,
    apiKey: opts.apiKey,
    apiSecret: opts.apiSecret,
    recvWindow,
    timeoutMs: opts.timeoutMs ?? 5000,
    clock,
    weightLimit1m: opts.weightLimit1m,
    weightReserve1m: opts.weightReserve1m,
    orderLimit10s: opts.orderLimit10s,
    orderLimit1m: opts.orderLimit1m,
  };
  const readOptions = {
    exchangeInfoTtlMs: opts.exchangeInfoTtlMs ?? 10 * 60_000,
    positionRiskVersion: opts.positionRiskVersion ?? 3,
    readRetries: opts.readRetries ?? 2,
    retryBaseMs: opts.retryBaseMs ?? 200,
    exchangeInfoMaxStaleMs: opts.exchangeInfoMaxStaleMs ?? 6 * 3600_000,
    now: () => clock.now(),
    warn,
  };
  const transport = new Transport(transportOptions);
  const reads = new Reads(transport, readOptions);
  let stream: UserStream | null = null;
  const orders = new Orders(transport, reads, opts.intentStore ?? new SentIds(), {
    pushed: (clientOrderId) => {
      const o = stream?.asOf() != null ? stream.view.order(clientOrderId) : null;
      return o && isFinalStatus(o.status) ? o : null;
    },
    recvWindow,
    recoveryDelaysMs: opts.recoveryDelaysMs ?? [200, 500, 1000, 2000],
    recoveryBudgetMs: opts.recoveryBudgetMs ?? recvWindow + 4000,
    absenceMarginMs: opts.absenceMarginMs ?? 1000,
    now: () => clock.now(),
    warn,
  });
  const stops = new Stops(transport, reads, warn, (clientAlgoId) => {
    const a = stream?.asOf() != null ? stream.view.algo(clientAlgoId) : null;
    return a && isFinalStatus(a.status) ? { algoId: a.algoId, status: a.status, symbol: a.symbol } : null;
  });
  const positionReads = new PositionReads({
    read: (symbol) => reads.positionRead(symbol),
    weightUsed: () => transport.weightUsedThisMinute(),
    weightAllowed: transport.weightAllowed,
    msLeftInMinute: () => transport.msLeftInMinute(),
    now: () => clock.now(),
    shareFromWeight: opts.sharePositionReadsFromWeight ?? Math.floor(transport.weightLimit * 0.4),
    onShare: (used) =>
      warn(
        { used_weight_1m: used, limit_1m: transport.weightLimit },
        `exchange: request weight ${used} of ${transport.weightLimit} used this minute; position reads now shared (one account-wide read serves every symbol waiting)`,
      ),
  });

  let lease: { release(): Promise<void> } | null = null;
  if (opts.userStream) {
    const { metrics, ...streamOptions } = opts.userStream;
    const account = { apiKey: opts.apiKey, baseUrl: opts.baseUrl, wsBaseUrl: streamOptions.wsBaseUrl };
    const shared = (opts.streams ?? processStreams).acquire(
      account,
      (fanout) => {
        // The stream's own REST client: it outlives whichever adapter opened it.
        const t = new Transport(transportOptions);
        const r = new Reads(t, readOptions);
        const made = new UserStream({
          ...streamOptions,
          metrics: fanout,
          listenKeys: new ListenKeys(t),
          clock,
          logger,
          reconcile: async () => {
            const at = t.serverNow();
            const [account, open] = await Promise.all([r.accountRead(), readOpenOrders(r)]);
            return { at, positions: account.positions, openOrders: open, hedged: account.hedged };
          },
        });
        made.start();
        return { stream: made, close: () => t.close() };
      },
      metrics,
    );
    stream = shared.stream;
    lease = shared;
  }
  /** This adapter's listeners on the shared stream, removed when it closes. */
  const unsubscribes = new Set<() => void>();
  const listen = (off: () => void): (() => void) => {
    unsubscribes.add(off);
    return () => {
      unsubscribes.delete(off);
      off();
    };
  };
  const s = stream;
  /** A symbol's position from the stream when it is trusted and at most `maxAgeMs` old. */
  const pushedPosition = (symbol: string, maxAgeMs: number): Position | null => {
    const asOf = s?.asOf() ?? null;
    if (s === null || asOf === null) return null;
    const ageMs = Math.max(0, clock.now() - asOf);
    if (ageMs > maxAgeMs) return null;
    const p = s.view.position(symbol);
    return p && { ...p, ageMs };
  };
  const accountStream: AccountStream | undefined = s
    ? {
        asOf: () => s.asOf(),
        position: (symbol) => (s.asOf() === null ? null : s.view.position(symbol)),
        onPosition: (fn) =>
          listen(
            s.onEvent((ev, applied) => {
              if (ev.kind !== 'account') return;
              ev.positions.forEach((p, i) => {
                const now = applied[i] === 'position' ? s.view.position(p.symbol) : null;
                if (now) fn(now);
              });
            }),
          ),
        onOrder: (fn) =>
          listen(
            s.onEvent((ev, applied) => {
              const now =
                ev.kind === 'order' && applied[0] === 'order' ? s.view.order(ev.order.clientOrderId) : null;
              if (now) fn(now);
            }),
          ),
      }
    : undefined;

  return {
    symbolRules: (symbol: string): Promise<SymbolRules> => reads.symbolRules(symbol),
    position: (symbol: string, o?: { maxAgeMs?: number }): Promise<Position> => {
      const pushed = o?.maxAgeMs ? pushedPosition(symbol, o.maxAgeMs) : null;
      // The stream pushes no mark price: 0 (unknown) sends a caller that prices (the governor's
      // notional cap) to premiumIndex, rather than a mark as old as the last reconciliation.
      return pushed
        ? Promise.resolve({ ...pushed, markPrice: 0 })
        : positionReads.position(symbol, o?.maxAgeMs);
    },
    positions: (symbols: string[]): Promise<Position[]> => {
      if (symbols.length === 0) return Promise.resolve([]);
      // Trusted means heard from within the silence bound: the answer carries its age.
      const pushed = symbols.map((symbol) => pushedPosition(symbol, Number.POSITIVE_INFINITY));
      return pushed.every((p) => p !== null)
        ? Promise.resolve(pushed as Position[])
        : reads.positions(symbols);
    },
    markPrice: (symbol: string): Promise<number> => reads.markPrice(symbol),
    prepareOrder: () => transport.prepareOrder(),
    placeReduceOnlyMarket: (req: MarketReduceRequest): Promise<OrderOutcome> =>
      orders.placeReduceOnlyMarket(req),
    placeStopLoss: (req: StopLossRequest): Promise<StopOutcome> => stops.placeStopLoss(req),
    findOrder: (symbol: string, clientOrderId: string, opts?: LookupOptions): Promise<OrderFill | null> =>
      orders.findOrder(symbol, clientOrderId, opts?.recovery ?? true),
    findOrderById: (symbol: string, orderId: string, opts?: LookupOptions): Promise<OrderFill | null> =>
      orders.findOrderById(symbol, orderId, opts?.recovery ?? true),
    findStopLoss: (symbol: string, clientAlgoId: string, opts?: LookupOptions): Promise<StopFound | null> =>
      stops.findStopLoss(symbol, clientAlgoId, opts?.recovery ?? true),
    ordersSince: (symbol: string, startMs: number): Promise<OrdersSince> =>
      orders.ordersSince(symbol, startMs),
    ...(accountStream ? { accountStream } : {}),
    userStream: stream,
    close: async () => {
      for (const off of unsubscribes) off();
      unsubscribes.clear();
      await lease?.release();
      positionReads.close();
      transport.close();
    },
    rateLimitState: () => ({ ...transport.limits }),
    usageThisMinute: () => ({
      usedWeight1m: transport.weightUsedThisMinute() ?? 0,
      orderCount1m: transport.orderCountThisMinute() ?? 0,
    }),
    serverTimeOffsetMs: () => transport.timeOffsetMs,
    syncTime: () => reads.syncTime(),
  };
}
