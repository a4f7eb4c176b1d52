/**
 * The one place that talks HTTP to Binance, through the `binance` SDK's USDMClient (signing,
 * URL building). What exactly-once needs and the SDK does not give by default, set up here:
 * - `parseExceptions: false`, so an error keeps its HTTP status and headers (the parsed form
 *   drops the status, and a 503 "unknown" must not look like a 400);
 * - our own signer (sign.ts, tested against Binance's vector) via `customSignMessageFn`;
 * - an explicit timeout (the SDK default is 5 minutes) and no retries (the SDK has none);
 * - order requests on a client whose agent never reuses sockets: a pooled socket the server
 *   already closed fails *after* the bytes were written (ECONNRESET, fate unknown), while a
 *   fresh connection that is refused proves the order never left;
 * - generic `getPrivate/postPrivate/...` calls, skipping the SDK's order-id checks (it expects
 *   its broker prefix and logs a warning for ours).
 * Every outcome is returned as data (never thrown), classified for the caller.
 */
import http from 'node:http';
import https from 'node:https';
import { USDMClient } from 'binance';
import type { Clock } from '../../ops/clock.js';
import { sendSignedOrder } from './order-client.js';
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
  orderLimit10s?: number;
  orderLimit1m?: number;
}

type Method = 'GET' | 'POST' | 'DELETE';

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

export class Transport {
  private readonly reads: USDMClient;
  private readonly orders: USDMClient;
  private offsetMs = 0;
  private readonly agents: Array<http.Agent | https.Agent> = [];
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
    const base = {
      api_key: opts.apiKey,
      api_secret: opts.apiSecret,
      baseUrl: opts.baseUrl.replace(/\/+$/, ''),
      recvWindow: opts.recvWindow,
      parseExceptions: false,
      disableTimeSync: true,
      customSignMessageFn: async (message: string, secret: string) => signPayload(secret, message),
    };
    const agents = (keepAlive: boolean) => {
      const httpAgent = new http.Agent({ keepAlive });
      const httpsAgent = new https.Agent({ keepAlive });
      this.agents.push(httpAgent, httpsAgent);
      return requestOptions(httpAgent, httpsAgent);
    };
    const requestOptions = (httpAgent: http.Agent, httpsAgent: https.Agent) => ({
      timeout: opts.timeoutMs,
      httpAgent,
      httpsAgent,
      // Binance error bodies are JSON on every status; never throw inside axios on a status.
      validateStatus: () => true,
    });
    this.reads = new USDMClient(base, agents(true));
    this.orders = new USDMClient(base, agents(false));
  }

  /** Closes pooled sockets; calls after this open new ones. */
  close(): void {
    for (const a of this.agents) a.destroy();
  }

  /** Server time minus local time (ms), applied to every signed request's timestamp. */
  get timeOffsetMs(): number {
    return this.offsetMs;
  }

  setTimeOffset(ms: number): void {
    this.offsetMs = ms;
    this.reads.setTimeOffset(ms);
    this.orders.setTimeOffset(ms);
  }

  /** The exchange's clock as this process estimates it (what a signed timestamp carries). */
  serverNow(): number {
    return Date.now() + this.offsetMs;
  }

  async call(
    method: Method,
    path: string,
    params: Params,
    opts: { signed: boolean; order?: boolean },
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
    const spent = this.budgetSpent(opts.order === true);
    if (spent)
      return { kind: 'not_sent', cause: 'rate_limited', message: `${spent} used up for this window` };
    if (opts.order && opts.signed) return this.callOrder(method, path, params);
    const client = opts.order ? this.orders : this.reads;
    const endpoint = path.replace(/^\//, '');
    let raw: unknown;
    try {
      raw = await this.invoke(client, method, endpoint, params, opts.signed);
    } catch (err) {
      return this.classifyThrown(err);
    }
    // The SDK keeps the last value of each header; order counts only come on order answers.
    const states = client.getRateLimitStates();
    this.track(opts.order ? states : { 'x-mbx-used-weight-1m': states['x-mbx-used-weight-1m'] });
    // With validateStatus accepting everything, the SDK returns the body on 200 and throws
    // the axios response object on any other status.
    return { kind: 'ok', status: 200, body: raw };
  }

  /** Signed order requests: undici on a fresh connection (order-client.ts), classified alike. */
  private async callOrder(method: Method, path: string, params: Params): Promise<CallOutcome> {
    let res;
    try {
      res = await sendSignedOrder({
        baseUrl: this.opts.baseUrl,
        apiKey: this.opts.apiKey,
        apiSecret: this.opts.apiSecret,
        method,
        path,
        params,
        timestampMs: this.serverNow(),
        recvWindow: this.opts.recvWindow,
        timeoutMs: this.opts.timeoutMs,
      });
    } catch (err) {
      return this.classifyThrown(err);
    }
    if (res.status !== 200) return this.httpError(res);
    this.track(res.headers);
    return { kind: 'ok', status: 200, body: res.data };
  }

  private invoke(
    client: USDMClient,
    method: Method,
    endpoint: string,
    params: Params,
    signed: boolean,
  ): Promise<unknown> {
    if (signed) {
      if (method === 'GET') return client.getPrivate(endpoint, params);
      if (method === 'POST') return client.postPrivate(endpoint, params);
      return client.deletePrivate(endpoint, params);
    }
    if (method === 'GET') return client.get(endpoint, params);
    if (method === 'POST') return client.post(endpoint, params);
    return client.delete(endpoint, params);
  }

  private classifyThrown(err: unknown): CallOutcome {
    const e = (err ?? {}) as {
      response?: unknown;
      status?: unknown;
      data?: unknown;
      headers?: unknown;
      code?: unknown;
      message?: unknown;
    };
    const response = (e.response ?? (typeof e.status === 'number' ? e : undefined)) as
      { status: number; data?: unknown; headers?: unknown } | undefined;
    if (response && typeof response.status === 'number') return this.httpError(response);
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
   * rolled over yet (Binance counts per clock minute / 10 s), instead of earning a 429.
   */
  private budgetSpent(order: boolean): string | null {
    const now = this.serverNow();
    const same = (ms: number, at: number) => Math.floor(now / ms) === Math.floor(at / ms);
    const l = this.limits;
    const w = this.weightAt;
    const o = this.ordersAt;
    if (same(60_000, w) && l.usedWeight1m !== null && l.usedWeight1m >= (this.opts.weightLimit1m ?? 2400))
      return 'request weight';
    if (!order) return null;
    if (same(10_000, o) && l.orderCount10s !== null && l.orderCount10s >= (this.opts.orderLimit10s ?? 300))
      return 'order count (10s)';
    if (same(60_000, o) && l.orderCount1m !== null && l.orderCount1m >= (this.opts.orderLimit1m ?? 1200))
      return 'order count (1m)';
    return null;
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
