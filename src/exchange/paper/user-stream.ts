/**
 * The paper exchange's user data stream: a WebSocket server on the paper exchange's own HTTP
 * server (upgrade at `/ws/<listenKey>`, Binance's classic path, and `/private/ws/<listenKey>` or
 * `/private/ws?listenKey=<key>`, the USD-M private base Binance moved user data to) pushing Binance's events for every change
 * of the paper state. Like Binance it pings, cuts a connection after 24 h and sends
 * listenKeyExpired before closing when the key lapses (both on the paper clock, checked every
 * `sweepMs`). Stream faults (faults.ts, `stream`) drop, silence, delay or reorder it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../ops/clock.js';
import type { FaultController } from './faults.js';
import type { PaperEvent, PaperState } from './state.js';
import { listenKeyExpiredEvent, userEventOf, type UserEvent } from './user-events.js';

/** Binance: "A single connection is only valid for 24 hours". */
export const CONNECTION_LIFETIME_MS = 24 * 60 * 60_000;

export interface UserStreamOptions {
  /** Real-time interval of the server's pings (Binance: every 3 minutes). */
  pingIntervalMs?: number;
  /** A connection that has not answered a ping for this long is cut (Binance: 10 minutes). */
  pongTimeoutMs?: number;
  /** How often the paper clock is checked for lapsed keys and 24 h old connections. */
  sweepMs?: number;
}

interface Connection {
  ws: WebSocket;
  listenKey: string;
  /** Paper clock, for the 24 h cut. */
  connectedAt: number;
  /** Real time of the last pong, for the pong timeout. */
  lastPong: number;
}

const KEY_IN_PATH = /^\/(?:private\/)?ws\/([A-Za-z0-9]{1,128})$/;
const KEY_TEXT = /^[A-Za-z0-9]{1,128}$/;

/**
 * The listenKey a stream URL names: `/ws/<key>`, `/private/ws/<key>`, or the query form
 * `/private/ws?listenKey=<key>` that clients moved to with the /private split.
 */
function listenKeyOf(url: string): string | null {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const inPath = KEY_IN_PATH.exec(path)?.[1];
  if (inPath) return inPath;
  const key = path === '/private/ws' ? new URLSearchParams(url.slice(q + 1)).get('listenKey') : null;
  return q >= 0 && key !== null && KEY_TEXT.test(key) ? key : null;
}

function refuse(socket: Duplex, status: string, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export class UserStreamServer {
  /** Pongs are answered by hand, so a `silent` stream answers no client ping either. */
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly connections = new Set<Connection>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: Array<() => void> = [];
  private lastE = 0;
  /** An event a `reorder` fault holds back until the next one has gone. */
  private held: UserEvent | null = null;
  private readonly pongTimeoutMs: number;

  constructor(
    private readonly state: PaperState,
    private readonly faults: FaultController,
    private readonly clock: Clock,
    opts: UserStreamOptions = {},
  ) {
    this.pongTimeoutMs = opts.pongTimeoutMs ?? 600_000;
    this.unsubscribe.push(state.subscribe((change) => this.onChange(change)));
    this.unsubscribe.push(faults.watch(() => this.onFaults()));
    this.every(opts.sweepMs ?? 1_000, () => this.sweep());
    this.every(opts.pingIntervalMs ?? 180_000, () => this.ping());
  }

  /** How many streams are connected now. */
  get size(): number {
    return this.connections.size;
  }

  /** Takes an HTTP upgrade: a user-stream path with the active key connects; anything else is refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const key = listenKeyOf(req.url ?? '/');
    if (!key) {
      const path = (req.url ?? '/').split('?')[0];
      return refuse(socket, '404 Not Found', { code: -1102, msg: `Unknown stream path ${path}` });
    }
    if (!this.state.listenKeys.isActive(key, this.clock.now())) {
      return refuse(socket, '400 Bad Request', { code: -1125, msg: 'This listenKey does not exist.' });
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const c: Connection = { ws, listenKey: key, connectedAt: this.clock.now(), lastPong: Date.now() };
      this.connections.add(c);
      ws.on('pong', () => (c.lastPong = Date.now()));
      ws.on('ping', (data) => {
        if (!this.faults.streamSilent()) ws.pong(data);
      });
      ws.on('close', () => this.connections.delete(c));
      ws.on('error', () => ws.terminate());
    });
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribe) u();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.connections) c.ws.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Event time: the paper clock, but strictly increasing, so clients can order by it. */
  private nextE(): number {
    this.lastE = Math.max(this.clock.now(), this.lastE + 1);
    return this.lastE;
  }

  private onChange(change: PaperEvent): void {
    if (change.type === 'streamClosed') {
      for (const c of this.connections)
        if (c.listenKey === change.listenKey) c.ws.close(1000, 'listenKey closed');
      return;
    }
    // Nobody listening (load tests): no payload to build, and no fault uses spent on nothing.
    if (this.connections.size === 0 && !this.held) return;
    const event = userEventOf(this.state, change, this.nextE());
    if (!event) return;
    if (this.held) {
      const held = this.held;
      this.held = null;
      this.broadcast(event, 0);
      this.broadcast(held, 0);
      return;
    }
    const fault = this.faults.takeStreamEvent();
    if (fault?.stream === 'silent') return;
    if (fault?.stream === 'reorder') {
      this.held = event;
      return;
    }
    this.broadcast(event, fault?.stream === 'delay' ? (fault.delayMs ?? 0) : 0);
  }

  private broadcast(event: UserEvent, delayMs: number, only?: string): void {
    const text = JSON.stringify(event);
    const targets = [...this.connections].filter((c) => only === undefined || c.listenKey === only);
    const send = (): void => {
      for (const c of targets) if (c.ws.readyState === c.ws.OPEN) c.ws.send(text);
    };
    if (delayMs <= 0) return send();
    const t = setTimeout(() => {
      this.timers.delete(t);
      send();
    }, delayMs);
    this.timers.add(t);
  }

  /** One-shot stream faults act when set; a cleared `reorder` lets its held event go. */
  private onFaults(): void {
    if (this.faults.takeOneShot('drop').length > 0) {
      for (const c of this.connections) c.ws.terminate();
    }
    if (this.faults.takeOneShot('expire').length > 0) {
      this.state.listenKeys.expireNow();
      this.sweep();
    }
    if (this.held && !this.faults.list().some((f) => f.stream === 'reorder')) {
      const held = this.held;
      this.held = null;
      this.broadcast(held, 0);
    }
  }

  /** Lapsed keys: listenKeyExpired, then close. Connections 24 h old (paper clock): close. */
  private sweep(): void {
    const now = this.clock.now();
    for (const key of this.state.listenKeys.takeLapsed(now)) {
      if (!this.faults.streamSilent()) this.broadcast(listenKeyExpiredEvent(key, this.nextE()), 0, key);
      for (const c of this.connections) if (c.listenKey === key) c.ws.close(1000, 'listenKey expired');
    }
    for (const c of this.connections) {
      if (now - c.connectedAt >= CONNECTION_LIFETIME_MS) c.ws.close(1000, 'connection open 24 h');
    }
  }

  /**
   * Pings every connection; cuts those silent past the pong timeout. A `silent` fault stops pings
   * (and the answers to the client's pings, above).
   */
  private ping(): void {
    if (this.faults.streamSilent()) return;
    for (const c of this.connections) {
      if (Date.now() - c.lastPong > this.pongTimeoutMs) c.ws.terminate();
      else if (c.ws.readyState === c.ws.OPEN) c.ws.ping();
    }
  }
}
