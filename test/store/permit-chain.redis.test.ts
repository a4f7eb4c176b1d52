import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { waitAndConsumePermits } from '../../src/store/permit-chain.js';
import { RedisStore, type StoreLogger } from '../../src/store/redis/redis-store.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { chainSuite, instrument } from './chain-suite.js';

describe.skipIf(skipRedis)('permit chain on Redis', () => {
  const server = usePrivateRedis();

  chainSuite(
    'redis',
    async () => {
      const prefix = server.prefix();
      const consumers = await Promise.all(
        Array.from({ length: 8 }, () => createStore({ url: server.url, prefix })),
      );
      const writer = (await createStore({ url: server.url, prefix })) as RedisStore;
      return {
        consumers,
        writer,
        openSubscriptions: async () => Number(await writer.client.call('PUBSUB', 'NUMPAT')),
        close: async () => {
          await Promise.all([...consumers, writer].map((s) => s.close()));
        },
      };
    },
    10_000,
  );

  it('when the reply is delayed past the command timeout then the re-run settles it as consumed', async () => {
    const prefix = server.prefix();
    const admin = (await createStore({ url: server.url, prefix })) as RedisStore;
    const slow = await createStore({ url: server.url, prefix, commandTimeout: 50 });
    try {
      await admin.set(admin.keys.governorPermit('pz'), 'g');
      await admin.set(admin.keys.p33Permit('pz'), 'p');
      const errors: string[] = [];
      const observed = instrument(slow, { failed: (_n, err) => errors.push((err as Error).message) });
      // The server holds every script for 300 ms: the first call times out on the client but
      // still runs on the server afterwards, which is exactly the ambiguous case.
      await admin.client.call('CLIENT', 'PAUSE', '300', 'WRITE');
      const r = await waitAndConsumePermits(observed, 'pz', undefined, {
        waitMs: 0,
        stepMs: 50,
        resolveBudgetMs: 5000,
      });
      expect(errors[0]).toMatch(/timed out/i);
      expect(r).toMatchObject({ ok: true, replayed: true, attempts: 1, bodies: { governor: 'g', p33: 'p' } });
      expect(await admin.exists(admin.keys.governorPermit('pz'))).toBe(false);
    } finally {
      await slow.close();
      await admin.close();
    }
  });
});

describe.skipIf(skipRedis)('permit chain on Redis when the connection drops mid-consume', () => {
  const server = usePrivateRedis();

  it('when the connection is killed before the script ran then the re-run consumes once', async () => {
    const prefix = server.prefix();
    const admin = (await createStore({ url: server.url, prefix })) as RedisStore;
    const victim = (await createStore({ url: server.url, prefix, commandTimeout: 2000 })) as RedisStore;
    try {
      await admin.set(admin.keys.governorPermit('dk'), 'g');
      await admin.set(admin.keys.p33Permit('dk'), 'p');
      const id = String(await victim.client.call('CLIENT', 'ID'));
      const errors: string[] = [];
      const observed = instrument(victim, {
        // The script waits behind the pause; its connection dies before it can run.
        before: (n) => {
          if (n === 1) setTimeout(() => void admin.client.call('CLIENT', 'KILL', 'ID', id), 30);
        },
        failed: (_n, err) => errors.push((err as Error).message),
      });
      await admin.client.call('CLIENT', 'PAUSE', '300', 'WRITE');
      const r = await waitAndConsumePermits(observed, 'dk', undefined, { waitMs: 0, stepMs: 50 });
      expect(errors.length).toBeGreaterThan(0);
      expect(r).toMatchObject({ ok: true, replayed: false, bodies: { governor: 'g', p33: 'p' } });
      const left = await admin.mget([admin.keys.governorPermit('dk'), admin.keys.p33Permit('dk')]);
      expect(left).toEqual([null, null]);
    } finally {
      await victim.close();
      await admin.close();
    }
  });
});

describe.skipIf(skipRedis)('permit chain on Redis without keyspace notifications', () => {
  const server = usePrivateRedis({ notifyKeyspaceEvents: '', args: ['--rename-command', 'CONFIG', ''] });
  const warnings: string[] = [];
  const logger: StoreLogger = {
    warn: (_o, msg) => warnings.push(msg ?? ''),
    info: () => {},
    error: () => {},
  };

  it('when CONFIG is refused then one warning is logged and the wait polls', async () => {
    const prefix = server.prefix();
    const store = await createStore({ url: server.url, prefix, logger, pollStepMs: 25 });
    const second = await createStore({ url: server.url, prefix });
    try {
      expect(store.notificationsActive()).toBe(false);
      expect(warnings.filter((m) => /notifications are OFF/.test(m))).toHaveLength(1);
      await store.set(store.keys.governorPermit('np'), 'g');
      const late = instrument(store, {
        after: (n) => {
          if (n === 1) void second.set(store.keys.p33Permit('np'), 'p');
        },
      });
      const r = await waitAndConsumePermits(late, 'np', undefined, { waitMs: 3000, stepMs: 25 });
      expect(r).toMatchObject({ ok: true, via: 'poll' });
      if (r.ok) expect(r.attempts).toBeGreaterThanOrEqual(2);
      await server.restart();
      await until(
        async () => (await store.set('probe', '1').catch(() => false)) === true,
        15_000,
        'reconnect',
      );
      expect(await store.get('probe')).toBe('1');
      expect(store.notificationsActive()).toBe(false);
      expect(warnings.filter((m) => /notifications are OFF/.test(m))).toHaveLength(1);
    } finally {
      await store.close();
      await second.close();
    }
  });
});
