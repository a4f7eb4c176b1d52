/** A RedisStore on a test's private redis-server, its scripts loaded, under its own key prefix. */
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { usePrivateRedis, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';

export async function redisStoreOn(server: RedisServerHandle, prefix = server.prefix()): Promise<RedisStore> {
  const store = new RedisStore({ url: server.url, prefix });
  await store.init();
  return store;
}

/**
 * A private redis-server and one store on it (its own key prefix) for the enclosing file or
 * describe block: both started before its first test, stopped after its last. `store` forwards
 * to that store, so it can be captured at definition time like usePrivateRedis's handle.
 * With `server`, the store goes on a server the block already has instead of a new one.
 */
export function usePrivateRedisStore(opts: RedisServerOptions & { server?: RedisServerHandle } = {}): {
  server: RedisServerHandle;
  store: RedisStore;
} {
  const { server: given, ...serverOpts } = opts;
  const server = given ?? usePrivateRedis(serverOpts);
  let store: RedisStore | undefined;
  beforeAll(async () => {
    store = await redisStoreOn(server);
  });
  afterAll(async () => {
    await store?.close();
  });
  // The prototype keeps `instanceof RedisStore` true for code that checks which adapter it has.
  const forward = new Proxy(Object.create(RedisStore.prototype) as RedisStore, {
    get(_, prop) {
      if (!store) throw new Error('the private store is not open: use it in a test or hook');
      const value: unknown = Reflect.get(store, prop, store);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(store) : value;
    },
  });
  return { server, store: forward };
}
