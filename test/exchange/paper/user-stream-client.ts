/** A user-data-stream client for paper exchange tests: a real `ws` socket that records what arrives. */
import { afterAll, afterEach, beforeAll } from 'vitest';
import WebSocket from 'ws';
import {
  startPaperExchange,
  type PaperExchange,
  type PaperExchangeOptions,
} from '../../../src/exchange/paper/index.js';
import { until } from '../../helpers/wait.js';
import { KEY, raw, SECRET } from '../paper-client.js';

/** A message as received (JSON), or a marker a test pushed to record when something happened. */
export type Received = Record<string, unknown> & { e: string };

export interface StreamClient {
  ws: WebSocket;
  messages: Received[];
  pings: number;
  /** Resolves with the close code and reason once the server closes or cuts the socket. */
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  /** Waits for the first message (from `from` on) that matches, and returns it. */
  next(match: (m: Received) => boolean, from?: number, what?: string): Promise<Received>;
}

export async function connectStream(url: string, opts: WebSocket.ClientOptions = {}): Promise<StreamClient> {
  const ws = new WebSocket(url, opts);
  const messages: Received[] = [];
  let closedFlag = false;
  const client: StreamClient = {
    ws,
    messages,
    pings: 0,
    closed: new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        closedFlag = true;
        resolve({ code, reason: reason.toString() });
      }),
    ),
    isClosed: () => closedFlag,
    next: (match, from = 0, what = 'event') => until(() => messages.slice(from).find(match), 8000, what),
  };
  ws.on('message', (data: WebSocket.RawData) => messages.push(JSON.parse(data.toString()) as Received));
  ws.on('ping', () => (client.pings += 1));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** The HTTP status of a refused upgrade, or 101 when the socket opened. */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => resolve(0));
  });
}

/** POST /fapi/v1/listenKey (API key only) and the key it answers. */
export async function openListenKey(px: PaperExchange): Promise<string> {
  const r = await raw(px.url, 'POST', '/fapi/v1/listenKey', {}, { signed: false });
  return (r.body as { listenKey: string }).listenKey;
}

/** Control surface: sets marks (which triggers crossed stops) or positions. */
export async function control(px: PaperExchange, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${px.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return res.json();
}

/** Event type and, for orders, execution type and status: what a sequence test compares. */
export function describeEvent(m: Received): string {
  if (m.e === 'ORDER_TRADE_UPDATE') {
    const o = m.o as { x: string; X: string };
    return `ORDER ${o.x}/${o.X}`;
  }
  if (m.e === 'ALGO_UPDATE') return `ALGO ${(m.o as { X: string }).X}`;
  if (m.e === 'ACCOUNT_UPDATE') return `ACCOUNT ${(m.a as { m: string }).m}`;
  return m.e;
}

/**
 * A paper exchange for the file (quick clock sweep and pings unless `opts` says otherwise) and
 * `stream()`, which opens the listenKey and connects on `path`; every stream a test opened is
 * cut after it.
 */
export function usePaperStream(opts: Partial<PaperExchangeOptions> = {}) {
  let px: PaperExchange | null = null;
  const opened: StreamClient[] = [];
  beforeAll(async () => {
    px = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      ...opts,
      userStream: { sweepMs: 10, pingIntervalMs: 20, ...opts.userStream },
    });
  });
  afterAll(() => px?.close());
  afterEach(() => {
    for (const c of opened.splice(0)) c.ws.terminate();
  });
  const rig = {
    get px(): PaperExchange {
      if (!px) throw new Error('the paper exchange starts in beforeAll');
      return px;
    },
    async stream(path = 'ws'): Promise<{ key: string; client: StreamClient }> {
      const key = await openListenKey(rig.px);
      const client = await connectStream(`${rig.px.wsUrl}/${path}/${key}`);
      opened.push(client);
      return { key, client };
    },
  };
  return rig;
}
