/**
 * The one place that talks HTTP to Binance (http-client.ts: node:http, a keep-alive pool for
 * reads, a fresh connection per order). What exactly-once needs, set up here:
 * - every answer keeps its HTTP status and headers (a 503 "unknown" must not look like a 400);
 * - our own signer (sign.ts, tested against Binance's vector); signed parameters travel in the
 *   query string, and the signature is over exactly the bytes sent;
 * - an explicit timeout per request and no retries here (reads.ts retries idempotent reads);
 * - the weight / order-count headers of every answer, and a local circuit after a 429/418.
 * Every outcome is returned as data (never thrown), classified for the caller.
 */
import type { Clock } from '../../ops/clock.js';
import { HttpClient, type HttpAnswer } from './http-client.js';
import { signPayload } from './sign.js';

export type Params = Record<string, string | number | boolean>;

export type CallOutcome =
  | { kind: 'ok'; status: number; body: unknown }
  | { kind: 'http_error'; status: number; code: number | null; message: string; retryAfterSec: number | null }
  /** The request may have reached the exchange: timeout, dropped connection, unclassified error. */
  | { kind: 'no_response'; cause: 'timeout' | 'connection_dropped' | 'network_error'; message: string }
  /** Proven not sent: connection refused / name not resolved, or refused locally (circuit open). */
  | { kind: 'not_sent'; cause: 'connection_refused' | 'rate_limited' | 'ip_banned'; message: string };

export interface RateLimitState {
  usedWeight1m: number | null;
  orderCount10s: number | null;
  orderCount1m: number | null;
  /** Epoch ms until which calls are refused after a 429/418 (0 when open). */
  blockedUntil: number;
  blockedReason: 'rate_limited' | 'ip_banned' | null;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  recvWindow: number;
  timeoutMs: number;
  clock: Clock;
  /** exchangeInfo.rateLimits defaults: 2400 weight/min, 300 orders/10 s, 1200 orders/min. */
  weightLimit1m?: number;
  /**
   * Weight kept for recovery queries (an order's status after an ambiguous answer): other calls
   * are refused locally this much below the limit. Default 5 % of weightLimit1m, rounded down.
   */
  weightReserve1m?: number;
  orderLimit10s?: number;
  orderLimit1m?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);
const DROP_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function intHeader(headers: unknown, name: string): number | null {
  const v = header(headers, name);
  if (v === undefined) return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : null;
}

/** `k=v&…` with values URI-encoded, in the order given (what is signed is what is sent). */
function queryOf(params: Params): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
}

export class Transport {
  private readonly http: HttpClient;
  private offsetMs = 0;
  /** Exchange-clock times at which the weight / order-count headers were last read. */
  private weightAt = 0;
  private ordersAt = 0;
  readonly limits: RateLimitState = {
    usedWeight1m: null,
    orderCount10s: null,
    orderCount1m: null,
    blockedUntil: 0,
    blockedReason: null,
  };

  constructor(private readonly opts: TransportOptions) {
    this.http = new HttpClient(opts.baseUrl, opts.timeoutMs);
  }

  /** Closes pooled sockets; calls after this open new ones. */
  close(): void {
    this.http.close();
  }

  /** Opens the connection of an order expected soon (HttpClient.prepareFresh). */
  prepareOrder(): void {
    this.http.prepareFresh();
  }

  /** Server time minus the clock's time (ms), applied to every signed request's timestamp. */
  get timeOffsetMs(): number {
    return this.offsetMs;
  }

  setTimeOffset(ms: number): void {
    this.offsetMs = ms;
  }

  /** The exchange's clock as this process estimates it (what a signed timestamp carries). */
  serverNow(): number {
    return this.opts.clock.now() + this.offsetMs;
  }

  /**
   * One request. `order: true` sends it on a fresh connection (order-placing calls); everything
   * else reuses pooled sockets.
   */
  async call(
    method: Method,
    path: string,
    params: Params,
    opts: { signed: boolean; order?: boolean; recovery?: boolean },
  ): Promise<CallOutcome> {
    const now = this.opts.clock.now();
    if (this.limits.blockedUntil > now) {
      const cause = this.limits.blockedReason ?? 'rate_limited';
      return {
        kind: 'not_sent',
        cause,
        message: `refused locally until ${new Date(this.limits.blockedUntil).toISOString()}`,
      };
    }
    const spent = this.budgetSpent(opts.order === true, opts.recovery === true);
    if (spent)
      return { kind: 'not_sent', cause: 'rate_limited', message: `${spent} used up for this window` };
    let query = queryOf(params);
    if (opts.signed) {
      const unsigned = queryOf({ ...params, timestamp: this.serverNow(), recvWindow: this.opts.recvWindow });
      query = `${unsigned}&signature=${signPayload(this.opts.apiSecret, unsigned)}`;
    }
    let res: HttpAnswer;
    try {
      res = await this.http.send({
        method,
        path,
        query,
        headers: { 'X-MBX-APIKEY': this.opts.apiKey },
        fresh: opts.order === true,
      });
    } catch (err) {
      return this.classifyThrown(err);
    }
    // Binance error bodies are JSON on every status; anything but 200 is an error answer.
    if (res.status !== 200) return this.httpError(res);
    this.track(res.headers);
    return { kind: 'ok', status: 200, body: res.data };
  }

