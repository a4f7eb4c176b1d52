/**
 * Keyspace notifications in cluster mode (cluster-key-events.ts): a subscriber per master, so a
 * key change on any master reaches its waiter; after a graceful CLUSTER FAILOVER and after a
 * kill -9 of a master, the promoted replica is subscribed too and the epoch has moved (waiters
 * re-read what the gap may have hidden). Real 3-master cluster with a replica each, loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { clusterAvailable, redisCli, startCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { skipRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const KEYS = Array.from({ length: 24 }, (_, i) => `qa:{k${i}}`);

describe.skipIf(skipRedis || !clusterAvailable)('cluster key events', () => {
  let cluster: LocalCluster;
  let store: RedisStore;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1, nodeTimeoutMs: 1000 });
    store = new RedisStore({
      url: `redis://127.0.0.1:${cluster.ports[0]}`,
      cluster: true,
      commandTimeout: 1000,
    });
    await store.init();
  }, 90_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  const slotOf = (key: string) =>
    Number(redisCli(cluster.ports[0] as number, 'cluster', 'keyslot', key).trim());

  /** Every key written (retrying through a failover's gap) is heard through the store. */
  async function everyKeyHeard(tag: string): Promise<void> {
    await until(
      async () => {
        const heard = new Set<string>();
        const off = await store.onKeyChange('qa:*', (c) => heard.add(c.key)).catch(() => null);
        if (!off) return false;
        try {
          for (const k of KEYS) await store.set(k, tag);
          return await until(() => heard.size === KEYS.length, 3000, 'every key heard', 20).catch(
            () => false,
          );
        } catch {
          return false;
        } finally {
          await off();
        }
      },
      45_000,
      `every key's change heard (${tag})`,
      200,
    );
  }

  it('when keys live on all three masters then a change on each is heard', async () => {
    expect(store.notificationsActive()).toBe(true);
    const masters = new Set(
      await Promise.all(KEYS.map(async (k) => (await cluster.masterOf(slotOf(k))).port)),
    );
    expect(masters.size).toBe(3);
    await everyKeyHeard('start');
  }, 30_000);

  it('when a replica takes over by CLUSTER FAILOVER then its keys are heard from it', async () => {
    const epoch = store.notificationEpoch();
    const master = await cluster.masterOf(slotOf(KEYS[0] as string));
    const replica = (await cluster.nodes()).find((n) => n.masterId === master.id);
    expect(replica).toBeDefined();
    expect(redisCli(replica!.port, 'cluster', 'failover').trim()).toBe('OK');
    await until(
      async () => (await cluster.masterOf(slotOf(KEYS[0] as string))).port === replica!.port,
      30_000,
      'promoted',
    );
    await everyKeyHeard('graceful');
    expect(store.notificationEpoch()).toBeGreaterThan(epoch);
    expect(store.notificationsActive()).toBe(true);
  }, 60_000);

  it('when a master is killed (-9) then the promoted replica is subscribed and every key is heard', async () => {
    const epoch = store.notificationEpoch();
    const master = await cluster.masterOf(slotOf(KEYS[1] as string));
    cluster.kill(master.port);
    await until(
      async () =>
        (await cluster.masterOf(slotOf(KEYS[1] as string)).catch(() => master)).port !== master.port,
      30_000,
      'a replica promoted',
      100,
    );
    await everyKeyHeard('killed');
    expect(store.notificationEpoch()).toBeGreaterThan(epoch);
    expect(store.notificationsActive()).toBe(true);
  }, 90_000);
});
