/**
 * Redis Sentinel (REDIS_SENTINELS): the store finds the master through real sentinels on
 * loopback, and after a graceful SENTINEL FAILOVER and after a kill -9 of the master its
 * commands, keyspace notifications and blocking stream reads all follow the new master
 * without a restart.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadApplyConfig } from '../../src/ops/config.js';
import { sentinelAclSetUserArgs } from '../../src/ops/redis-acl.js';
import { openStoreFor, type Store } from '../../src/store/index.js';
import { commandOptions, createCommandClient } from '../../src/store/redis/connection.js';
import { Redis } from 'ioredis';
import { skipRedis } from '../helpers/redis-server.js';
import { SENTINEL_NAME, startSentinel, type LocalSentinel } from '../helpers/redis-sentinel.js';
import { until } from '../helpers/wait.js';

describe.skipIf(skipRedis)('redis store under sentinel', () => {
  let topo: LocalSentinel;
  let store: Store;
  beforeAll(async () => {
    topo = await startSentinel();
    // The services' sentinel user, with the rules `acl` prints, on every sentinel.
    for (const port of topo.sentinelPorts) {
      const admin = new Redis({ port, host: '127.0.0.1' });
      await admin.call('ACL', 'SETUSER', ...sentinelAclSetUserArgs('qa-sentinel', 'spw'));
      admin.disconnect();
    }
    const cfg = loadApplyConfig({
      REDIS_SENTINELS: topo.sentinelsEnv,
      REDIS_SENTINEL_NAME: SENTINEL_NAME,
      REDIS_SENTINEL_USERNAME: 'qa-sentinel',
      REDIS_SENTINEL_PASSWORD: 'spw',
    });
    store = await openStoreFor(cfg.redis, { commandTimeout: 1000 });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await topo?.stop();
  });

  /** A write accepted by the store, retried across the failover's gap (commands fail fast then). */
  const writeEventually = (key: string, value: string) =>
    until(() => store.set(key, value).catch(() => false), 20_000, `SET ${key} after the failover`, 100);

  /** A key change seen through the store's subscriber after a write made at the server. */
  async function heardAfterWrite(key: string): Promise<boolean> {
    const heard: string[] = [];
    const off = await until(
      () => store.onKeyChange('qa:*', (c) => heard.push(c.key), { keys: [key] }).catch(() => null),
      20_000,
      'subscribed',
      100,
    );
    await writeEventually(key, 'x');
    await until(() => heard.includes(key), 5000, `event for ${key}`);
    await off();
    return true;
  }

  /**
   * A blocked read started before an XADD receives that entry. Writes acknowledged by the old
   * master in the switch's first moments may be lost (replication is asynchronous, and a
   * graceful SENTINEL FAILOVER does not pause writers), so each attempt uses a fresh stream.
   */
  async function blockingReadSees(tag: string): Promise<void> {
    let attempt = 0;
    await until(
      async () => {
        const stream = `qa:stream:${tag}:${attempt++}`;
        try {
          await store.createGroup(stream, 'g', '0');
          const read = store.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 3000 });
          // Awaited below; if the XADD fails first (the group lost with a master), not unhandled.
          read.catch(() => undefined);
          await store.xadd(stream, { tag });
          const entries = await read;
          return entries.length === 1 && entries[0]?.fields.tag === tag;
        } catch {
          return false;
        }
      },
      30_000,
      `a blocked read sees the entry of ${tag}`,
      200,
    );
  }

  it('when the sentinel user has only the rules acl prints then it cannot move the master', async () => {
    const port = topo.sentinelPorts[0] as number;
    const c = new Redis({
      port,
      host: '127.0.0.1',
      username: 'qa-sentinel',
      password: 'spw',
      enableReadyCheck: false,
    });
    await expect(c.call('SENTINEL', 'FAILOVER', SENTINEL_NAME)).rejects.toThrow(/NOPERM/);
    expect(await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)).toEqual([
      '127.0.0.1',
      String(topo.servers[0]?.port),
    ]);
    c.disconnect();
  });

  it('when connected through the sentinels then commands, notifications and blocking reads reach the master', async () => {
    expect(await topo.masterPort()).toBe(topo.servers[0]?.port);
    expect(store.notificationsActive()).toBe(true);
    expect(await heardAfterWrite('qa:before')).toBe(true);
    await blockingReadSees('before');
  });

  it('when the sentinels fail over gracefully then everything follows the new master', async () => {
    const old = await topo.masterPort();
    const now = await topo.failover();
    expect(now).not.toBe(old);
    await writeEventually('qa:graceful', '1');
    expect(await heardAfterWrite('qa:graceful-event')).toBe(true);
    await blockingReadSees('graceful');
    expect(await store.get('qa:before')).toBe('x');
  }, 60_000);

  it('when the master is killed (-9) then everything follows the promoted replica', async () => {
    const master = await topo.master();
    process.kill(master.pid, 'SIGKILL');
    const now = await topo.awaitNewMaster(master.port);
    expect(now).not.toBe(master.port);
    await writeEventually('qa:killed', '1');
    expect(await heardAfterWrite('qa:killed-event')).toBe(true);
    await blockingReadSees('killed');
  }, 60_000);

  // Last: it stops a sentinel for good.
  it('when a sentinel goes down then the failover subscriber retries it without an unhandled error', async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
      printed.push(a.map(String).join(' '));
    });
    const sentinels = topo.sentinelPorts.map((port) => ({ host: '127.0.0.1', port }));
    const client = createCommandClient(
      { sentinel: { sentinels, name: SENTINEL_NAME, username: 'qa-sentinel', password: 'spw' } },
      commandOptions(1000),
    ) as Redis;
    // ioredis' failover detector: one subscriber per sentinel (no public handle on it).
    type Internals = {
      connector: {
        failoverDetector?: { sentinels: { address: { port: number | string }; client: Redis }[] };
      };
    };
    const port = topo.sentinelPorts[2] as number;
    try {
      expect(await client.ping()).toBe('PONG'); // connects (through the sentinels)
      const watcher = await until(
        () =>
          (client as unknown as Internals).connector.failoverDetector?.sentinels.find(
            (x) => Number(x.address.port) === port && x.client.status === 'ready',
          )?.client,
        10_000,
        'the failover subscriber on the third sentinel',
      );
      let retries = 0;
      watcher.on('reconnecting', () => retries++);
      const doomed = new Redis({
        port,
        host: '127.0.0.1',
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      await doomed.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the reply is the socket closing
      doomed.disconnect();
      await until(() => retries >= 2, 10_000, 'two failed reconnects to the stopped sentinel');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      spy.mockRestore();
    }
    expect(printed.filter((l) => l.includes('Unhandled error event'))).toEqual([]);
  }, 30_000);
});
