/**
 * The Redis adapter of the Store port (ioredis 6). One shared command connection, one
 * PSUBSCRIBE connection per store (created on first use), and one connection per blocking
 * consumer, so a blocked XREADGROUP never stalls other commands.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { keySpace, type KeySpace } from '../keys.js';
import type {
  ConsumeOutcome,
  DecideOnceRequest,
  GrantPermitOutcome,
  GrantPermitRequest,
  LedgerWriteCode,
  LedgerWriteRequest,
  GroupInfo,
  KeyChange,
  ScanResult,
  SetOptions,
  Store,
  StreamEntry,
  Unsubscribe,
} from '../port.js';
import { AuthorityScripts } from './authority-scripts.js';
import { KeyEventHub } from './key-events.js';
import { mergedFlags } from './notify-flags.js';
import { loadScripts, parseConsumeReply, parsePublishReply } from './scripts.js';

/** Anything with pino-like warn/info/error (a pino Logger fits). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: StoreLogger = { warn: () => {}, info: () => {}, error: () => {} };

export interface RedisStoreOptions {
  /** redis://[user:pass@]host:port[/db]; wins over host/port. */
  url?: string;
  host?: string;
  port?: number;
  prefix?: string;
  cluster?: boolean;
  /** Per-command client timeout (ms); a timed-out command may still have run on the server. */
  commandTimeout?: number;
  /** Interval the callers poll at when notifications are off (only quoted in the warning). */
  pollStepMs?: number;
  logger?: StoreLogger;
}

type RawEntry = [string, string[]];

function toFields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

function toEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  return (raw as (RawEntry | null)[])
    .filter((e): e is RawEntry => Array.isArray(e) && Array.isArray(e[1]))
    .map(([id, flat]) => ({ id, fields: toFields(flat) }));
}

function fieldArgs(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}

/**
 * The typed xreadgroup (not `call`) so ioredis reshapes RESP3 map replies to the RESP2 shape
 * [[stream, entries]]; its overloads are too narrow for a spread argument list.
 */
function xreadgroup(conn: Redis): (...args: string[]) => Promise<unknown> {
  return (conn.xreadgroup as unknown as (...args: string[]) => Promise<unknown>).bind(conn);
}

/** Backoff forever: 50 ms doubling to 2 s, with jitter so replicas do not reconnect in step. */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100);
}

function isRefusal(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /unknown command|NOPERM|no permission|not allowed|disabled/i.test(msg);
}

export class RedisStore implements Store {
  readonly keys: KeySpace;
  readonly kind = 'redis' as const;
  readonly db: number;
  private readonly cmd: Redis;
  private sub: Redis | null = null;
  private hub: KeyEventHub | null = null;
  private readonly blocking = new Map<string, Redis>();
  private readonly scripts = loadScripts();
  private readonly authority: AuthorityScripts;
  private readonly logger: StoreLogger;
  private notifications = false;
  private notifyCheck: Promise<void> = Promise.resolve();
  private refusalWarned = false;
  private closed = false;

