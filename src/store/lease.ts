/**
 * The lease operations (lease-port.ts) for a store. Redis: four Lua scripts
 * (redis/lease-scripts.ts); memory: one in-process table per store, so in-process replicas
 * sharing a MemoryStore see the same leases.
 */
import { systemClock, type Clock } from '../ops/clock.js';
import type { LeaseOps, LeaseOutcome } from './lease-port.js';
import type { Store } from './port.js';
import { RedisLeaseScripts } from './redis/lease-scripts.js';
import type { RedisStore } from './redis/redis-store.js';

interface MemLease {
  token: string;
  expiresAt: number;
}

const memoryTables = new WeakMap<Store, Map<string, MemLease>>();

function memoryLeases(store: Store, clock: Clock): LeaseOps {
  let table = memoryTables.get(store);
  if (!table) memoryTables.set(store, (table = new Map()));
  const t = table;
  const live = (key: string) => {
    const l = t.get(key);
    if (l && l.expiresAt <= clock.now()) t.delete(key);
    return t.get(key);
  };
  const acquire = (key: string, token: string, ttlMs: number): LeaseOutcome => {
    const cur = live(key);
    if (cur && cur.token !== token) return { kind: 'held', pttlMs: cur.expiresAt - clock.now() };
    t.set(key, { token, expiresAt: clock.now() + ttlMs });
    return { kind: cur ? 'renewed' : 'acquired' };
  };
  return {
    async acquire(key, token, ttlMs) {
      return acquire(key, token, ttlMs);
    },
    async acquireMany(keys, token, ttlMs) {
      return keys.map((key) => acquire(key, token, ttlMs).kind);
    },
    async release(key, token) {
      if (live(key)?.token !== token) return false;
      t.delete(key);
      return true;
    },
    async createIntent(intentKey, leaseKey, token, fields, ttlSec) {
      // Checked and written without an await in between: atomic on the one JS thread.
      if (live(leaseKey)?.token !== token) return 'lease_lost';
      const exists = store.exists(intentKey);
      if (await exists) return 'intent_exists';
      if (live(leaseKey)?.token !== token) return 'lease_lost';
      await store.hset(intentKey, fields, ttlSec);
      return 'written';
    },
  };
}

/** The lease operations for a store (Redis scripts on its command connection, or in-process). */
export function leaseOpsFor(store: Store, opts: { clock?: Clock } = {}): LeaseOps {
  if (store.kind === 'memory') return memoryLeases(store, opts.clock ?? systemClock);
  return new RedisLeaseScripts((store as RedisStore).client);
}
