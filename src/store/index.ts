/** Store factory: the Redis adapter, or the in-process one for embedded runs. */
import type { Clock } from '../ops/clock.js';
import { MemoryStore } from './memory/memory-store.js';
import type { Store } from './port.js';
import type { SentinelTarget } from './redis/connection.js';
import { RedisStore, type StoreLogger } from './redis/redis-store.js';

export interface CreateStoreOptions {
  /** redis://host:port/db; wins over host/port (REDIS_URL over REDIS_HOST/REDIS_PORT). */
  url?: string;
  host?: string;
  port?: number;
  /** In-process store instead of Redis. */
  memory?: boolean;
  prefix?: string;
  cluster?: boolean;
  /** REDIS_SENTINELS: the master is asked of these sentinels. */
  sentinel?: SentinelTarget | null;
  commandTimeout?: number;
  /** APPLY_PERMIT_STEP_MS, quoted in the warning when notifications cannot be enabled. */
  pollStepMs?: number;
  logger?: StoreLogger;
  /** false: the caller waits on no key; notifications are not set up (RedisStoreOptions). */
  keyEvents?: boolean;
  /** Memory store only: the clock TTLs run on. */
  clock?: Clock;
}

export async function createStore(opts: CreateStoreOptions = {}): Promise<Store> {
  if (opts.memory) {
    return new MemoryStore({ prefix: opts.prefix, cluster: opts.cluster, clock: opts.clock });
  }
  const store = new RedisStore(opts);
  try {
    await store.init();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** A service's validated Redis settings (REDIS_URL or REDIS_HOST/PORT, REDIS_KEY_PREFIX, REDIS_CLUSTER, REDIS_SENTINELS). */
export interface StoreTarget {
  url: string;
  keyPrefix: string;
  cluster: boolean;
  sentinel?: SentinelTarget | null;
}

/** The store `target` names; `extra` adds the caller's options (timeout, logger, ...). */
export function openStoreFor(
  target: StoreTarget,
  extra: Omit<CreateStoreOptions, 'url' | 'prefix' | 'cluster' | 'sentinel' | 'memory'> = {},
): Promise<Store> {
  const { url, keyPrefix: prefix, cluster, sentinel } = target;
  return createStore({ url, prefix, cluster, sentinel, ...extra });
}

export { MemoryStore } from './memory/memory-store.js';
export { RedisStore, type StoreLogger } from './redis/redis-store.js';
export type { Store } from './port.js';
