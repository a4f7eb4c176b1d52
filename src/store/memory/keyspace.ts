/**
 * The synchronous core of the memory store: typed values, TTLs on the injected clock (expired
 * lazily on access and by sweep(), which emits 'expired' like Redis) and keyspace-style change
 * events. Everything here runs without awaiting, which is what makes the atomic operations
 * built on it atomic within one process.
 */
import type { Clock } from '../../ops/clock.js';
import type { KeyChange } from '../port.js';
import type { MemOps } from './authority-ops.js';
import { globToRegExp } from './stream-ids.js';
import { MemStream } from './streams.js';

export type Value =
  | { type: 'string'; value: string }
  | { type: 'hash'; fields: Map<string, string> }
  | { type: 'list'; items: string[] }
  | { type: 'stream'; stream: MemStream };

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

interface Watcher {
  re: RegExp;
  onChange: (change: KeyChange) => void;
}

export class MemKeyspace {
  private readonly data = new Map<string, Value>();
  private readonly expiry = new Map<string, number>();
  private readonly watchers = new Set<Watcher>();
  /** Watchers of named keys: the set of them, and key → watchers. */
  private readonly keyed = new Set<Watcher>();
  private readonly keyWatchers = new Map<string, Set<Watcher>>();

  constructor(readonly clock: Clock) {}

  sweep(): void {
    const now = this.clock.now();
    for (const [key, at] of [...this.expiry]) if (at <= now) this.expire(key);
  }

  private expire(key: string): void {
    this.expiry.delete(key);
    if (this.data.delete(key)) this.emit(key, 'expired');
  }

  live(key: string): Value | undefined {
    const at = this.expiry.get(key);
    if (at !== undefined && at <= this.clock.now()) this.expire(key);
    return this.data.get(key);
  }

  typed<T extends Value['type']>(key: string, type: T): Extract<Value, { type: T }> | undefined {
    const v = this.live(key);
    if (v && v.type !== type) throw new Error(WRONGTYPE);
    return v as Extract<Value, { type: T }> | undefined;
  }

  emit(key: string, event: string): void {
    for (const w of this.watchers) this.notify(w, key, event);
    const keyed = this.keyWatchers.get(key);
    if (keyed) for (const w of keyed) this.notify(w, key, event);
  }

  private notify(w: Watcher, key: string, event: string): void {
    if (!w.re.test(key)) return;
    // Redis delivers notifications asynchronously; so do we (and a throwing listener stays local).
    queueMicrotask(() => {
      if (this.isWatching(w)) w.onChange({ key, event });
    });
  }

  private isWatching(w: Watcher): boolean {
    return this.watchers.has(w) || this.keyed.has(w);
  }

  /** With `keys`: only changes of those keys (found by key, not by testing every watcher). */
  watch(pattern: string, onChange: (change: KeyChange) => void, keys?: readonly string[]): () => void {
    const w: Watcher = { re: globToRegExp(pattern), onChange };
    if (!keys) {
      this.watchers.add(w);
      return () => this.watchers.delete(w);
    }
    const named = [...new Set(keys)];
    this.keyed.add(w);
    for (const key of named) {
      let set = this.keyWatchers.get(key);
      if (!set) this.keyWatchers.set(key, (set = new Set()));
      set.add(w);
    }
    return () => {
      this.keyed.delete(w);
      for (const key of named) {
        const set = this.keyWatchers.get(key);
        set?.delete(w);
        if (set?.size === 0) this.keyWatchers.delete(key);
      }
    };
  }

  get watcherCount(): number {
    return this.watchers.size + this.keyed.size;
  }

  unwatchAll(): void {
    this.watchers.clear();
    this.keyed.clear();
    this.keyWatchers.clear();
  }

  setTtl(key: string, ttlMs: number | undefined): void {
    if (ttlMs === undefined) this.expiry.delete(key);
    else this.expiry.set(key, this.clock.now() + ttlMs);
  }

