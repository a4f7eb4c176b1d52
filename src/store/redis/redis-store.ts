/**
 * The Redis adapter of the Store port (ioredis 6). One shared command connection, one
 * PSUBSCRIBE connection per store (created on first use), and one connection per blocking
 * consumer, so a blocked XREADGROUP never stalls other commands. With `cluster` the command
 * client is an ioredis Cluster (keys in cluster key mode, see keys.ts) and keyspace
 * notifications come from a subscriber per master (cluster-key-events.ts).
 */
import { Redis } from 'ioredis';
import { keySpace, type KeySpace } from '../keys.js';
import type {
  ConsumeOutcome,
  ConsumerInfo,
  DecideOnceRequest,
  GrantCloseCode,
  GrantCloseQtyRequest,
  GrantPermitOutcome,
  GrantPermitRequest,
  LedgerBatchRequest,
  LedgerSeedRequest,
  LedgerWriteCode,
  GroupInfo,
  PublishPlanOutcome,
  PublishPlanRequest,
  KeyChange,
  ScanResult,
  SetOptions,
  Store,
  StreamEntry,
  Unsubscribe,
} from '../port.js';
import { AuthorityScripts } from './authority-scripts.js';
import {
  blockingClient,
  commandOptions,
  createCommandClient,
  NotificationSetup,
  type CommandClient,
  type SentinelTarget,
  silentLogger,
  type StoreLogger,
} from './connection.js';
import { mgetByTag, scanNodes } from './cluster-reads.js';
import { ClusterKeyEvents } from './cluster-key-events.js';
import { KeyEventHub } from './key-events.js';
import { CoreScripts } from './core-scripts.js';
import { RedisLeaseScripts } from './lease-scripts.js';
import { connectTarget, describeRedisError, RedisConnectError } from './connect-error.js';
import { RedisStreams } from './streams.js';

export { reconnectDelay, silentLogger, type StoreLogger } from './connection.js';

export interface RedisStoreOptions {
  /** redis://[user:pass@]host:port[/db]; wins over host/port. */
  url?: string;
  host?: string;
  port?: number;
  prefix?: string;
  cluster?: boolean;
  /** A master under Redis Sentinel (connection.ts). */
  sentinel?: SentinelTarget | null;
  /** Per-command client timeout (ms); a timed-out command may still have run on the server. */
  commandTimeout?: number;
  /** Interval the callers poll at when notifications are off (only quoted in the warning). */
  pollStepMs?: number;
  /**
   * Cluster only: false turns keyspace notifications off, so every wait polls (the path before
   * per-master subscribers; kept as the bench's baseline). Default true.
   */
  clusterEvents?: boolean;
  /**
   * false: the caller waits on no key (the history recorder), so keyspace notifications are
   * neither checked nor subscribed to, and their absence is not warned about. Default true.
   */
  keyEvents?: boolean;
  logger?: StoreLogger;
}

export class RedisStore implements Store {
  readonly keys: KeySpace;
  readonly kind = 'redis' as const;
  readonly db: number;
  private readonly cmd: CommandClient;
  private sub: Redis | null = null;
  private hub: KeyEventHub | null = null;
  /** Cluster mode: a subscriber per master; null without a cluster or with clusterEvents false. */
  private readonly clusterEvents: ClusterKeyEvents | null = null;
  /** Closes of the subscriber connection so far (notificationEpoch). */
  private subEpoch = 0;
  private readonly blocking = new Map<string, CommandClient>();
  private readonly core: CoreScripts;
  readonly leases: RedisLeaseScripts;
  private readonly authority: AuthorityScripts;
  private readonly streams: RedisStreams;
  private readonly logger: StoreLogger;
  private readonly notify: NotificationSetup;
  private notifyCheck: Promise<void> = Promise.resolve();
  private errorLogged = false;
  /** The client's last 'error': the cause behind a failed connect's "Connection is closed.". */
  private lastError: unknown = null;
  private closed = false;