  private classifyThrown(err: unknown): CallOutcome {
    const e = (err ?? {}) as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (NOT_SENT_CODES.has(code))
      return { kind: 'not_sent', cause: 'connection_refused', message: `${code}: ${message}` };
    if (TIMEOUT_CODES.has(code)) return { kind: 'no_response', cause: 'timeout', message };
    if (DROP_CODES.has(code) || /socket hang up/i.test(message)) {
      return { kind: 'no_response', cause: 'connection_dropped', message: `${code}: ${message}` };
    }
    return { kind: 'no_response', cause: 'network_error', message: `${code}: ${message}` };
  }

  private httpError(response: { status: number; data?: unknown; headers?: unknown }): CallOutcome {
    this.track(response.headers);
    const data = (response.data ?? {}) as { code?: unknown; msg?: unknown };
    const code = typeof data.code === 'number' && Number.isInteger(data.code) ? data.code : null;
    const message =
      typeof data.msg === 'string'
        ? data.msg
        : typeof response.data === 'string'
          ? response.data.slice(0, 200)
          : '';
    const retryAfterSec = intHeader(response.headers, 'retry-after');
    if (response.status === 429 || response.status === 418) {
      // Never retried into a ban: every call is refused locally until Retry-After has passed.
      const fallbackSec = response.status === 418 ? 120 : 60;
      this.limits.blockedUntil = this.opts.clock.now() + (retryAfterSec ?? fallbackSec) * 1000;
      this.limits.blockedReason = response.status === 418 ? 'ip_banned' : 'rate_limited';
    }
    return { kind: 'http_error', status: response.status, code, message, retryAfterSec };
  }

  /**
   * Refuses locally once the headers say a window's budget is used up and that window has not
   * rolled over yet (Binance counts per clock minute / 10 s), instead of earning a 429. Recovery
   * queries may spend the reserve that every other call leaves (an order whose outcome is
   * unknown is worth the weight; a soak run saw a filled order reported unknown without it).
   * Orders are refused too once the weight is spent, though an order costs none of it: Binance's
   * limits page says that requests past a limit earn 429s and that failing to back off earns an
   * automatic IP ban (418, 2 minutes to 3 days), which would stop every request, exits included.
   * Whether a weight-0 request past the limit counts is not documented; one order is not worth that.
   */
  private budgetSpent(order: boolean, recovery: boolean): string | null {
    const used = this.weightUsedThisMinute();
    if (used !== null && used >= (recovery ? this.weightLimit : this.weightAllowed))
      return recovery ? 'request weight' : 'request weight (the rest is kept for order recovery)';
    if (!order) return null;
    const count10s = this.inWindow(10_000, this.ordersAt) ? this.limits.orderCount10s : null;
    if (count10s !== null && count10s >= (this.opts.orderLimit10s ?? 300)) return 'order count (10s)';
    const count1m = this.orderCountThisMinute();
    if (count1m !== null && count1m >= (this.opts.orderLimit1m ?? 1200)) return 'order count (1m)';
    return null;
  }

  /** Whether `at` (exchange clock) falls in the current window of `ms` (Binance counts per clock window). */
  private inWindow(ms: number, at: number): boolean {
    return Math.floor(this.serverNow() / ms) === Math.floor(at / ms);
  }

  /** The minute's request weight (exchangeInfo.rateLimits; default 2400). */
  get weightLimit(): number {
    return this.opts.weightLimit1m ?? 2400;
  }

  /** What calls other than order recovery may spend of it: the limit less the reserve. */
  get weightAllowed(): number {
    return this.weightLimit - (this.opts.weightReserve1m ?? Math.floor(this.weightLimit * 0.05));
  }

  /** The weight used this minute as the last answer's header said; null when none was read this minute. */
  weightUsedThisMinute(): number | null {
    return this.inWindow(60_000, this.weightAt) ? this.limits.usedWeight1m : null;
  }

  /** Orders this minute as the last order answer's header said; null when none was read this minute. */
  orderCountThisMinute(): number | null {
    return this.inWindow(60_000, this.ordersAt) ? this.limits.orderCount1m : null;
  }

  /** Milliseconds until the exchange's minute (and its weight count) rolls over. */
  msLeftInMinute(): number {
    return 60_000 - (this.serverNow() % 60_000);
  }

  /** Reads the weight and order-count headers of any answer. */
  track(headers: unknown): void {
    const w = intHeader(headers, 'x-mbx-used-weight-1m');
    const o10 = intHeader(headers, 'x-mbx-order-count-10s');
    const o1m = intHeader(headers, 'x-mbx-order-count-1m');
    const now = this.serverNow();
    if (w !== null) {
      this.limits.usedWeight1m = w;
      this.weightAt = now;
    }
    if (o10 !== null || o1m !== null) this.ordersAt = now;
    if (o10 !== null) this.limits.orderCount10s = o10;
    if (o1m !== null) this.limits.orderCount1m = o1m;
  }
}
