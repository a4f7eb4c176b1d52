/**
 * The adapter's HTTP client, on node:http / node:https (already loaded by the ops server and the
 * Redis client, so it costs no memory of its own):
 * - reads reuse sockets (a keep-alive agent): they are idempotent, and a read that found a
 *   pooled socket already closed is retried by the caller;
 * - orders go on a fresh connection each (an agent that never keeps a socket): a refused
 *   connect proves the order never left, while a pooled socket the server had closed would
 *   fail *after* the bytes were written (fate unknown);
 * - an order's connection may be opened ahead of it (`prepareFresh`, while its permits are
 *   consumed), so the connect (and against Binance the TLS handshake) is off the order's path.
 *   Such a socket has carried no request: it is used only while open and young, and a connect
 *   that failed leaves the order to a connection of its own, whose refusal still proves it unsent.
 * One deadline covers the whole exchange (connect, request, answer, body). Failures reject with
 * an `HttpSendError` carrying a Node error code (ECONNREFUSED, ETIMEDOUT, ECONNRESET, …) for the
 * transport to classify. Chosen over undici, whose WebAssembly HTTP parser grows RSS once the
 * first request has been parsed, and over the `binance` SDK (axios), a large share of apply's CPU
 * in profiles (BENCHMARKS.md, Exchange and Pipeline).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  data: unknown;
}

/** A failed request, with the Node error code the transport classifies by. */
export class HttpSendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpSendError';
  }
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL (leading slash optional) and the query string, without '?'. */
  path: string;
  query: string;
  headers: Record<string, string>;
  /** A fresh connection (orders) instead of a pooled one (reads). */
  fresh: boolean;
}

/** Connections opened ahead of orders: at most this many wait, each at most this long. */
const WARM_MAX = 4;
const WARM_MAX_AGE_MS = 2_000;

interface WarmSocket {
  socket: net.Socket;
  connected: boolean;
}

export class HttpClient {
  private readonly url: URL;
  /** The host to connect to (an IPv6 literal without its brackets). */
  private readonly host: string;
  private warm: WarmSocket[] = [];
  private readonly basePath: string;
  private readonly transport: typeof http | typeof https;
  private readonly pooled: http.Agent;
  private readonly fresh: http.Agent;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(baseUrl);
    this.host = this.url.hostname.replace(/^\[|\]$/g, '');
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    const tls = this.url.protocol === 'https:';
    this.transport = tls ? https : http;
    const Agent = tls ? https.Agent : http.Agent;
    this.pooled = new Agent({ keepAlive: true });
    this.fresh = new Agent({ keepAlive: false });
  }

  /** Closes pooled sockets; requests after this open new ones. */
  close(): void {
    this.pooled.destroy();
    this.fresh.destroy();
    for (const w of this.warm.splice(0)) w.socket.destroy();
  }

  /**
   * Opens a connection for the next `fresh` request, unless enough are already waiting. Never
   * fails: a connect that does not succeed is dropped, and the request opens its own.
   */
  prepareFresh(): void {
    this.warm = this.warm.filter((w) => !w.socket.destroyed);
    if (this.warm.length >= WARM_MAX) return;
    const host = this.host;
    const port = Number(this.url.port) || (this.transport === https ? 443 : 80);
    const socket =
      this.transport === https
        ? tls.connect({
            host,
            port,
            servername: net.isIP(host) ? undefined : host,
            ALPNProtocols: ['http/1.1'],
          })
        : net.connect({ host, port });
    const w: WarmSocket = { socket, connected: false };
    socket.setNoDelay(true);
    socket.once(this.transport === https ? 'secureConnect' : 'connect', () => (w.connected = true));
    // Unused, or closed by the server, it goes: it never carried a request, so nothing is lost.
    socket.on('error', () => socket.destroy());
    socket.once('end', () => socket.destroy());
    socket.once('close', () => (this.warm = this.warm.filter((x) => x !== w)));
    socket.setTimeout(WARM_MAX_AGE_MS, () => socket.destroy());
    this.warm.push(w);
  }

  /** A connection opened ahead, connected and never used, or null. */
  private takeWarm(): net.Socket | null {
    const i = this.warm.findIndex(
      (w) => w.connected && !w.socket.destroyed && w.socket.readyState === 'open',
    );
    if (i < 0) return null;
    const [w] = this.warm.splice(i, 1);
    w!.socket.setTimeout(0);
    w!.socket.removeAllListeners('end');
    w!.socket.removeAllListeners('error');
    return w!.socket;
  }

  send(r: HttpRequest): Promise<HttpAnswer> {
    const path = `${this.basePath}/${r.path.replace(/^\/+/, '')}${r.query ? `?${r.query}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json', ...r.headers };
    // Signed parameters travel in the query string; a POST/DELETE carries an empty body.
    if (r.method !== 'GET') headers['content-length'] = '0';
    const warm = r.fresh ? this.takeWarm() : null;
    // Without an agent, Node would keep the socket open after the answer: an order's is its own.
    if (warm) headers.connection = 'close';
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(toSendError(err));
      };
      const req = this.transport.request(
        {
          protocol: this.url.protocol,
          hostname: this.host,
          port: this.url.port || undefined,
          method: r.method,
          path,
          headers,
          ...(warm ? { createConnection: () => warm } : { agent: r.fresh ? this.fresh : this.pooled }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('aborted', () => fail(new HttpSendError('ECONNRESET', 'answer cut off')));
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            if (!res.complete) return fail(new HttpSendError('ECONNRESET', 'answer cut off'));
            settled = true;
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            let data: unknown = text;
            try {
              data = JSON.parse(text);
            } catch {
              // left as text: an unreadable answer is classified by the caller
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, data });
          });
        },
      );
      const timer = setTimeout(
        () => fail(new HttpSendError('ETIMEDOUT', `no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('error', fail);
      req.end();
    });
  }
}

function toSendError(err: unknown): HttpSendError {
  if (err instanceof HttpSendError) return err;
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  // Node reports a socket closed before any answer as ECONNRESET "socket hang up".
  return new HttpSendError(typeof e.code === 'string' ? e.code : '', message);
}