  constructor(private readonly opts: RedisStoreOptions = {}) {
    this.keys = keySpace({ prefix: opts.prefix ?? '', cluster: opts.cluster ?? false });
    this.logger = opts.logger ?? silentLogger;
    const base: RedisOptions = {
      commandTimeout: opts.commandTimeout ?? 2000,
      maxRetriesPerRequest: 1,
      retryStrategy: reconnectDelay,
      // An in-flight command is not resent after a reconnect (it may have run): it fails by
      // commandTimeout and the caller resolves what happened (see permit-chain.ts).
      autoResendUnfulfilledCommands: false,
      lazyConnect: true,
      connectionName: 'quantum-apply',
    };
    this.cmd = opts.url
      ? new Redis(opts.url, base)
      : new Redis({ ...base, host: opts.host ?? '127.0.0.1', port: opts.port ?? 6379 });
    this.db = this.cmd.options.db ?? 0;
    this.cmd.defineCommand(this.scripts.consumePermits.name, { lua: this.scripts.consumePermits.lua });
    this.cmd.defineCommand(this.scripts.publishOnce.name, {
      lua: this.scripts.publishOnce.lua,
      numberOfKeys: 2,
    });
    this.authority = new AuthorityScripts(this.cmd);
    this.cmd.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'redis connection error'));
    // A restarted server forgets CONFIG SET: check the flags again on every (re)connect.
    this.cmd.on('ready', () => {
      this.notifyCheck = this.ensureNotifications();
    });
  }

  /**
   * Connects (rejects when the server cannot be reached at start; afterwards the client
   * reconnects forever) and sets up keyspace notifications, resolving even when CONFIG is refused.
   */
  async init(): Promise<void> {
    await this.cmd.connect();
    await this.notifyCheck;
  }

  private async ensureNotifications(): Promise<void> {
    try {
      const reply = (await this.cmd.config('GET', 'notify-keyspace-events')) as string[];
      const merged = mergedFlags(reply[1] ?? '');
      if (merged !== null) await this.cmd.config('SET', 'notify-keyspace-events', merged);
      this.notifications = true;
    } catch (err) {
      this.notifications = false;
      if (!isRefusal(err)) {
        this.logger.warn({ err: (err as Error).message }, 'could not check notify-keyspace-events');
        return;
      }
      if (this.refusalWarned) return;
      this.refusalWarned = true;
      this.logger.warn(
        { err: (err as Error).message, pollStepMs: this.opts.pollStepMs ?? 100 },
        'keyspace notifications are OFF: CONFIG is refused by the server, so permit waits poll ' +
          'every APPLY_PERMIT_STEP_MS; enable notify-keyspace-events "K$hgx" on the server to react at once',
      );
    }
  }

  notificationsActive(): boolean {
    return this.notifications;
  }

  get(key: string): Promise<string | null> {
    return this.cmd.get(key);
  }

  async mget(keys: string[]): Promise<(string | null)[]> {
    return keys.length === 0 ? [] : this.cmd.mget(keys);
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

  async hset(key: string, fields: Record<string, string>, ttlSec?: number): Promise<void> {
    if (Object.keys(fields).length === 0 && ttlSec === undefined) return;
    const p = this.cmd.pipeline();
    if (Object.keys(fields).length > 0) p.hset(key, fields);
    if (ttlSec !== undefined) p.expire(key, ttlSec);
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.cmd.lrange(key, start, stop);
  }

  async scanKeys(pattern: string, opts: { count: number; limit: number }): Promise<ScanResult> {
    const seen = new Set<string>(); // SCAN may return a key more than once
    let cursor = '0';
    do {
      const [next, batch] = await this.cmd.scan(cursor, 'MATCH', pattern, 'COUNT', opts.count);
      cursor = next;
      for (const key of batch) {
        if (seen.size >= opts.limit && !seen.has(key)) return { keys: [...seen], complete: false };
        seen.add(key);
      }
    } while (cursor !== '0');
    return { keys: [...seen], complete: true };
  }

  async xadd(stream: string, fields: Record<string, string>, maxLen?: number): Promise<string> {
    const trim = maxLen !== undefined && maxLen > 0 ? ['MAXLEN', '~', String(maxLen)] : [];
    return (await this.cmd.call('XADD', stream, ...trim, '*', ...fieldArgs(fields))) as string;
  }

  async xrange(stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]> {
    const extra = count !== undefined ? ['COUNT', String(count)] : [];
    return toEntries(await this.cmd.call('XRANGE', stream, start, end, ...extra));
  }

  async xrevrange(stream: string, end: string, start: string, count?: number): Promise<StreamEntry[]> {
    const extra = count !== undefined ? ['COUNT', String(count)] : [];
    return toEntries(await this.cmd.call('XREVRANGE', stream, end, start, ...extra));
  }

  xlen(stream: string): Promise<number> {
    return this.cmd.xlen(stream);
  }

  async createGroup(stream: string, group: string, startId = '$'): Promise<void> {
    try {
      await this.cmd.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  private blockingConnection(stream: string, group: string, consumer: string): Redis {
    const id = `${stream}\u0000${group}\u0000${consumer}`;
    let conn = this.blocking.get(id);
    if (!conn) {
      conn = this.cmd.duplicate({ commandTimeout: undefined, lazyConnect: false });
      conn.on('error', () => {});
      this.blocking.set(id, conn);
    }
    return conn;
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    opts: { count: number; blockMs: number },
  ): Promise<StreamEntry[]> {
    const conn = opts.blockMs > 0 ? this.blockingConnection(stream, group, consumer) : this.cmd;
    const block = opts.blockMs > 0 ? ['BLOCK', String(opts.blockMs)] : [];
    const reply = (await xreadgroup(conn)(
      'GROUP',
      group,
      consumer,
      'COUNT',
      String(opts.count),
      ...block,
      'STREAMS',
      stream,
      '>',
    )) as [string, unknown][] | null;
    return reply ? toEntries(reply[0]?.[1]) : [];
  }

  async readOwnPending(stream: string, group: string, consumer: string, count: number) {
    const reply = (await xreadgroup(this.cmd)(
      'GROUP',
      group,
      consumer,
      'COUNT',
      String(count),
      'STREAMS',
      stream,
      '0',
    )) as [string, unknown][] | null;
    return reply ? toEntries(reply[0]?.[1]) : [];
  }

  async ack(stream: string, group: string, ids: string[]): Promise<number> {
    return ids.length === 0 ? 0 : this.cmd.xack(stream, group, ...ids);
  }

  async autoClaim(stream: string, group: string, consumer: string, minIdleMs: number, count: number) {
    const reply = (await this.cmd.call(
      'XAUTOCLAIM',
      stream,
      group,
      consumer,
      String(minIdleMs),
      '0-0',
      'COUNT',
      String(count),
    )) as [string, unknown, unknown?];
    return toEntries(reply[1]);
  }

  async groups(stream: string): Promise<GroupInfo[]> {
    let reply: unknown[];
    try {
      reply = (await this.cmd.call('XINFO', 'GROUPS', stream)) as unknown[];
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return [];
      throw err;
    }
    return reply.map((raw) => {
      const f = new Map<string, unknown>();
      const flat = raw as unknown[];
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(String(flat[i]), flat[i + 1]);
      const lag = f.get('lag');
      return {
        name: String(f.get('name')),
        consumers: Number(f.get('consumers')),
        pending: Number(f.get('pending')),
        lastDeliveredId: String(f.get('last-delivered-id')),
        lag: lag === null || lag === undefined ? null : Number(lag),
      };
    });
  }

  async consumePermits(
    permitKeys: string[],
    receiptKey: string,
    token: string,
    receiptTtlSec: number,
    opts: { readTtl?: boolean } = {},
  ): Promise<ConsumeOutcome> {
    if (permitKeys.length === 0) throw new Error('consumePermits needs at least one permit key');
    const keys = [receiptKey, ...permitKeys];
    const run = (this.cmd as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[
      this.scripts.consumePermits.name
    ]!.bind(this.cmd);
    const reply = await run(keys.length, ...keys, token, receiptTtlSec, opts.readTtl === false ? '0' : '1');
    return parseConsumeReply(reply, permitKeys.length);
  }

  async publishOnce(
    markerKey: string,
    markerTtlSec: number,
    stream: string,
    fields: Record<string, string>,
    maxLen: number,
  ): Promise<string | null> {
    const run = (this.cmd as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[
      this.scripts.publishOnce.name
    ]!.bind(this.cmd);
    const reply = await run(markerKey, stream, markerTtlSec, maxLen, ...fieldArgs(fields));
    const out = parsePublishReply(reply);
    return out.kind === 'published' ? out.id : null;
  }

  grantPermit(req: GrantPermitRequest): Promise<GrantPermitOutcome> {
    return this.authority.grantPermit(req);
  }

  decideOnce(req: DecideOnceRequest): Promise<boolean> {
    return this.authority.decideOnce(req);
  }

  applyLedgerResult(req: LedgerWriteRequest): Promise<LedgerWriteCode> {
    return this.authority.applyLedgerResult(req);
  }

  async onKeyChange(pattern: string, onChange: (change: KeyChange) => void): Promise<Unsubscribe> {
    if (!this.hub) {
      this.sub = this.cmd.duplicate({ commandTimeout: undefined, lazyConnect: false });
      this.sub.on('error', () => {});
      this.hub = new KeyEventHub(this.sub, this.db, this.logger);
    }
    return this.hub.add(pattern, onChange);
  }

  async serverTimeMs(): Promise<number> {
    const [s, us] = await this.cmd.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /** Raw client for tests and tools (SCRIPT FLUSH, INFO); services use the Store methods. */
  get client(): Redis {
    return this.cmd;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
