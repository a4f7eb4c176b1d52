/**
 * Connection policy of the Redis adapter: client options, the logger shape, and keeping
 * keyspace notifications enabled on the server.
 */
import type { Socket } from 'node:net';
import {
  Cluster,
  Redis,
  SentinelConnector,
  type ClusterOptions,
  type RedisOptions,
  type SentinelConnectionOptions,
} from 'ioredis';
import { backoffMs } from '../../ops/backoff.js';
import { mergedFlags } from './notify-flags.js';
import { probeNotifications } from './notify-probe.js';

/** Anything with pino-like warn/info/error (a pino Logger fits). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: StoreLogger = { warn: () => {}, info: () => {}, error: () => {} };

/** Backoff forever: 50 ms doubling to 2 s, with jitter so replicas do not reconnect in step. */
export function reconnectDelay(times: number): number {
  return backoffMs(times, { minMs: 50, maxMs: 2000, jitterMs: 100 });
}

export function commandOptions(commandTimeout: number): RedisOptions {
  return {
    commandTimeout,
    // Commands queued while disconnected fail after one reconnect attempt instead of hanging.
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    // An in-flight command is not resent after a reconnect (it may have run): it fails by
    // commandTimeout and the caller resolves what happened (see permit-chain.ts).
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
    connectionName: 'quantum-apply',
  };
}

/** For XREADGROUP BLOCK: no command timeout, but a blocked read orphaned by a dropped
 * connection still settles (empty) after BLOCK + grace instead of hanging its consumer. */
export const BLOCKING_OVERRIDES: Partial<RedisOptions> = {
  commandTimeout: undefined,
  blockingTimeout: 30_000,
  blockingTimeoutGrace: 1000,
  lazyConnect: false,
  // One command at a time on these connections: nothing to batch (see createCommandClient).
  enableAutoPipelining: false,
};

/** The command client: one server, or a Redis Cluster reached through its seed node. */
export type CommandClient = Redis | Cluster;

export interface ClientTarget {
  /** redis[s]://[user:pass@]host:port[/db]; wins over host/port. */
  url?: string;
  host?: string;
  port?: number;
  /** A Redis Cluster: the URL (or host/port) is a seed node, the rest is discovered. */
  cluster?: boolean;
  /** A master under Redis Sentinel; the URL then gives only credentials, TLS and the db. */
  sentinel?: SentinelTarget | null;
}

/** REDIS_SENTINELS, REDIS_SENTINEL_NAME and the sentinels' own credentials. */
export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  name: string;
  username?: string;
  password?: string;
}

const SENTINEL_ROUNDS = 3;

/** The parts of ioredis' SentinelConnector its typings keep private, which the subclass wraps. */
interface ConnectorInternals {
  connectToSentinel(endpoint: unknown, options?: unknown): Redis;
  initFailoverDetector(): Promise<void>;
  failoverDetector?: { cleanup(): void } | null;
}

/**
 * ioredis' Sentinel connector with its failover detector (one subscriber per sentinel) repaired
 * in two ways. Its sentinel clients get an error listener: ioredis gives them none, so each failed
 * reconnect to a sentinel that was down printed "[ioredis] Unhandled error event" to stderr
 * (a sentinel's outage shows in the sentinels' own monitoring, and the master is asked of the
 * others). And a detector that would be set up once the connection was closed (a connect that
 * completed after disconnect()) is not: it would reconnect to the sentinels for ever.
 */
class GuardedSentinelConnector extends SentinelConnector {
  private closed = false;

  // ioredis constructs a Connector with the client's own options (typed unknown there).
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
    const self = this as unknown as ConnectorInternals;
    const connectTo = self.connectToSentinel.bind(this);
    self.connectToSentinel = (endpoint, opts) => {
      const client = connectTo(endpoint, opts);
      client.on('error', () => {});
      return client;
    };
    const init = self.initFailoverDetector.bind(this);
    self.initFailoverDetector = async () => {
      if (this.closed) return;
      await init();
      if (this.closed) self.failoverDetector?.cleanup();
    };
  }

  override connect(
    ...args: Parameters<SentinelConnector['connect']>
  ): ReturnType<SentinelConnector['connect']> {
    this.closed = false;
    return super.connect(...args);
  }

  override disconnect(): void {
    this.closed = true;
    super.disconnect();
  }
}

/**
 * A client that asks the sentinels for the master of `name` on every (re)connect. The failover
 * detector drops the connection when a sentinel announces +switch-master, and a write refused
 * by a demoted master (READONLY) reconnects too, so every connection, subscriber and blocking
 * reads included (they are duplicates of this one), lands on the new master.
 */
