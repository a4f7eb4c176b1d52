/**
 * One account's user data stream: one WebSocket to `<ws base>/ws/<listenKey>`, reconnected with
 * backoff, and the account view it feeds (account-view.ts).
 *
 * The stream is trusted (`asOf()` not null) only while all of these hold, else callers read REST:
 * - connected, and one REST reconciliation (positions, open orders) finished on this connection
 *   (events can be lost across a reconnect);
 * - heard from within `silenceMs`: a message, the server's ping, or the pong to our own ping,
 *   which we send every `pingMs`. A pong answers for the events sent before it on this
 *   connection, so the view is as of the moment that ping was sent: `pingMs` is how old a
 *   trusted view gets between events.
 * Silence past the bound, listenKeyExpired, the connection closing (a DELETE of the key by
 * another process of the account closes it), or a PUT answering -1125 or naming another key drop
 * the connection: REST serves at once, and the stream starts over with a fresh POST and a fresh
 * reconciliation; so does the 24 h limit, ahead of the exchange, at `maxConnectionMs`.
 *
 * One per account in a process (shared-stream.ts): adapters of the same account share it.
 */
import WebSocket from 'ws';
import type { Clock } from '../../ops/clock.js';
import { backoffMs, type Backoff } from '../../ops/backoff.js';
import type { OrderFill, Position } from '../port.js';
import { AccountView, type Applied } from './account-view.js';
import type { ListenKeys } from './listen-key.js';
import { eventType, parseUserEvent, type UserEvent } from './user-events.js';

export type StreamState = 'stopped' | 'connecting' | 'reconciling' | 'live';

/** Why the stream stopped being trusted (a metric label). */
export type Handover =
  | 'disconnected'
  | 'silent'
  | 'listen_key_expired'
  | 'listen_key_gone'
  | 'planned_reconnect'
  | 'reconcile_failed';

export interface UserStreamMetrics {
  /** Each message: its type (`e`, or `none`) and what became of it. */
  event(type: string, outcome: Applied | 'unknown_event' | 'bad_event' | 'not_json'): void;
  handover(cause: Handover): void;
  connect(outcome: 'open' | 'failed'): void;
  live(on: boolean): void;
}

/** What one reconciliation read: exchange time at its start, every position, the open orders. */
export interface Reconciliation {
  at: number;
  positions: Position[];
  openOrders: OrderFill[];
  /** Symbols in hedge mode: never answered from the view. */
  hedged: string[];
}

export interface UserStreamOptions {
  /** e.g. wss://fstream.binance.com/private (PROTOCOL.md, "User data stream"). */
  wsBaseUrl: string;
  listenKeys: Pick<ListenKeys, 'create' | 'keepalive' | 'close'>;
  reconcile(): Promise<Reconciliation>;
  clock: Clock;
  /** Default 10 s. */
  silenceMs?: number;
  /** Our ping's period, default 1 s (Binance allows 10 messages a second from a client, pings included). */
  pingMs?: number;
  /** Default 30 min (the key lapses 60 min after the last POST/PUT). */
  keepaliveMs?: number;
  /** Default 23 h 50 min (Binance cuts a connection at 24 h). */
  maxConnectionMs?: number;
  backoff?: Backoff;
  metrics?: UserStreamMetrics;
  /**
   * DELETE the listenKey on stop (default false). Binance gives every client of an account the
   * same key, so a DELETE ends the stream of every other process on the account too (they
   * recover: REST, then a new key); a key nobody keeps alive lapses 60 min after its last
   * POST/PUT at no cost. Our services leave it to lapse; tests and tools that own the account
   * may close it.
   */
  closeKeyOnStop?: boolean;
  logger?: {
    warn(fields: Record<string, unknown>, msg: string): void;
    info?(fields: Record<string, unknown>, msg: string): void;
  };
}

type Listener = (ev: UserEvent, applied: Applied[]) => void;

export class UserStream {
  readonly view = new AccountView();
  private stateNow: StreamState = 'stopped';
  private ws: WebSocket | null = null;
  /** The listenKey of the current connection (null before the first POST answers). */
  private key: string | null = null;
  private attempt = 0;
  private lastAlive = -Infinity;
  private pingSentAt: number | null = null;
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly silenceMs: number;
  /** Connections opened, reconciliations done (tests, benches). */
  readonly stats = { connects: 0, reconciliations: 0 };

  constructor(private readonly o: UserStreamOptions) {
    this.silenceMs = o.silenceMs ?? 10_000;
  }

  get state(): StreamState {
    return this.stateNow;
  }

  /**
   * The local-clock time the view is known to hold at, when the stream is trusted now; else null
   * (read REST).
   */
  asOf(): number | null {
    if (this.stateNow !== 'live') return null;
    return this.o.clock.now() - this.lastAlive <= this.silenceMs ? this.lastAlive : null;
  }

