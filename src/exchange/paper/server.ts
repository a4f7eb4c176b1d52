/**
 * The paper exchange: a node:http server speaking the Binance USD-M REST subset in ROUTES,
 * with Binance's auth checks (API key -2015, signature -1022 over the query string and form
 * body exactly as received, timestamp -1021), weight and order-count headers, runtime fault
 * injection, and a loopback-only control surface for other processes:
 *   GET /paper/state            orders, fills, positions, algo orders, recent request log
 *   GET /paper/orders           every order booked, oldest first
 *   GET|POST|DELETE /paper/faults  list (what remains of each) / replace (a FaultSpec or an
 *                               array) / clear the faults
 *   POST /paper/positions       {"BTCUSDT": 0.5, ...} sets positions (entry at the mark)
 *   POST /paper/marks           {"BTCUSDT": 61000, ...} sets mark prices (and triggers stops)
 * The user data stream (user-stream.ts) shares the server: WebSocket upgrades at /ws/<listenKey>
 * and /private/ws/<listenKey>.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../../ops/clock.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describeFault, FaultController, type FaultSpec } from './faults.js';
import { ROUTES, type Route } from './routes.js';
import { PaperState } from './state.js';
import { ApiReject } from './trading.js';
import { handleControl } from './control.js';
import { syntheticMarkets, type PaperMarket } from './markets.js';
import { UserStreamServer, type UserStreamOptions } from './user-stream.js';

export interface PaperExchangeOptions {
  port?: number;
  host?: string;
  apiKey: string;
  apiSecret: string;
  positions?: Record<string, number>;
  marks?: Record<string, number>;
  clock?: Clock;
  /** Source of randomness for probabilistic faults (seed it to replay a run). */
  random?: () => number;
  /** List this many synthetic markets besides the real-looking ones (SYN0000USDT, ...). */
  syntheticSymbols?: number;
  /** Markets besides the built-in ones (customMarket()); one with a built-in symbol replaces it. */
  markets?: readonly PaperMarket[];
  /** Position every synthetic market starts with (default 0). */
  syntheticPosition?: number;
  /** Book fills without changing positions (load tests; see PaperStateOptions). */
  holdPositions?: boolean;
  /**
   * false: answer without the X-MBX-USED-WEIGHT / ORDER-COUNT headers, so clients that pace
   * themselves on them (the adapter refuses locally at Binance's 2400 weight / 1200 orders a
   * minute) run unthrottled: load tests of our side beyond one account's limits. Default true.
   */
  usageHeaders?: boolean;
  /** The user data stream's ping interval, pong timeout and clock sweep (user-stream.ts). */
  userStream?: UserStreamOptions;
}

export interface PaperExchange {
  url: string;
  /** The WebSocket base of the user data stream: `${wsUrl}/ws/<listenKey>` (or `/private/ws/…`). */
  wsUrl: string;
  port: number;
  state: PaperState;
  faults: FaultController;
  userStream: UserStreamServer;
  close(): Promise<void>;
}

/**
 * The paper exchange checks signatures with its own few lines rather than the adapter's signer,
 * so a signing bug cannot be hidden by both sides agreeing on it (ccxt's tests cover this too).
 */