  /** EXPIRE: only on a live key. */
  expireIn(key: string, ttlSec: number): void {
    if (!this.live(key)) return;
    this.setTtl(key, ttlSec * 1000);
    this.emit(key, 'expire');
  }

  putString(key: string, value: string, ttlSec?: number): void {
    this.data.set(key, { type: 'string', value });
    this.setTtl(key, ttlSec === undefined ? undefined : ttlSec * 1000);
    this.emit(key, 'set');
    if (ttlSec !== undefined) this.emit(key, 'expire');
  }

  getString(key: string): string | null {
    return this.typed(key, 'string')?.value ?? null;
  }

  remove(key: string): boolean {
    if (!this.live(key)) return false;
    this.data.delete(key);
    this.expiry.delete(key);
    this.emit(key, 'del');
    return true;
  }

  pttl(key: string): number {
    if (!this.live(key)) return -2;
    const at = this.expiry.get(key);
    return at === undefined ? -1 : at - this.clock.now();
  }

  hset(key: string, fields: Record<string, string>): void {
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    let h = this.typed(key, 'hash');
    if (!h) this.data.set(key, (h = { type: 'hash', fields: new Map() }));
    for (const [f, v] of entries) h.fields.set(f, v);
    this.emit(key, 'hset');
  }

  /** HDEL: a hash left without fields is deleted, as Redis does. */
  hdel(key: string, fields: readonly string[]): number {
    const h = this.typed(key, 'hash');
    if (!h) return 0;
    const removed = [...new Set(fields)].filter((f) => h.fields.delete(f)).length;
    if (removed > 0) this.emit(key, 'hdel');
    if (h.fields.size === 0) {
      this.data.delete(key);
      this.expiry.delete(key);
      this.emit(key, 'del');
    }
    return removed;
  }

  /** LPUSH one value then LTRIM 0 keep-1. */
  lpushTrim(key: string, value: string, keep: number): void {
    let l = this.typed(key, 'list');
    if (!l) this.data.set(key, (l = { type: 'list', items: [] }));
    l.items.unshift(value);
    l.items.length = Math.min(l.items.length, keep);
    this.emit(key, 'lpush');
  }

  stream(key: string, create: boolean): MemStream | undefined {
    const s = this.typed(key, 'stream');
    if (s || !create) return s?.stream;
    const stream = new MemStream();
    this.data.set(key, { type: 'stream', stream });
    return stream;
  }

  /** Live keys matching a glob, at most `limit` (SCAN MATCH, without its cursor). */
  scan(pattern: string, limit: number): { keys: string[]; complete: boolean } {
    const re = globToRegExp(pattern);
    const keys: string[] = [];
    for (const key of [...this.data.keys()]) {
      if (!re.test(key) || !this.live(key)) continue;
      if (keys.length >= limit) return { keys, complete: false };
      keys.push(key);
    }
    return { keys, complete: true };
  }

  /** Synchronous primitives for the authorities' atomic operations (authority-ops.ts). */
  ops(): MemOps {
    return {
      exists: (k) => this.live(k) !== undefined,
      getString: (k) => this.getString(k),
      setString: (k, v, ttlSec) => this.putString(k, v, ttlSec),
      replaceString: (k, v) => {
        const at = this.live(k) ? this.expiry.get(k) : undefined;
        this.data.set(k, { type: 'string', value: v });
        if (at === undefined) this.expiry.delete(k);
        else this.expiry.set(k, at);
        this.emit(k, 'incrbyfloat');
      },
      hget: (k, f) => this.typed(k, 'hash')?.fields.get(f) ?? null,
      hset: (k, fields) => this.hset(k, fields),
      hdel: (k, fields) => this.hdel(k, fields),
      lrange: (k) => [...(this.typed(k, 'list')?.items ?? [])],
      lpushTrim: (k, v, keep) => this.lpushTrim(k, v, keep),
      expire: (k, ttlSec) => {
        if (this.live(k)) this.setTtl(k, ttlSec * 1000);
      },
    };
  }
}