  constructor(private readonly opts: RedisStoreOptions = {}) {
    this.keys = keySpace({ prefix: opts.prefix ?? '', cluster: opts.cluster ?? false });
    this.logger = opts.logger ?? silentLogger;
    const base = commandOptions(opts.commandTimeout ?? 2000);
    this.cmd = createCommandClient(opts, base);
    this.db = this.cmd instanceof Redis ? (this.cmd.options.db ?? 0) : 0;
    this.core = new CoreScripts(this.cmd);
    this.leases = new RedisLeaseScripts(this.cmd);
    this.authority = new AuthorityScripts(this.cmd);
    this.streams = new RedisStreams(this.cmd, (id) => this.blockingConnection(id));
    this.notify = new NotificationSetup(this.logger, opts.pollStepMs ?? 100, this.keys.notifyProbe());
    const keyEvents = opts.keyEvents !== false;
    if (!(this.cmd instanceof Redis) && keyEvents && opts.clusterEvents !== false) {
      this.clusterEvents = new ClusterKeyEvents(this.cmd, this.logger, opts.pollStepMs ?? 100);
    }
    // Once per outage, not once per reconnect attempt.
    this.cmd.on('error', (err: Error) => {
      this.lastError = err;
      if (this.errorLogged) return;
      this.errorLogged = true;
      const cause = describeRedisError(err, connectTarget(opts));
      this.logger.warn({ err: err.message, cause }, 'redis connection error; reconnecting');
    });
    // A restarted server forgets CONFIG SET: check the flags again on every (re)connect.
    this.cmd.on('ready', () => {
      this.errorLogged = false;
      if (this.cmd instanceof Redis && keyEvents) this.notifyCheck = this.notify.ensure(this.cmd);
    });
  }

  /**
   * Connects (rejects with a RedisConnectError naming the cause when the server cannot be reached
   * at start; afterwards the client reconnects forever) and sets up keyspace notifications,
   * resolving even when CONFIG is refused.
   */
  async init(): Promise<void> {
    try {
      await this.cmd.connect();
    } catch (err) {
      throw new RedisConnectError(describeRedisError(this.lastError ?? err, connectTarget(this.opts)), err);
    }
    await this.notifyCheck;
    if (this.clusterEvents) await this.clusterEvents.start();
    else if (!(this.cmd instanceof Redis) && this.opts.keyEvents !== false) {
      this.logger.info(
        { pollStepMs: this.opts.pollStepMs ?? 100 },
        'redis cluster: keyspace notifications off; waits poll every APPLY_PERMIT_STEP_MS',
      );
    }
  }

  notificationsActive(): boolean {
    if (this.cmd instanceof Redis) return this.notify.active;
    return this.clusterEvents?.active() ?? false;
  }

  get(key: string): Promise<string | null> {
    return this.cmd.get(key);
  }

  async mget(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.cmd instanceof Redis ? this.cmd.mget(keys) : mgetByTag(this.cmd, keys);
  }

  async set(key: string, value: string, opts: SetOptions = {}): Promise<boolean> {
    const args: (string | number)[] = [];
    if (opts.ttlSec !== undefined) args.push('EX', opts.ttlSec);
    if (opts.nx) args.push('NX');
    const reply = await this.cmd.call('SET', key, value, ...args);
    return reply === 'OK';
  }

  async del(keys: string[]): Promise<number> {
    return keys.length === 0 ? 0 : this.cmd.del(...keys);
  }

  pttl(key: string): Promise<number> {
    return this.cmd.pttl(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.cmd.exists(key)) === 1;
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.cmd.hgetall(key);
  }

  async hgetallInOrder(keys: readonly string[]): Promise<Record<string, string>[]> {
    // One connection: commands issued in one turn leave in that order and run in that order.
    if (this.cmd instanceof Redis) return Promise.all(keys.map((k) => this.cmd.hgetall(k)));
    const out: Record<string, string>[] = [];
    for (const k of keys) out.push(await this.cmd.hgetall(k));
    return out;
  }