function signatureMatches(secret: string, totalParams: string, signature: string): boolean {
  const expected = Buffer.from(createHmac('sha256', secret).update(totalParams).digest('hex'));
  const given = Buffer.from(signature.toLowerCase());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

class Counters {
  private buckets = new Map<string, number>();
  add(key: string, n: number): number {
    const v = (this.buckets.get(key) ?? 0) + n;
    this.buckets.set(key, v);
    if (this.buckets.size > 64) this.buckets.delete(this.buckets.keys().next().value as string);
    return v;
  }
}

/** Removes the `signature=` pair from raw params text without touching anything else. */
function splitSignature(raw: string): { rest: string; signature: string | null } {
  const m = /(^|&)signature=([^&]*)/.exec(raw);
  if (!m) return { rest: raw, signature: null };
  const rest = raw.slice(0, m.index) + raw.slice(m.index + m[0].length);
  return { rest: m[1] === '' ? rest.replace(/^&/, '') : rest, signature: decodeURIComponent(m[2] ?? '') };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startPaperExchange(opts: PaperExchangeOptions): Promise<PaperExchange> {
  const clock = opts.clock ?? systemClock;
  const synthetic = syntheticMarkets(opts.syntheticSymbols ?? 0);
  const positions = { ...opts.positions };
  for (const m of synthetic) positions[m.symbol] ??= opts.syntheticPosition ?? 0;
  const state = new PaperState(positions, opts.marks ?? {}, {
    extraMarkets: [...synthetic, ...(opts.markets ?? [])],
    holdPositions: opts.holdPositions ?? false,
  });
  const faults = new FaultController(opts.random);
  const weights = new Counters();
  const held = new Set<ServerResponse>();

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  function checkApiKey(req: IncomingMessage): void {
    if (req.headers['x-mbx-apikey'] !== opts.apiKey) {
      throw new ApiReject(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    }
  }

  function authenticate(req: IncomingMessage, rawQuery: string, rawBody: string, p: URLSearchParams): void {
    checkApiKey(req);
    const q = splitSignature(rawQuery);
    const b = splitSignature(rawBody);
    const signature = q.signature ?? b.signature;
    if (!signature)
      throw new ApiReject(
        -1102,
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
      );
    if (!signatureMatches(opts.apiSecret, q.rest + b.rest, signature)) {
      throw new ApiReject(-1022, 'Signature for this request is not valid.');
    }
    const ts = Number(p.get('timestamp'));
    const recvWindow = Number(p.get('recvWindow') ?? 5000);
    if (!p.get('timestamp') || !Number.isInteger(ts))
      throw new ApiReject(
        -1102,
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
      );
    if (!Number.isFinite(recvWindow) || recvWindow <= 0 || recvWindow > 60_000)
      throw new ApiReject(-1102, 'recvWindow must be less than 60000');
    const now = clock.now();
    if (!(ts < now + 1000 && now - ts <= recvWindow)) {
      throw new ApiReject(-1021, 'Timestamp for this request is outside of the recvWindow.');
    }
  }

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    rawQuery: string,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const rawBody = await readBody(req);
    const params = new URLSearchParams(rawQuery);
    for (const [k, v] of new URLSearchParams(rawBody)) params.append(k, v);
    const route: Route | undefined = ROUTES[`${method} ${path}`];
    const fault: FaultSpec | null = faults.take(method, path);
    const log = {
      time: clock.now(),
      method,
      path,
      status: 0,
      fault: fault ? describeFault(fault) : null,
      clientOrderId:
        params.get('newClientOrderId') ?? params.get('origClientOrderId') ?? params.get('clientAlgoId'),
      bodyBytes: Buffer.byteLength(rawBody),
    };
    state.requestLog.push(log);
    const counted = `${method} ${path}`;
    state.requestCounts.set(counted, (state.requestCounts.get(counted) ?? 0) + 1);
    if (state.requestLog.length > 10_000) state.requestLog.splice(0, 5_000);
    const minute = Math.floor(clock.now() / 60_000);
    const usage = opts.usageHeaders ?? true;
    const headers: Record<string, string> = {};
    if (usage) headers['X-MBX-USED-WEIGHT-1M'] = String(weights.add(`w${minute}`, route?.weight ?? 1));
    if (usage && route?.placesOrder) {
      headers['X-MBX-ORDER-COUNT-10S'] = String(weights.add(`o10:${Math.floor(clock.now() / 10_000)}`, 1));
      headers['X-MBX-ORDER-COUNT-1M'] = String(weights.add(`o60:${minute}`, 1));
    }
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      log.status = status;
      send(res, status, body, { ...headers, ...extra });
    };
    if (fault?.rateLimit) {
      const { status, retryAfterSec } = fault.rateLimit;
      const msg =
        status === 418
          ? `Way too many requests; IP banned until ${clock.now() + retryAfterSec * 1000}.`
          : 'Too many requests; current limit is 2400 requests per minute.';
      return reply(status, { code: -1003, msg }, { 'Retry-After': String(retryAfterSec) });
    }
    if (!route) return reply(404, { code: -1102, msg: `Unknown endpoint ${method} ${path}` });
    try {
      if (route.signed) authenticate(req, rawQuery, rawBody, params);
      else if (route.keyed) checkApiKey(req);
    } catch (err) {
      if (err instanceof ApiReject) return reply(err.status, { code: err.code, msg: err.msg });
      throw err;
    }
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (fault?.status5xx) {
      return reply(
        fault.status5xx,
        fault.status5xx === 503
          ? { code: -1001, msg: 'Service Unavailable.' }
          : { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' },
      );
    }
    if (fault?.timeout) {
      held.add(res);
      return;
    }
    let status = 200;
    let body: unknown;
    try {
      const now = clock.now();
      const recvWindow = Number(params.get('recvWindow') ?? 5000);
      if (route.placesOrder && now - Number(params.get('timestamp')) > recvWindow) {
        throw new ApiReject(-5028, 'Timestamp for this request is outside of the ME recvWindow.');
      }
      body = route.handle(state, params, now);
    } catch (err) {
      if (!(err instanceof ApiReject)) throw err;
      status = err.status;
      body = { code: err.code, msg: err.msg };
    }
    if (fault?.unknownAfterFill) {
      return reply(503, { code: -1000, msg: 'Unknown error, please check your request or try again later.' });
    }
    if (fault?.timeoutAfterFill) {
      held.add(res);
      return;
    }
    if (fault?.dropAfterFill) {
      log.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.garbageAfterFill) return reply(200, '<html><body>502 Bad Gateway</body></html>');
    reply(status, body);
  }

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const task = path.startsWith('/paper/')
      ? handleControl(req, res, path, { state, faults, now: () => clock.now(), readBody, send })
      : handleApi(req, res, path, rawQuery);
    task.catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { code: -1000, msg: `paper exchange error: ${String(err)}` });
    });
  });
  server.keepAliveTimeout = 5_000;
  const userStream = new UserStreamServer(state, faults, clock, opts.userStream);
  server.on('upgrade', (req, socket, head) => userStream.handleUpgrade(req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    wsUrl: `ws://${host}:${address.port}`,
    port: address.port,
    state,
    faults,
    userStream,
    close: async () => {
      await userStream.close();
      for (const res of held) res.destroy();
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
