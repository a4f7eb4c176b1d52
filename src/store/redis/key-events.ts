/**
 * One PSUBSCRIBE connection per store, shared by every waiter: a pattern → listeners map, where
 * a listener hears every key of its pattern or only the keys it names (a permit wait names its
 * plan's keys), so an event reaches its own waiters in O(1) instead of every waiter of the
 * pattern (measured: each permit write woke every plan in flight).
 * The first listener of a pattern subscribes; once the last one has left, the pattern lingers
 * subscribed for `lingerMs` before it is unsubscribed, so a steady flow of plans (one waiter at a
 * time) neither pays a PSUBSCRIBE round trip before its first attempt nor two commands per plan
 * (the pipeline bench counts them: BENCHMARKS.md). ioredis re-subscribes every
 * pattern by itself after a reconnect (autoResubscribe, on by default).
 */
import type { Redis } from 'ioredis';
import type { KeyChange, Unsubscribe } from '../port.js';

type Listener = (change: KeyChange) => void;

interface Entry {
  /** Listeners of every key of the pattern. */
  listeners: Set<Listener>;
  /** Listeners of named keys only: key → listeners. */
  byKey: Map<string, Set<Listener>>;
  /** Listeners in both maps (one listener may name several keys: counted once). */
  count: number;
  subscribed: Promise<unknown>;
  /** Set while the entry has no listener and waits out the linger before unsubscribing. */
  idle: NodeJS.Timeout | null;
}

export interface HubLogger {
  error(obj: object, msg?: string): void;
}

/**
 * A PSUBSCRIBE in flight when the server dies is never answered (in-flight commands are not
 * resent, and the subscriber has no command timeout): without a bound, every later waiter on
 * the same pattern would await it forever (found by the Redis-restart reliability test).
 */
export const SUBSCRIBE_CONFIRM_MS = 1000;
export const SUBSCRIBE_LINGER_MS = 1000;

function confirmWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not confirmed within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export class KeyEventHub {
  private readonly entries = new Map<string, Entry>();
  private readonly channelPrefix: string;

  constructor(
    private readonly sub: Redis,
    db: number,
    private readonly logger: HubLogger,
    private readonly confirmMs = SUBSCRIBE_CONFIRM_MS,
    private readonly lingerMs = SUBSCRIBE_LINGER_MS,
  ) {
    this.channelPrefix = `__keyspace@${db}__:`;
    sub.on('pmessage', (pattern: string, channel: string, event: string) => {
      this.dispatch(pattern, channel, event);
    });
  }

  private dispatch(pattern: string, channel: string, event: string): void {
    const entry = this.entries.get(pattern);
    if (!entry || !channel.startsWith(this.channelPrefix)) return;
    const change = { key: channel.slice(this.channelPrefix.length), event };
    const keyed = entry.byKey.get(change.key);
    // Copies: a listener may leave (or another arrive) while we call them.
    if (entry.listeners.size > 0) this.call([...entry.listeners], change);
    if (keyed) this.call([...keyed], change);
  }

  private call(listeners: Listener[], change: KeyChange): void {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ err, key: change.key }, 'key change listener threw');
      }
    }
  }

  /**
   * Resolves once the server confirmed the subscription, so no later write is missed. With
   * `keys`, the listener hears only those keys (each should match the pattern).
   */
  async add(keyPattern: string, listener: Listener, keys?: readonly string[]): Promise<Unsubscribe> {
    const channel = this.channelPrefix + keyPattern;
    let entry = this.entries.get(channel);
    if (!entry) {
      entry = {
        listeners: new Set(),
        byKey: new Map(),
        count: 0,
        subscribed: confirmWithin(this.sub.psubscribe(channel), this.confirmMs, 'PSUBSCRIBE'),
        idle: null,
      };
      this.entries.set(channel, entry);
    }
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = null;
    const named = keys ? [...new Set(keys)] : null;
    if (named) {
      for (const key of named) {
        let set = entry.byKey.get(key);
        if (!set) entry.byKey.set(key, (set = new Set()));
        set.add(listener);
      }
    } else entry.listeners.add(listener);
    entry.count++;
    const mine = entry;
    const detach = () => {
      mine.count--;
      if (!named) return void mine.listeners.delete(listener);
      for (const key of named) {
        const set = mine.byKey.get(key);
        set?.delete(listener);
        if (set?.size === 0) mine.byKey.delete(key);
      }
    };
    try {
      await mine.subscribed;
    } catch (err) {
      // A failed subscription must not linger: the next waiter subscribes afresh.
      detach();
      await this.remove(channel, mine, true);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      detach();
      await this.remove(channel, mine);
    };
  }

  /** After a listener left: unsubscribes the pattern once no listener is left (after the linger). */
  private async remove(channel: string, entry: Entry, now = false): Promise<void> {
    if (entry.count > 0 || this.entries.get(channel) !== entry) return;
    if (!now && this.lingerMs > 0) {
      if (entry.idle) clearTimeout(entry.idle);
      entry.idle = setTimeout(() => void this.remove(channel, entry, true), this.lingerMs);
      entry.idle.unref();
      return;
    }
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = null;
    this.entries.delete(channel);
    // Not awaited without a bound, for the same reason as the subscribe. Connection down: ioredis
    // may re-subscribe the pattern on reconnect; its messages then find no entry here and are
    // dropped, so the only cost is a little traffic.
    await confirmWithin(this.sub.punsubscribe(channel), this.confirmMs, 'PUNSUBSCRIBE').catch(() => {});
  }

  patterns(): string[] {
    return [...this.entries.keys()];
  }
}
