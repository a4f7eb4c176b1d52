/**
 * The in-process adapter of the Store port (embedded demo, single-process runs, fast tests).
 * Same semantics as the Redis adapter: TTLs on the injected clock (expired lazily on access and
 * by a sweep that emits 'expired' like Redis), streams with consumer groups, blocking reads that
 * wake on XADD, keyspace-style change events, and the atomic operations (each runs without an
 * await over keyspace.ts, so nothing interleaves).
 */
import { systemClock, type Clock } from '../../ops/clock.js';
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
import {
  applyLedgerResultsSync,
  decideOnceSync,
  grantCloseQtySync,
  grantPermitSync,
  seedLedgersSync,
} from './authority-ops.js';
import { MemKeyspace } from './keyspace.js';
import { MemLeases } from './leases.js';
import type { MemStream } from './streams.js';

export interface MemoryStoreOptions {
  prefix?: string;
  cluster?: boolean;
  clock?: Clock;
  /** Real-time interval of the expiry sweep (ms); 0 disables the timer (tests call sweep()). */
  sweepMs?: number;
}

export class MemoryStore implements Store {
  readonly keys: KeySpace;
  readonly kind = 'memory' as const;
  private readonly ks: MemKeyspace;
  readonly leases: MemLeases;
  private readonly xaddWaiters = new Map<string, Set<() => void>>();
  private readonly timer: NodeJS.Timeout | null;
  private closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.keys = keySpace({ prefix: opts.prefix ?? '', cluster: opts.cluster ?? false });
    this.ks = new MemKeyspace(opts.clock ?? systemClock);
    this.leases = new MemLeases(this.ks.clock, this);
    const every = opts.sweepMs ?? 100;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.timer?.unref();
  }

  private get now(): number {
    return this.ks.clock.now();
  }

  /** Deletes every key whose TTL has passed, emitting 'expired' for each. */
  sweep(): void {
    this.ks.sweep();
  }

  async get(key: string): Promise<string | null> {
    return this.ks.getString(key);
  }

  async mget(keys: string[]): Promise<(string | null)[]> {
    return keys.map((k) => {
      const v = this.ks.live(k);
      return v?.type === 'string' ? v.value : null;
    });
  }

  async set(key: string, value: string, opts: SetOptions = {}): Promise<boolean> {
    if (opts.nx && this.ks.live(key)) return false;
    this.ks.putString(key, value, opts.ttlSec);
    return true;
  }

  async del(keys: string[]): Promise<number> {
    return keys.filter((k) => this.ks.remove(k)).length;
  }

  async pttl(key: string): Promise<number> {
    return this.ks.pttl(key);
  }

  async exists(key: string): Promise<boolean> {
    return this.ks.live(key) !== undefined;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.ks.typed(key, 'hash')?.fields ?? []);
  }

  async hgetallInOrder(keys: readonly string[]): Promise<Record<string, string>[]> {
    // In one process nothing interleaves between these reads.
    return Promise.all(keys.map((k) => this.hgetall(k)));
  }

  async hset(key: string, fields: Record<string, string>, ttlSec?: number): Promise<void> {
    this.ks.hset(key, fields);
    if (ttlSec !== undefined) this.ks.expireIn(key, ttlSec);
  }

  async hdel(key: string, fields: string[]): Promise<number> {
    return this.ks.hdel(key, fields);
  }

  async hupdate(key: string, fields: Record<string, string>, ttlSec: number): Promise<void> {
    const entries = Object.keys(fields);
    if (entries.length === 0) return;
    const before = this.ks.typed(key, 'hash')?.fields;
    const created = !before || entries.every((f) => !before.has(f));
    this.ks.hset(key, fields);
    if (created) this.ks.expireIn(key, ttlSec);
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    const items = this.ks.typed(key, 'list')?.items ?? [];
    const n = items.length;
    const from = Math.max(start < 0 ? n + start : start, 0);
    const to = Math.min(stop < 0 ? n + stop : stop, n - 1);
    return from > to ? [] : items.slice(from, to + 1);
  }

  async scanKeys(pattern: string, opts: { count: number; limit: number }): Promise<ScanResult> {
    return this.ks.scan(pattern, opts.limit);
  }

  /** Test/demo helper (LPUSH + LTRIM): the port has no list writer yet. */
  async lpushTrim(key: string, value: string, keep: number, ttlSec?: number): Promise<void> {
    this.ks.lpushTrim(key, value, keep);
    if (ttlSec !== undefined) this.ks.setTtl(key, ttlSec * 1000);
  }

  async xadd(stream: string, fields: Record<string, string>, maxLen?: number): Promise<string> {
    const id = this.ks.stream(stream, true)!.add(this.now, fields, maxLen);
    this.ks.emit(stream, 'xadd');
    const waiters = this.xaddWaiters.get(stream);
    if (waiters) for (const wake of [...waiters]) wake();
    return id;
  }

  async xrange(stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]> {
    return this.ks.stream(stream, false)?.range(start, end, count) ?? [];
  }

  async xrevrange(stream: string, end: string, start: string, count?: number): Promise<StreamEntry[]> {
    return this.ks.stream(stream, false)?.range(start, end, count, true) ?? [];
  }

  async xlen(stream: string): Promise<number> {
    return this.ks.stream(stream, false)?.length ?? 0;
  }

  async createGroup(stream: string, group: string, startId = '$'): Promise<void> {
    this.ks.stream(stream, true)!.createGroup(group, startId);
  }

  private mustStream(stream: string, group: string): MemStream {
    const s = this.ks.stream(stream, false);
    if (!s) throw new Error(`NOGROUP No such key '${stream}' or consumer group '${group}'`);
    return s;
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    opts: { count: number; blockMs: number },
  ): Promise<StreamEntry[]> {
    const first = this.mustStream(stream, group).readNew(group, consumer, opts.count, this.now);
    if (first.length > 0 || opts.blockMs <= 0 || this.closed) return first;
    await this.waitForXadd(stream, opts.blockMs);
    if (this.closed) return [];
    return this.mustStream(stream, group).readNew(group, consumer, opts.count, this.now);
  }

  private waitForXadd(stream: string, blockMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.xaddWaiters.get(stream);
      if (!set) this.xaddWaiters.set(stream, (set = new Set()));
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.xaddWaiters.delete(stream);
        resolve();
      };
      const timer = setTimeout(done, blockMs);
      waiters.add(done);
    });
  }

  async readOwnPending(stream: string, group: string, consumer: string, count: number) {
    return this.mustStream(stream, group).readOwnPending(group, consumer, count, this.now);
  }

  async ack(stream: string, group: string, ids: string[]): Promise<number> {
    return this.ks.stream(stream, false)?.ack(group, ids) ?? 0;
  }

  async autoClaim(stream: string, group: string, consumer: string, minIdleMs: number, count: number) {
    return this.mustStream(stream, group).autoClaim(group, consumer, minIdleMs, count, this.now);
  }

  async groups(stream: string): Promise<GroupInfo[]> {
    return this.ks.stream(stream, false)?.groupInfos() ?? [];
  }

  async consumers(stream: string, group: string): Promise<ConsumerInfo[]> {
    return this.ks.stream(stream, false)?.consumerInfos(group, this.now) ?? [];
  }

  /** Delivery count / idle time of a pending entry (what XPENDING shows); tests and tools. */
  pendingInfo(stream: string, group: string, id: string) {
    return this.ks.stream(stream, false)?.pendingInfo(group, id, this.now) ?? null;
  }

  async consumePermits(
    permitKeys: string[],
    receiptKey: string,
    token: string,
    receiptTtlSec: number,
    opts: { readTtl?: boolean } = {},
  ): Promise<ConsumeOutcome> {
    if (permitKeys.length === 0) throw new Error('consumePermits needs at least one permit key');
    const receipt = this.ks.getString(receiptKey);
    if (receipt !== null) {
      const stored = JSON.parse(receipt) as { token: string; bodies: string[] };
      if (stored.token !== token) return { kind: 'consumed_elsewhere' };
      return { kind: 'consumed', bodies: [...stored.bodies], replayed: true };
    }
    const bodies = permitKeys.map((k) => this.ks.getString(k));
    if (bodies.some((b) => b === null)) {
      const ttl = (k: string, i: number) =>
        bodies[i] === null ? -2 : opts.readTtl === false ? -3 : this.ks.pttl(k);
      return { kind: 'missing', ttlMs: permitKeys.map(ttl) };
    }
    for (const k of permitKeys) this.ks.remove(k);
    this.ks.putString(receiptKey, JSON.stringify({ token, bodies }), receiptTtlSec);
    return { kind: 'consumed', bodies: bodies as string[], replayed: false };
  }

  async publishOnce(
    markerKey: string,
    markerTtlSec: number,
    stream: string,
    fields: Record<string, string>,
    maxLen: number,
  ): Promise<string | null> {
    if (this.ks.live(markerKey)) return null;
    this.ks.putString(markerKey, '1', markerTtlSec);
    return this.xadd(stream, fields, maxLen > 0 ? maxLen : undefined);
  }

  async publishPlan(r: PublishPlanRequest): Promise<PublishPlanOutcome> {
    if (this.ks.live(r.resultMarkerKey)) return { kind: 'handled' };
    let dedupeSet = false;
    if (r.dedupe) {
      if (this.ks.live(r.dedupe.key)) return { kind: 'duplicate' };
      this.ks.putString(r.dedupe.key, r.dedupe.value, r.dedupe.ttlSec);
      dedupeSet = true;
    }
    const id = await this.publishOnce(r.markerKey, r.markerTtlSec, r.stream, r.fields, r.maxLen);
    return id === null ? { kind: 'exists', dedupeSet } : { kind: 'published', id, dedupeSet };
  }

  async grantPermit(req: GrantPermitRequest): Promise<GrantPermitOutcome> {
    return grantPermitSync(this.ks.ops(), req);
  }

  async decideOnce(req: DecideOnceRequest): Promise<boolean> {
    return decideOnceSync(this.ks.ops(), req);
  }

  async grantCloseQty(req: GrantCloseQtyRequest): Promise<GrantCloseCode> {
    return grantCloseQtySync(this.ks.ops(), req);
  }

  async applyLedgerResults(req: LedgerBatchRequest): Promise<LedgerWriteCode[]> {
    return applyLedgerResultsSync(this.ks.ops(), req);
  }

  async seedLedgers(req: LedgerSeedRequest): Promise<boolean[]> {
    return seedLedgersSync(this.ks.ops(), req);
  }

  async onKeyChange(
    pattern: string,
    onChange: (change: KeyChange) => void,
    opts: { keys?: readonly string[] } = {},
  ): Promise<Unsubscribe> {
    const unwatch = this.ks.watch(pattern, onChange, opts.keys);
    return async () => {
      unwatch();
    };
  }

  /** Live onKeyChange listeners (tests check that waiters unsubscribe). */
  listenerCount(): number {
    return this.ks.watcherCount;
  }

  notificationsActive(): boolean {
    return true;
  }

  notificationEpoch(): number {
    return 0;
  }

  async waitForReplicas(_key: string, replicas: number): Promise<number> {
    return replicas;
  }

  async serverTimeMs(): Promise<number> {
    return this.now;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.ks.unwatchAll();
    for (const waiters of [...this.xaddWaiters.values()]) for (const wake of [...waiters]) wake();
  }
}