function sentinelOptions(target: ClientTarget, s: SentinelTarget): RedisOptions {
  const u = target.url ? new URL(target.url) : null;
  const db = u && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  const tls = u?.protocol === 'rediss:';
  return {
    sentinels: s.sentinels,
    name: s.name,
    role: 'master',
    db,
    ...(u?.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u?.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    ...(s.username ? { sentinelUsername: s.username } : {}),
    ...(s.password ? { sentinelPassword: s.password } : {}),
    // A few rounds over the sentinels, then this connect fails (so a start-up with no sentinel
    // reachable is refused, naming them); the client's retryStrategy then starts the next one.
    sentinelRetryStrategy: (times: number) => (times <= SENTINEL_ROUNDS ? reconnectDelay(times) : null),
    sentinelReconnectStrategy: reconnectDelay,
    failoverDetector: true,
    Connector: GuardedSentinelConnector,
    reconnectOnError: (err: Error) => (/^READONLY/.test(err.message) ? 1 : false),
  };
}

/** Node options of a cluster client from the seed URL (credentials, TLS; a cluster has db 0 only). */
function clusterNodeOptions(
  target: ClientTarget,
  base: RedisOptions,
): NonNullable<ClusterOptions['redisOptions']> {
  const { retryStrategy: _retry, lazyConnect: _lazy, ...node } = base;
  if (!target.url) return node;
  const u = new URL(target.url);
  if (u.pathname.length > 1 && u.pathname !== '/0') {
    throw new Error('REDIS_URL: a Redis Cluster has database 0 only; drop the /<db> part');
  }
  return {
    ...node,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
  };
}

function seedNode(target: ClientTarget): { host: string; port: number } {
  if (!target.url) return { host: target.host ?? '127.0.0.1', port: target.port ?? 6379 };
  const u = new URL(target.url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
}

/**
 * The command client for a target. Cluster: slots refreshed from the seed, commands retried on
 * MOVED/ASK by ioredis, the same per-command timeout and no resend of in-flight commands.
 *
 * A single server's command connection coalesces its socket writes (see coalesceWrites): one
 * write syscall per command on loopback TCP was the largest self time in the apply profile.
 */
export function createCommandClient(target: ClientTarget, base: RedisOptions): CommandClient {
  if (target.sentinel) {
    const client = new Redis({ ...base, ...sentinelOptions(target, target.sentinel) });
    coalesceWrites(client);
    return client;
  }
  if (!target.cluster) {
    const client = target.url
      ? new Redis(target.url, base)
      : new Redis({ ...base, host: target.host ?? '127.0.0.1', port: target.port ?? 6379 });
    coalesceWrites(client);
    return client;
  }
  return new Cluster([seedNode(target)], clusterOptions(clusterNodeOptions(target, base)));
}

/**
 * Commands written in one event-loop turn leave in one socket write: the first write of a turn
 * corks the socket and the turn's end (setImmediate) uncorks it, so the kernel sees one writev.
 * Each command is still sent, queued and answered on its own, in order (unlike ioredis'
 * enableAutoPipelining, which wraps every command in a pipeline object, keeps one pipeline in
 * flight at a time, and cost more CPU per plan in the governor and P3.3, whose commands seldom
 * share a turn: BENCHMARKS.md).
 *
 * Only the command connection. Never a subscriber: ioredis' auto-pipelining, tried there, sent
 * a PUNSUBSCRIBE after the next waiter's PSUBSCRIBE of the same pattern (its exemption list
 * spells it "unpsubscribe"), which dropped that waiter's subscription
 * (test/store/redis-store.test.ts).
 */
export function coalesceWrites(client: Redis): void {
  client.on('connect', () => {
    const stream = (client as unknown as { stream: Socket }).stream;
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    let corked = false;
    const uncork = () => {
      corked = false;
      stream.uncork();
    };
    stream.write = ((...args: unknown[]) => {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(uncork);
      }
      return write(...args);
    }) as Socket['write'];
  });
}

function clusterOptions(redisOptions: NonNullable<ClusterOptions['redisOptions']>): ClusterOptions {
  return {
    redisOptions,
    lazyConnect: true,
    clusterRetryStrategy: reconnectDelay,
    scaleReads: 'master',
    maxRedirections: 8,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
  };
}

/** A connection for blocking reads, of the same kind as `client` (see BLOCKING_OVERRIDES). */
export function blockingClient(client: CommandClient): CommandClient {
  if (client instanceof Redis) return client.duplicate(BLOCKING_OVERRIDES);
  const { lazyConnect: _lazy, ...overrides } = BLOCKING_OVERRIDES;
  const base = clusterOptions({ ...client.options.redisOptions, ...overrides });
  return client.duplicate(undefined, { ...base, lazyConnect: false });
}

function isRefusal(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /unknown command|NOPERM|no permission|not allowed|disabled/i.test(msg);
}

/** Keeps notify-keyspace-events a superset of ours; re-run on every (re)connect. */
export class NotificationSetup {
  active = false;
  private refusalWarned = false;

  constructor(
    private readonly logger: StoreLogger,
    private readonly pollStepMs: number,
    /** Key touched to detect notifications when CONFIG is refused (a least-privilege user). */
    private readonly probeKey?: string,
  ) {}

  async ensure(client: Redis): Promise<void> {
    try {
      const reply = (await client.config('GET', 'notify-keyspace-events')) as string[];
      const from = reply[1] ?? '';
      const merged = mergedFlags(from);
      if (merged !== null) {
        await client.config('SET', 'notify-keyspace-events', merged);
        // A server setting other clients share: say what it was, so it can be put back.
        this.logger.warn(
          { setting: 'notify-keyspace-events', from, to: merged },
          `changed the server's notify-keyspace-events from "${from}" to "${merged}" (keyspace notifications for permit and proposal waits)`,
        );
      }
      this.active = true;
    } catch (err) {
      this.active = false;
      const message = err instanceof Error ? err.message : String(err);
      if (!isRefusal(err)) {
        this.logger.warn({ err: message }, 'could not check notify-keyspace-events');
        return;
      }
      if (this.probeKey && (await probeNotifications(client, this.probeKey, 500))) {
        this.active = true;
        if (!this.refusalWarned) this.logger.info({}, 'keyspace notifications seen (CONFIG refused; probed)');
        this.refusalWarned = true;
        return;
      }
      if (this.refusalWarned) return;
      this.refusalWarned = true;
      this.logger.warn(
        { err: message, pollStepMs: this.pollStepMs },
        'keyspace notifications are OFF: CONFIG is refused by the server, so permit waits poll ' +
          'every APPLY_PERMIT_STEP_MS; enable notify-keyspace-events "K$hgx" on the server to react at once',
      );
    }
  }
}
