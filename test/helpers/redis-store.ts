/** A RedisStore on a test's private redis-server, its scripts loaded, under its own key prefix. */
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { RedisServerHandle } from './redis-server.js';

export async function redisStoreOn(server: RedisServerHandle, prefix = server.prefix()): Promise<RedisStore> {
  const store = new RedisStore({ url: server.url, prefix });
  await store.init();
  return store;
}