  async hset(key: string, fields: Record<string, string>, ttlSec?: number): Promise<void> {
    const hasFields = Object.keys(fields).length > 0;
    if (!hasFields && ttlSec === undefined) return;
    if (this.cmd instanceof Redis) {
      // Two plain commands: they leave with whatever else this event-loop turn sends (one write,
      // see coalesceWrites), where an explicit pipeline is a write of its own.
      await Promise.all([
        hasFields ? this.cmd.hset(key, fields) : null,
        ttlSec !== undefined ? this.cmd.expire(key, ttlSec) : null,
      ]);
      return;
    }
    const p = this.cmd.pipeline();
    if (hasFields) p.hset(key, fields);
    if (ttlSec !== undefined) p.expire(key, ttlSec);
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  async hdel(key: string, fields: string[]): Promise<number> {
    return fields.length === 0 ? 0 : this.cmd.hdel(key, ...fields);
  }

  async hupdate(key: string, fields: Record<string, string>, ttlSec: number): Promise<void> {
    const n = Object.keys(fields).length;
    if (n === 0) return;
    const added = await this.cmd.hset(key, fields);
    if (added === n) await this.cmd.expire(key, ttlSec); // the key was created just now
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.cmd.lrange(key, start, stop);
  }

  scanKeys(pattern: string, opts: { count: number; limit: number }): Promise<ScanResult> {
    // A cluster's keys are spread over its masters: scan each.
    return scanNodes(this.cmd instanceof Redis ? [this.cmd] : this.cmd.nodes('master'), pattern, opts);
  }

  xadd(stream: string, fields: Record<string, string>, maxLen?: number): Promise<string> {
    return this.streams.xadd(stream, fields, maxLen);
  }

  xrange(stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]> {
    return this.streams.range('XRANGE', stream, start, end, count);
  }

  xrevrange(stream: string, end: string, start: string, count?: number): Promise<StreamEntry[]> {
    return this.streams.range('XREVRANGE', stream, end, start, count);
  }

  xlen(stream: string): Promise<number> {
    return this.cmd.xlen(stream);
  }

  createGroup(stream: string, group: string, startId = '$'): Promise<void> {
    return this.streams.createGroup(stream, group, startId);
  }

  private blockingConnection(id: string): CommandClient {
    let conn = this.blocking.get(id);
    if (!conn) {
      conn = blockingClient(this.cmd);
      conn.on('error', () => {});
      this.blocking.set(id, conn);
    }
    return conn;
  }

  readGroup(stream: string, group: string, consumer: string, opts: { count: number; blockMs: number }) {
    return this.streams.readGroup(stream, group, consumer, opts.count, opts.blockMs);
  }

  readOwnPending(stream: string, group: string, consumer: string, count: number) {
    return this.streams.readOwnPending(stream, group, consumer, count);
  }

  async ack(stream: string, group: string, ids: string[]): Promise<number> {
    return ids.length === 0 ? 0 : this.cmd.xack(stream, group, ...ids);
  }

  autoClaim(stream: string, group: string, consumer: string, minIdleMs: number, count: number) {
    return this.streams.autoClaim(stream, group, consumer, minIdleMs, count);
  }

  groups(stream: string): Promise<GroupInfo[]> {
    return this.streams.groups(stream);
  }

  consumers(stream: string, group: string): Promise<ConsumerInfo[]> {
    return this.streams.consumers(stream, group);
  }

  consumePermits(
    permitKeys: string[],
    receiptKey: string,
    token: string,
    receiptTtlSec: number,
    opts: { readTtl?: boolean } = {},
  ): Promise<ConsumeOutcome> {
    return this.core.consumePermits(permitKeys, receiptKey, token, receiptTtlSec, opts.readTtl !== false);
  }

  publishOnce(
    markerKey: string,
    markerTtlSec: number,
    stream: string,
    fields: Record<string, string>,
    maxLen: number,
  ): Promise<string | null> {
    return this.core.publishOnce(markerKey, markerTtlSec, stream, fields, maxLen);
  }

  async publishPlan(r: PublishPlanRequest): Promise<PublishPlanOutcome> {
    if (this.cmd instanceof Redis) return this.core.publishPlan(r);
    // Cluster key mode: the markers and the dedupe key hash to different slots; one by one.
    if (await this.exists(r.resultMarkerKey)) return { kind: 'handled' };
    let dedupeSet = false;
    if (r.dedupe) {
      dedupeSet = await this.set(r.dedupe.key, r.dedupe.value, { nx: true, ttlSec: r.dedupe.ttlSec });
      if (!dedupeSet) return { kind: 'duplicate' };
    }
    const id = await this.publishOnce(r.markerKey, r.markerTtlSec, r.stream, r.fields, r.maxLen);
    return id === null ? { kind: 'exists', dedupeSet } : { kind: 'published', id, dedupeSet };
  }

  grantPermit(req: GrantPermitRequest): Promise<GrantPermitOutcome> {
    return this.authority.grantPermit(req);
  }

  decideOnce(req: DecideOnceRequest): Promise<boolean> {
    return this.authority.decideOnce(req);
  }

  grantCloseQty(req: GrantCloseQtyRequest): Promise<GrantCloseCode> {
    return this.authority.grantCloseQty(req);
  }

  applyLedgerResults(req: LedgerBatchRequest): Promise<LedgerWriteCode[]> {
    return this.authority.applyLedgerResults(req);
  }

  seedLedgers(req: LedgerSeedRequest): Promise<boolean[]> {
    return this.authority.seedLedgers(req);
  }

  async onKeyChange(
    pattern: string,
    onChange: (change: KeyChange) => void,
    opts: { keys?: readonly string[] } = {},
  ): Promise<Unsubscribe> {
    // Cluster: a subscriber per master; without them notificationsActive() is false and callers poll.
    if (!(this.cmd instanceof Redis)) {
      return this.clusterEvents ? this.clusterEvents.add(pattern, onChange, opts.keys) : async () => {};
    }
    if (!this.hub) {
      this.sub = this.cmd.duplicate({
        commandTimeout: undefined,
        lazyConnect: false,
        enableAutoPipelining: false,
      });
      this.sub.on('error', () => {});
      // Every close may lose events (pub/sub is not replayed): a new epoch.
      this.sub.on('close', () => void this.subEpoch++);
      this.hub = new KeyEventHub(this.sub, this.db, this.logger);
    }
    return this.hub.add(pattern, onChange, opts.keys);
  }

  notificationEpoch(): number {
    return this.clusterEvents?.epoch() ?? this.subEpoch;
  }

  async waitForReplicas(key: string, replicas: number, timeoutMs: number): Promise<number> {
    if (this.cmd instanceof Redis) return Number(await this.cmd.call('WAIT', replicas, timeoutMs));
    // Cluster: WAIT counts the writes of one connection, so it goes to the key's master.
    const slot = Number(await this.cmd.call('CLUSTER', 'KEYSLOT', key));
    const owner = this.cmd.slots[slot]?.[0];
    const node = this.cmd.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
    if (!node) return 0;
    return Number(await node.call('WAIT', replicas, timeoutMs));
  }

  async serverTimeMs(): Promise<number> {
    const [s, us] = await this.cmd.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /** Raw client for tests and tools (SCRIPT FLUSH, INFO); services use the Store methods. */
  get client(): CommandClient {
    return this.cmd;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clusterEvents?.close();
    const conns = [this.cmd, ...(this.sub ? [this.sub] : []), ...this.blocking.values()];
    this.blocking.clear();
    await Promise.all(
      conns.map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}
