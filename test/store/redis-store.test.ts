import { describe, expect, it } from 'vitest';
import { SUBSCRIBE_LINGER_MS } from '../../src/store/redis/key-events.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { createStore } from '../../src/store/index.js';
import { skipRedis, startRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { storeContract } from './contract.js';
import { sleep, until } from '../helpers/wait.js';

describe.skipIf(skipRedis)('RedisStore', () => {
  const server = usePrivateRedis();

  storeContract('redis', async () => {
    const store = (await createStore({ url: server.url, prefix: server.prefix() })) as RedisStore;
    return { store, advance: sleep };
  });

  it('when every ledger of a seed batch exists then no script is sent, and a missing one still gets the script', async () => {
    const store = (await createStore({ url: server.url, prefix: server.prefix() })) as RedisStore;
    try {
      const evalshas = async () => {
        const info = (await store.client.info('commandstats')) as string;
        // A script's first call on a connection goes as EVAL (ioredis), the later ones as EVALSHA.
        const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
        return calls('eval') + calls('evalsha');
      };
      const ledgers = ['A', 'B', 'C'].map((s) => ({
        ledgerKey: store.keys.positionLedger(`${s}USDT`),
        fields: { last_known_amt: '1', seeded_at: '1' },
      }));
      const first = await evalshas();
      expect(await store.seedLedgers({ ledgers, ttlSec: 600 })).toEqual([true, true, true]);
      const second = await evalshas();
      expect(second).toBeGreaterThan(first);
      expect(await store.seedLedgers({ ledgers, ttlSec: 600 })).toEqual([false, false, false]);
      expect(await evalshas()).toBe(second);
      await store.client.del(ledgers[1]!.ledgerKey);
      expect(await store.seedLedgers({ ledgers, ttlSec: 600 })).toEqual([false, true, false]);
      expect(await evalshas()).toBeGreaterThan(second);
    } finally {
      await store.close();
    }
  });

  it('when the url names a database then keys and notifications use that database', async () => {
    const store = (await createStore({ url: `${server.url}/3`, prefix: server.prefix() })) as RedisStore;
    const other = (await createStore({ url: server.url, prefix: store.keys.prefix })) as RedisStore;
    try {
      expect(store.db).toBe(3);
      const heard: string[] = [];
      const off = await store.onKeyChange(store.keys.permitPattern(), (c) => heard.push(c.key));
      await other.set(store.keys.governorPermit('x'), 'db0');
      await store.set(store.keys.governorPermit('y'), 'db3');
      await until(() => heard.includes(store.keys.governorPermit('y')), 5000, 'db3 event');
      expect(heard).not.toContain(store.keys.governorPermit('x'));
      expect(await other.get(store.keys.governorPermit('y'))).toBeNull();
      await off();
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('when the server already has other notification flags then ours are added to them', async () => {
    const admin = (await createStore({ url: server.url })) as RedisStore;
    await admin.client.config('SET', 'notify-keyspace-events', 'El');
    const store = (await createStore({ url: server.url })) as RedisStore;
    const [, flags] = (await admin.client.config('GET', 'notify-keyspace-events')) as string[];
    for (const f of ['E', 'l', 'K', '$', 'h', 'g', 'x']) expect(flags).toContain(f);
    expect(store.notificationsActive()).toBe(true);
    await store.close();
    await admin.close();
  });

  it('when the last waiter of a pattern leaves then the server drops the subscription after the linger', async () => {
    const store = (await createStore({ url: server.url, prefix: server.prefix() })) as RedisStore;
    const numpat = async () => Number(((await store.client.call('PUBSUB', 'NUMPAT')) as number) ?? 0);
    const before = await numpat();
    const offs = await Promise.all(
      Array.from({ length: 5 }, () => store.onKeyChange(store.keys.permitPattern(), () => {})),
    );
    expect(await numpat()).toBe(before + 1);
    for (const off of offs.slice(1)) await off();
    expect(await numpat()).toBe(before + 1);
    await offs[0]!();
    // Still subscribed during the linger: a waiter arriving now reuses the subscription.
    expect(await numpat()).toBe(before + 1);
    const again = await store.onKeyChange(store.keys.permitPattern(), () => {});
    await again();
    await sleep(SUBSCRIBE_LINGER_MS / 2);
    expect(await numpat()).toBe(before + 1);
    const deadline = Date.now() + SUBSCRIBE_LINGER_MS * 3;
    while ((await numpat()) !== before && Date.now() < deadline) await sleep(25);
    expect(await numpat()).toBe(before);
    await store.close();
  });

  it('when many commands are sent in one turn then they share socket writes and each gets its own reply', async () => {
    const store = (await createStore({ url: server.url, prefix: server.prefix() })) as RedisStore;
    try {
      const socket = (store.client as unknown as { stream: import('node:net').Socket }).stream;
      const keys = Array.from({ length: 500 }, (_, i) => `${store.keys.prefix}burst:${i}`);
      const writes = await Promise.all(keys.map((k, i) => store.set(k, String(i))));
      expect(writes.every(Boolean)).toBe(true);
      // Count what reaches the socket's implementation (a write, or one writev of many chunks).
      const impl = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
      const calls = { write: 0, writev: 0 };
      const [w, wv] = [impl._write.bind(socket), impl._writev.bind(socket)];
      impl._write = (...a) => (calls.write++, w(...a));
      impl._writev = (...a) => (calls.writev++, wv(...a));
      const reads = Promise.all(keys.map((k) => store.get(k)));
      // Nothing has left yet: the turn's commands wait, corked, for the turn to end.
      expect(socket.writableCorked).toBe(1);
      expect(await reads).toEqual(keys.map((_, i) => String(i)));
      expect(socket.writableCorked).toBe(0);
      expect(calls).toEqual({ write: 0, writev: 1 });
    } finally {
      await store.close();
    }
  });

  it('when a pattern is unsubscribed and subscribed again back to back then its events still arrive', async () => {
    // Write coalescing is for the command connection only. ioredis' auto-pipelining, tried on every
    // connection, exempts PSUBSCRIBE but not PUNSUBSCRIBE (its exemption list spells it
    // "unpsubscribe"), so the PUNSUBSCRIBE of the last waiter went out after the next waiter's
    // PSUBSCRIBE and silently dropped it: that waiter heard nothing.
    const store = (await createStore({ url: server.url, prefix: server.prefix() })) as RedisStore;
    try {
      const off = await store.onKeyChange(store.keys.permitPattern(), () => {});
      const sub = (store as unknown as { sub: RedisStore['client'] }).sub;
      expect(sub.options.enableAutoPipelining).toBe(false);
      const channel = `__keyspace@0__:${store.keys.permitPattern()}`;
      const heard: string[] = [];
      sub.on('pmessage', (_p: string, ch: string) => heard.push(ch));
      await Promise.all([sub.punsubscribe(channel), sub.psubscribe(channel)]);
      const key = store.keys.governorPermit('resubscribed');
      await store.set(key, 'g');
      await until(() => heard.includes(`__keyspace@0__:${key}`), 5000, 'event after re-subscribe');
      await off();
    } finally {
      await store.close();
    }
  });

  it('when the server dies under a blocked read then the read settles instead of hanging', async () => {
    const own = await startRedis();
    const store = (await createStore({ url: own.url, prefix: own.prefix() })) as RedisStore;
    try {
      await store.createGroup('st', 'g', '$');
      const reading = store.readGroup('st', 'g', 'c', { count: 1, blockMs: 500 }).then(
        (entries) => ({ entries }),
        (err: Error) => ({ error: err.message }),
      );
      await sleep(50);
      await own.restart();
      expect(await reading).toMatchObject({ entries: [] });
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('when the server restarts then the subscription and the notification flags come back', async () => {
    const own = await startRedis();
    const store = (await createStore({ url: own.url, prefix: own.prefix() })) as RedisStore;
    try {
      const heard: string[] = [];
      const off = await store.onKeyChange(store.keys.permitPattern(), (c) => heard.push(c.key));
      await own.restart();
      const key = store.keys.p33Permit('after-restart');
      await until(
        async () => {
          await store.set(key, 'v').catch(() => false);
          return heard.includes(key);
        },
        15_000,
        'notifications after restart',
      );
      expect(store.notificationsActive()).toBe(true);
      await off();
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
