/**
 * The in-process adapter of the Store port (embedded demo, single-process runs, fast tests).
 * Same semantics as the Redis adapter: TTLs on the injected clock (expired lazily on access and
 * by a sweep that emits 'expired' like Redis), streams with consumer groups, blocking reads that
 * wake on XADD, keyspace-style change events, and the two atomic operations.
 */
import { systemClock, type Clock } from '../../ops/clock.js';
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
import { applyLedgerResultSync, decideOnceSync, grantPermitSync, type MemOps } from './authority-ops.js';
import { globToRegExp } from './stream-ids.js';
import { MemStream } from './streams.js';

type Value =
  | { type: 'string'; value: string }
  | { type: 'hash'; fields: Map<string, string> }
  | { type: 'list'; items: string[] }
  | { type: 'stream'; stream: MemStream };

export interface MemoryStoreOptions {
  prefix?: string;
  cluster?: boolean;
  clock?: Clock;
  /** Real-time interval of the expiry sweep (ms); 0 disables the timer (tests call sweep()). */
  sweepMs?: number;
}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

interface Watcher {
  re: RegExp;
  onChange: (change: KeyChange) => void;
}

export class MemoryStore implements Store {
  readonly keys: KeySpace;
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Value>();
  private readonly expiry = new Map<string, number>();
  private readonly watchers = new Set<Watcher>();
  private readonly xaddWaiters = new Map<string, Set<() => void>>();
  private readonly clock: Clock;
  private readonly timer: NodeJS.Timeout | null;
  private closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.keys = keySpace({ prefix: opts.prefix ?? '', cluster: opts.cluster ?? false });
    this.clock = opts.clock ?? systemClock;
    const every = opts.sweepMs ?? 100;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.timer?.unref();
  }

  /** Deletes every key whose TTL has passed, emitting 'expired' for each. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, at] of [...this.expiry]) if (at <= now) this.expire(key);
  }

  private expire(key: string): void {
    this.expiry.delete(key);
    if (this.data.delete(key)) this.emit(key, 'expired');
  }

  private live(key: string): Value | undefined {
    const at = this.expiry.get(key);
    if (at !== undefined && at <= this.clock.now()) this.expire(key);
    return this.data.get(key);
  }

  private typed<T extends Value['type']>(key: string, type: T): Extract<Value, { type: T }> | undefined {
    const v = this.live(key);
    if (v && v.type !== type) throw new Error(WRONGTYPE);
    return v as Extract<Value, { type: T }> | undefined;
  }

  private emit(key: string, event: string): void {
    for (const w of this.watchers) {
      if (!w.re.test(key)) continue;
      // Redis delivers notifications asynchronously; so do we (and a throwing listener stays local).
      queueMicrotask(() => {
        if (this.watchers.has(w)) w.onChange({ key, event });
      });
    }
  }

  private setExpiry(key: string, ttlMs: number | undefined): void {
    if (ttlMs === undefined) this.expiry.delete(key);
    else this.expiry.set(key, this.clock.now() + ttlMs);
  }

  private putString(key: string, value: string, ttlSec?: number): void {
    this.data.set(key, { type: 'string', value });
    this.setExpiry(key, ttlSec === undefined ? undefined : ttlSec * 1000);
    this.emit(key, 'set');
    if (ttlSec !== undefined) this.emit(key, 'expire');
  }

  private remove(key: string): boolean {
    if (!this.live(key)) return false;
    this.data.delete(key);
    this.expiry.delete(key);
    this.emit(key, 'del');
    return true;
  }

  async get(key: string): Promise<string | null> {
    return this.typed(key, 'string')?.value ?? null;
  }

  async mget(keys: string[]): Promise<(string | null)[]> {
    return keys.map((k) => {
      const v = this.live(k);
      return v?.type === 'string' ? v.value : null;
    });
  }

  async set(key: string, value: string, opts: SetOptions = {}): Promise<boolean> {
    if (opts.nx && this.live(key)) return false;
    this.putString(key, value, opts.ttlSec);
    return true;
  }

  async del(keys: string[]): Promise<number> {
    return keys.filter((k) => this.remove(k)).length;
  }

  private pttlNow(key: string): number {
    if (!this.live(key)) return -2;
    const at = this.expiry.get(key);
    return at === undefined ? -1 : at - this.clock.now();
  }

  async pttl(key: string): Promise<number> {
    return this.pttlNow(key);
  }

  async exists(key: string): Promise<boolean> {
    return this.live(key) !== undefined;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.typed(key, 'hash')?.fields ?? []);
  }

  async hset(key: string, fields: Record<string, string>, ttlSec?: number): Promise<void> {
    const entries = Object.entries(fields);
    if (entries.length > 0) {
      let h = this.typed(key, 'hash');
      if (!h) {
        h = { type: 'hash', fields: new Map() };
        this.data.set(key, h);
      }
      for (const [f, v] of entries) h.fields.set(f, v);
      this.emit(key, 'hset');
    }
    if (ttlSec !== undefined && this.live(key)) {
      this.setExpiry(key, ttlSec * 1000);
      this.emit(key, 'expire');
    }
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    const items = this.typed(key, 'list')?.items ?? [];
    const n = items.length;
    const from = Math.max(start < 0 ? n + start : start, 0);
    const to = Math.min(stop < 0 ? n + stop : stop, n - 1);
    return from > to ? [] : items.slice(from, to + 1);
  }

  async scanKeys(pattern: string, opts: { count: number; limit: number }): Promise<ScanResult> {
    const re = globToRegExp(pattern);
    const keys: string[] = [];
    for (const key of [...this.data.keys()]) {
      if (!re.test(key) || !this.live(key)) continue;
      if (keys.length >= opts.limit) return { keys, complete: false };
      keys.push(key);
    }
    return { keys, complete: true };
  }

  /** Test/demo helper (LPUSH + LTRIM): the port has no list writer yet. */
  async lpushTrim(key: string, value: string, keep: number, ttlSec?: number): Promise<void> {
    let l = this.typed(key, 'list');
    if (!l) {
      l = { type: 'list', items: [] };
      this.data.set(key, l);
    }
    l.items.unshift(value);
    l.items.length = Math.min(l.items.length, keep);
    this.emit(key, 'lpush');
    if (ttlSec !== undefined) this.setExpiry(key, ttlSec * 1000);
  }

  private stream(key: string, create: boolean): MemStream | undefined {
    const s = this.typed(key, 'stream');
    if (s || !create) return s?.stream;
    const stream = new MemStream();
    this.data.set(key, { type: 'stream', stream });
    return stream;
  }

  async xadd(stream: string, fields: Record<string, string>, maxLen?: number): Promise<string> {
    const id = this.stream(stream, true)!.add(this.clock.now(), fields, maxLen);
    this.emit(stream, 'xadd');
    const waiters = this.xaddWaiters.get(stream);
    if (waiters) for (const wake of [...waiters]) wake();
    return id;
  }

  async xrange(stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]> {
    return this.stream(stream, false)?.range(start, end, count) ?? [];
  }

  async xrevrange(stream: string, end: string, start: string, count?: number): Promise<StreamEntry[]> {
    return this.stream(stream, false)?.range(start, end, count, true) ?? [];
  }

  async xlen(stream: string): Promise<number> {
    return this.stream(stream, false)?.length ?? 0;
  }

  async createGroup(stream: string, group: string, startId = '$'): Promise<void> {
    this.stream(stream, true)!.createGroup(group, startId);
  }

  private mustStream(stream: string, group: string): MemStream {
    const s = this.stream(stream, false);
    if (!s) throw new Error(`NOGROUP No such key '${stream}' or consumer group '${group}'`);
    return s;
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    opts: { count: number; blockMs: number },
  ): Promise<StreamEntry[]> {
    const first = this.mustStream(stream, group).readNew(group, consumer, opts.count, this.clock.now());
    if (first.length > 0 || opts.blockMs <= 0 || this.closed) return first;
    await this.waitForXadd(stream, opts.blockMs);
    if (this.closed) return [];
    return this.mustStream(stream, group).readNew(group, consumer, opts.count, this.clock.now());
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
    return this.mustStream(stream, group).readOwnPending(group, consumer, count, this.clock.now());
  }

  async ack(stream: string, group: string, ids: string[]): Promise<number> {
    return this.stream(stream, false)?.ack(group, ids) ?? 0;
  }

  async autoClaim(stream: string, group: string, consumer: string, minIdleMs: number, count: number) {
    return this.mustStream(stream, group).autoClaim(group, consumer, minIdleMs, count, this.clock.now());
  }

  async groups(stream: string): Promise<GroupInfo[]> {
    return this.stream(stream, false)?.groupInfos() ?? [];
  }

  /** Delivery count / idle time of a pending entry (what XPENDING shows); tests and tools. */
  pendingInfo(stream: string, group: string, id: string) {
    return this.stream(stream, false)?.pendingInfo(group, id, this.clock.now()) ?? null;
  }

  async consumePermits(
    permitKeys: string[],
    receiptKey: string,
    token: string,
    receiptTtlSec: number,
    opts: { readTtl?: boolean } = {},
  ): Promise<ConsumeOutcome> {
    if (permitKeys.length === 0) throw new Error('consumePermits needs at least one permit key');
    const receipt = this.typed(receiptKey, 'string');
    if (receipt) {
      const stored = JSON.parse(receipt.value) as { token: string; bodies: string[] };
      if (stored.token !== token) return { kind: 'consumed_elsewhere' };
      return { kind: 'consumed', bodies: [...stored.bodies], replayed: true };
    }
    const bodies = permitKeys.map((k) => this.typed(k, 'string')?.value ?? null);
    if (bodies.some((b) => b === null)) {
      const ttl = (k: string, i: number) =>
        bodies[i] === null ? -2 : opts.readTtl === false ? -3 : this.pttlNow(k);
      return { kind: 'missing', ttlMs: permitKeys.map(ttl) };
    }
    for (const k of permitKeys) this.remove(k);
    this.putString(receiptKey, JSON.stringify({ token, bodies }), receiptTtlSec);
    return { kind: 'consumed', bodies: bodies as string[], replayed: false };
  }

  async publishOnce(
    markerKey: string,
    markerTtlSec: number,
    stream: string,
    fields: Record<string, string>,
    maxLen: number,
  ): Promise<string | null> {
    if (this.live(markerKey)) return null;
    this.putString(markerKey, '1', markerTtlSec);
    return this.xadd(stream, fields, maxLen > 0 ? maxLen : undefined);
  }

  /** Synchronous primitives for the authorities' atomic operations (authority-ops.ts). */
  private memOps(): MemOps {
    return {
      exists: (k) => this.live(k) !== undefined,
      getString: (k) => this.typed(k, 'string')?.value ?? null,
      setString: (k, v, ttlSec) => this.putString(k, v, ttlSec),
      hget: (k, f) => this.typed(k, 'hash')?.fields.get(f) ?? null,
      hset: (k, fields) => {
        let h = this.typed(k, 'hash');
        if (!h) this.data.set(k, (h = { type: 'hash', fields: new Map() }));
        for (const [f, v] of Object.entries(fields)) h.fields.set(f, v);
        this.emit(k, 'hset');
      },
      lrange: (k) => [...(this.typed(k, 'list')?.items ?? [])],
      lpushTrim: (k, v, keep) => {
        let l = this.typed(k, 'list');
        if (!l) this.data.set(k, (l = { type: 'list', items: [] }));
        l.items.unshift(v);
        l.items.length = Math.min(l.items.length, keep);
        this.emit(k, 'lpush');
      },
      expire: (k, ttlSec) => {
        if (this.live(k)) this.setExpiry(k, ttlSec * 1000);
      },
    };
  }

  async grantPermit(req: GrantPermitRequest): Promise<GrantPermitOutcome> {
    return grantPermitSync(this.memOps(), req);
  }

  async decideOnce(req: DecideOnceRequest): Promise<boolean> {
    return decideOnceSync(this.memOps(), req);
  }

  async applyLedgerResult(req: LedgerWriteRequest): Promise<LedgerWriteCode> {
    return applyLedgerResultSync(this.memOps(), req);
  }

  async onKeyChange(pattern: string, onChange: (change: KeyChange) => void): Promise<Unsubscribe> {
    const w: Watcher = { re: globToRegExp(pattern), onChange };
    this.watchers.add(w);
    return async () => {
      this.watchers.delete(w);
    };
  }

  /** Live onKeyChange listeners (tests check that waiters unsubscribe). */
  listenerCount(): number {
    return this.watchers.size;
  }

  notificationsActive(): boolean {
    return true;
  }

  async serverTimeMs(): Promise<number> {
    return this.clock.now();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.watchers.clear();
    for (const waiters of [...this.xaddWaiters.values()]) for (const wake of [...waiters]) wake();
  }
}