  /** Called for every parsed event after the view applied it; returns the unsubscribe. */
  onEvent(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.stateNow !== 'stopped') return;
    this.stateNow = 'connecting';
    this.keepaliveTimer = setInterval(() => void this.keepalive(), this.o.keepaliveMs ?? 30 * 60_000);
    this.keepaliveTimer.unref();
    void this.connect();
  }

  /** Closes the connection; DELETEs the listenKey only with `closeKeyOnStop`. */
  async stop(): Promise<void> {
    if (this.stateNow === 'stopped') return;
    this.setState('stopped');
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.keepaliveTimer = this.reconnectTimer = null;
    this.drop();
    if (!this.o.closeKeyOnStop) return;
    const failed = await this.o.listenKeys.close();
    if (failed) this.o.logger?.warn({ reason: failed }, 'user stream: listenKey DELETE failed');
  }

  private isStopped(): boolean {
    return this.stateNow === 'stopped';
  }

  private setState(s: StreamState): void {
    const was = this.stateNow === 'live';
    this.stateNow = s;
    if (was !== (s === 'live')) this.o.metrics?.live(s === 'live');
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = null;
    if (this.stateNow === 'stopped') return;
    let key: string;
    try {
      key = await this.o.listenKeys.create();
    } catch (err) {
      this.o.metrics?.connect('failed');
      this.o.logger?.warn({ err: String(err) }, 'user stream: listenKey POST failed; REST serves');
      return this.retry();
    }
    // stop() may have run while the POST was out.
    if (this.isStopped()) return;
    this.key = key;
    const ws = new WebSocket(`${this.o.wsBaseUrl.replace(/\/+$/, '')}/ws/${key}`, {
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('open', () => void this.opened(ws));
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      this.lastAlive = this.o.clock.now();
      this.message(isBinary ? null : data.toString());
    });
    ws.on('ping', () => {
      if (ws === this.ws) this.lastAlive = this.o.clock.now();
    });
    ws.on('pong', () => {
      if (ws !== this.ws || this.pingSentAt === null) return;
      this.lastAlive = Math.max(this.lastAlive, this.pingSentAt);
      this.pingSentAt = null;
    });
    ws.on('error', (err) => {
      if (ws === this.ws) this.o.logger?.warn({ err: err.message }, 'user stream: connection error');
    });
    ws.on('close', () => {
      if (ws !== this.ws) return;
      this.handover('disconnected');
    });
  }

  private async opened(ws: WebSocket): Promise<void> {
    if (ws !== this.ws) return;
    this.stats.connects++;
    this.o.metrics?.connect('open');
    this.setState('reconciling');
    this.lastAlive = this.o.clock.now();
    const tick = Math.max(1, Math.min(this.o.pingMs ?? 1000, Math.floor(this.silenceMs / 2)));
    const watchdog = setInterval(() => this.watch(ws), tick);
    const planned = setTimeout(
      () => {
        if (ws === this.ws) this.handover('planned_reconnect', 0);
      },
      this.o.maxConnectionMs ?? (24 * 60 - 10) * 60_000,
    );
    this.timers.push(watchdog, planned);
    const startedAt = this.o.clock.now();
    let rec: Reconciliation;
    try {
      rec = await this.o.reconcile();
    } catch (err) {
      if (ws !== this.ws) return;
      this.o.logger?.warn({ err: String(err) }, 'user stream: REST reconciliation failed; reconnecting');
      return this.handover('reconcile_failed');
    }
    if (ws !== this.ws || this.stateNow !== 'reconciling') return;
    this.view.reconcile(rec.at, rec.positions, rec.openOrders, rec.hedged);
    this.stats.reconciliations++;
    this.lastAlive = Math.max(this.lastAlive, startedAt);
    this.attempt = 0;
    this.setState('live');
    this.o.logger?.info?.({ connects: this.stats.connects }, 'user stream live: positions and fills pushed');
  }

  private watch(ws: WebSocket): void {
    if (ws !== this.ws) return;
    const now = this.o.clock.now();
    if (now - this.lastAlive > this.silenceMs) return this.handover('silent');
    if (this.pingSentAt === null && ws.readyState === WebSocket.OPEN) {
      this.pingSentAt = now;
      ws.ping();
    }
  }

  private message(text: string | null): void {
    const parsed = parseUserEvent(text ?? '');
    if (!parsed.ok) {
      this.o.metrics?.event(parsed.type ?? 'none', parsed.reason);
      return;
    }
    const ev = parsed.event;
    const type = eventType(ev);
    if (ev.kind === 'listenKeyExpired') {
      this.o.metrics?.event(type, 'ignored');
      return this.handover('listen_key_expired', 0);
    }
    const applied = this.view.apply(ev);
    this.view.trim(10_000);
    for (const a of applied) this.o.metrics?.event(type, a);
    for (const fn of this.listeners) {
      try {
        fn(ev, applied);
      } catch (err) {
        this.o.logger?.warn({ err: String(err) }, 'user stream: a listener failed');
      }
    }
  }

  private async keepalive(): Promise<void> {
    if (this.stateNow === 'stopped') return;
    try {
      const key = this.key ?? undefined;
      if ((await this.o.listenKeys.keepalive(key)) === 'gone' && key === (this.key ?? undefined))
        this.handover('listen_key_gone', 0);
    } catch (err) {
      // The key lasts 60 min: the next keepalive (30 min) or listenKeyExpired covers a miss.
      this.o.logger?.warn({ err: String(err) }, 'user stream: listenKey keepalive failed');
    }
  }

  /** Stops trusting the stream and reconnects (after `delayMs`, else the backoff's next wait). */
  private handover(cause: Handover, delayMs?: number): void {
    if (this.stateNow === 'stopped') return;
    this.o.metrics?.handover(cause);
    this.o.logger?.warn({ cause }, 'user stream not trusted: REST serves until it is live again');
    this.drop();
    this.setState('connecting');
    this.retry(delayMs);
  }

  private drop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.pingSentAt = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.terminate();
  }

  private retry(delayMs?: number): void {
    if (this.stateNow === 'stopped' || this.reconnectTimer) return;
    const wait =
      delayMs ?? backoffMs(this.attempt++, this.o.backoff ?? { minMs: 500, maxMs: 30_000, jitterMs: 250 });
    this.reconnectTimer = setTimeout(() => void this.connect(), wait);
  }
}
