/**
 * The transport's HTTP layer against a bare node:http server (not the paper exchange), for what
 * the adapter suites cannot see: which connection a request used, the exact bytes signed, and
 * how each way of failing is classified.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Transport } from '../../src/exchange/binance/transport.js';
import { ManualClock, systemClock, type Clock } from '../../src/ops/clock.js';
import { until } from '../helpers/wait.js';

interface Seen {
  method: string;
  url: string;
  apiKey: string | undefined;
  socket: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let base: string;
let handler: Handler;
let seen: Seen[] = [];
let sockets = 0;
const socketIds = new WeakMap<object, number>();
const open = new Map<number, import('node:net').Socket>();

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      apiKey: req.headers['x-mbx-apikey'] as string | undefined,
      socket: socketIds.get(req.socket) ?? -1,
    });
    handler(req, res);
  });
  server.on('connection', (s) => {
    const id = ++sockets;
    socketIds.set(s, id);
    open.set(id, s);
    s.once('close', () => open.delete(id));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
  handler = json(200, { ok: true });
});

function transport(timeoutMs = 2000, baseUrl = base, clock: Clock = systemClock) {
  return new Transport({
    baseUrl,
    apiKey: 'k-1',
    apiSecret: 's-1',
    recvWindow: 4000,
    timeoutMs,
    clock,
  });
}

describe('transport connections', () => {
  it('when reads follow one another then they share one pooled connection', async () => {
    const t = transport();
    for (let i = 0; i < 4; i++) {
      expect(await t.call('GET', '/fapi/v1/premiumIndex', { symbol: 'BTCUSDT' }, { signed: false })).toEqual({
        kind: 'ok',
        status: 200,
        body: { ok: true },
      });
    }
    t.close();
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
  });

  it('when orders follow one another then each goes on a connection of its own', async () => {
    const t = transport();
    for (let i = 0; i < 3; i++) {
      const out = await t.call(
        'POST',
        '/fapi/v1/order',
        { symbol: 'BTCUSDT' },
        { signed: true, order: true },
      );
      expect(out.kind).toBe('ok');
    }
    await t.call('GET', '/fapi/v1/time', {}, { signed: false });
    t.close();
    expect(new Set(seen.map((s) => s.socket)).size).toBe(4);
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST', 'GET']);
  });
});

describe('transport: an order connection opened ahead', () => {
  const order = (t: Transport) =>
    t.call('POST', '/fapi/v1/order', { symbol: 'BTCUSDT' }, { signed: true, order: true });

  it('when an order connection was prepared then the order goes on it and it closes after the answer', async () => {
    const t = transport();
    const before = sockets;
    t.prepareOrder();
    await until(() => sockets > before, 8000, 'the prepared connection reaches the server');
    const prepared = sockets;
    expect(seen).toEqual([]); // opening it sends nothing
    expect((await order(t)).kind).toBe('ok');
    expect(seen.map((s) => s.socket)).toEqual([prepared]);
    await until(() => !open.has(prepared), 8000, 'the order connection is not kept');
    expect((await order(t)).kind).toBe('ok'); // the next, unprepared, opens its own
    expect(seen[1]!.socket).toBe(prepared + 1);
    t.close();
  });

  it('when reads follow a prepared order connection then they never take it', async () => {
    const t = transport();
    const before = sockets;
    t.prepareOrder();
    await until(() => sockets > before, 8000, 'the prepared connection reaches the server');
    const prepared = sockets;
    await t.call('GET', '/fapi/v1/time', {}, { signed: false });
    expect(seen[0]!.socket).not.toBe(prepared);
    expect((await order(t)).kind).toBe('ok');
    expect(seen[1]!.socket).toBe(prepared);
    t.close();
  });

  it('when the server closed the prepared connection then the order opens its own', async () => {
    const t = transport();
    const before = sockets;
    t.prepareOrder();
    await until(() => sockets > before, 8000, 'the prepared connection reaches the server');
    const prepared = sockets;
    open.get(prepared)!.end();
    await until(() => !open.has(prepared), 8000, 'the client lets the closed connection go');
    expect((await order(t)).kind).toBe('ok');
    expect(seen.map((s) => s.socket)).toEqual([prepared + 1]);
    t.close();
  });

  it('when the prepared connect is refused then the order is still proven not sent', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const t = transport(2000, `http://127.0.0.1:${port}`);
    t.prepareOrder();
    const out = await order(t);
    t.close();
    expect(out).toMatchObject({ kind: 'not_sent', cause: 'connection_refused' });
  });
});

describe('transport signing', () => {
  it('when a call is signed then the signature covers exactly the query bytes sent before it', async () => {
    const t = transport();
    await t.call(
      'GET',
      '/fapi/v1/order',
      { symbol: 'BTCUSDT', origClientOrderId: 'qa-a:b/c' },
      { signed: true },
    );
    t.close();
    const [req] = seen;
    const query = req!.url.slice(req!.url.indexOf('?') + 1);
    const [unsigned, signature] = query.split('&signature=');
    expect(signature).toBe(createHmac('sha256', 's-1').update(unsigned!).digest('hex'));
    const params = new URLSearchParams(unsigned);
    expect(params.get('origClientOrderId')).toBe('qa-a:b/c');
    expect(params.get('recvWindow')).toBe('4000');
    expect(Number(params.get('timestamp'))).toBeGreaterThan(0);
    expect(req!.url.startsWith('/fapi/v1/order?')).toBe(true);
    expect(req!.apiKey).toBe('k-1');
  });

  it('when a call is signed then its timestamp is the clock port time plus the synced offset', async () => {
    const t = transport(2000, base, new ManualClock(1_700_000_000_000));
    t.setTimeOffset(250);
    await t.call('GET', '/fapi/v1/order', { symbol: 'BTCUSDT' }, { signed: true });
    t.close();
    const url = seen[0]!.url;
    expect(new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('timestamp')).toBe('1700000000250');
  });

  it('when a call is not signed then it carries its parameters only', async () => {
    const t = transport();
    await t.call('GET', '/fapi/v1/premiumIndex', { symbol: 'ETHUSDT' }, { signed: false });
    t.close();
    expect(seen[0]!.url).toBe('/fapi/v1/premiumIndex?symbol=ETHUSDT');
  });

  it('when the base URL has a path then requests go below it', async () => {
    const t = transport(2000, `${base}prefix/`);
    await t.call('GET', '/fapi/v1/time', {}, { signed: false });
    t.close();
    expect(seen[0]!.url).toBe('/prefix/fapi/v1/time');
  });
});

describe('transport outcomes', () => {
  it('when the answer is an error then its status, code, message and weight header are kept', async () => {
    handler = json(400, { code: -1121, msg: 'Invalid symbol.' }, { 'x-mbx-used-weight-1m': '17' });
    const t = transport();
    const out = await t.call('GET', '/fapi/v1/premiumIndex', { symbol: 'X' }, { signed: false });
    t.close();
    expect(out).toEqual({
      kind: 'http_error',
      status: 400,
      code: -1121,
      message: 'Invalid symbol.',
      retryAfterSec: null,
    });
    expect(t.limits.usedWeight1m).toBe(17);
  });

  it('when an order answer carries order counts then they are tracked', async () => {
    handler = json(200, {}, { 'x-mbx-order-count-10s': '3', 'x-mbx-order-count-1m': '9' });
    const t = transport();
    await t.call('POST', '/fapi/v1/order', {}, { signed: true, order: true });
    t.close();
    expect(t.limits).toMatchObject({ orderCount10s: 3, orderCount1m: 9 });
  });

  it('when a 200 answer is not JSON then its text is returned for the caller to refuse', async () => {
    handler = (_req, res) => res.end('<html>oops</html>');
    const t = transport();
    const out = await t.call('GET', '/fapi/v1/time', {}, { signed: false });
    t.close();
    expect(out).toEqual({ kind: 'ok', status: 200, body: '<html>oops</html>' });
  });

  it('when the answer is cut off mid-body then the connection counts as dropped (fate unknown)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"orderId":');
      setImmediate(() => res.socket?.destroy());
    };
    const t = transport();
    const out = await t.call('POST', '/fapi/v1/order', {}, { signed: true, order: true });
    t.close();
    expect(out).toMatchObject({ kind: 'no_response', cause: 'connection_dropped' });
  });

  it('when the socket closes before any answer then the connection counts as dropped', async () => {
    handler = (req) => req.socket.destroy();
    const t = transport();
    const out = await t.call('POST', '/fapi/v1/order', {}, { signed: true, order: true });
    t.close();
    expect(out).toMatchObject({ kind: 'no_response', cause: 'connection_dropped' });
  });

  it('when no answer comes within the timeout then it is a timeout (fate unknown)', async () => {
    const held: http.ServerResponse[] = [];
    handler = (_req, res) => void held.push(res);
    const t = transport(150);
    const out = await t.call('POST', '/fapi/v1/order', {}, { signed: true, order: true });
    t.close();
    for (const res of held) res.socket?.destroy();
    expect(out).toMatchObject({ kind: 'no_response', cause: 'timeout' });
  });

  it('when nothing listens then the call is proven not sent', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const t = transport(2000, `http://127.0.0.1:${port}`);
    const out = await t.call('POST', '/fapi/v1/order', {}, { signed: true, order: true });
    t.close();
    expect(out).toMatchObject({ kind: 'not_sent', cause: 'connection_refused' });
  });
});
