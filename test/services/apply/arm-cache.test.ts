import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/ops/clock.js';
import { ArmStateCache } from '../../../src/services/apply/arm-cache.js';
import { parseArmState, setArmState } from '../../../src/services/arm-state.js';
import { createStore } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { until, sleep } from '../../helpers/wait.js';

/** Counts the arm-hash reads that reach the store; `epoch` can be bumped by the test. */
function counting(store: Store): { store: Store; reads: () => number; bumpEpoch: () => void } {
  let reads = 0;
  let bump = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'hgetall')
        return (key: string) => {
          if (key === target.keys.armState()) reads++;
          return target.hgetall(key);
        };
      if (prop === 'notificationEpoch') return () => target.notificationEpoch() + bump;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, reads: () => reads, bumpEpoch: () => void bump++ };
}

const disarm = (store: Store) =>
  setArmState(store, { armed: false, reason: 'test', by: 'operator', atMs: Date.now() });
const arm = (store: Store) =>
  setArmState(store, { armed: true, reason: 'test', by: 'operator', atMs: Date.now() });

describe.skipIf(skipRedis)('ArmStateCache on Redis', () => {
  const server = usePrivateRedis();

  async function rig(maxAgeMs = 60_000) {
    const store = await createStore({ url: server.url, prefix: server.prefix() });
    const operator = await createStore({ url: server.url, prefix: store.keys.prefix });
    const c = counting(store);
    const cache = new ArmStateCache(c.store, systemClock, maxAgeMs);
    await cache.start();
    const close = async () => {
      await cache.stop();
      await store.close();
      await operator.close();
    };
    return { ...c, cache, operator, close };
  }

  it('when nothing changed then the arm state is read from Redis once and then served from memory', async () => {
    const r = await rig();
    try {
      await arm(r.operator);
      expect(parseArmState(await r.cache.read()).armed).toBe(true);
      for (let i = 0; i < 20; i++) expect(parseArmState(await r.cache.read()).armed).toBe(true);
      expect(r.reads()).toBe(1);
    } finally {
      await r.close();
    }
  });

  it('when an operator disarms from another connection then the next checks see it (notification, not expiry)', async () => {
    // A minute of max age: only the invalidation can make the change visible within the wait.
    const r = await rig(60_000);
    try {
      await arm(r.operator);
      expect(parseArmState(await r.cache.read()).armed).toBe(true);
      await disarm(r.operator);
      await until(async () => !parseArmState(await r.cache.read()).armed, 2000, 'disarm seen');
      expect(r.reads()).toBeGreaterThanOrEqual(2);
      // The arm key deleted (the fleet has none): armed again by default, also seen.
      await r.operator.del([r.operator.keys.armState()]);
      await until(async () => parseArmState(await r.cache.read()).armed, 2000, 'default seen');
    } finally {
      await r.close();
    }
  });

  it('when the notification connection was replaced then the copy is not trusted (a change may have been missed)', async () => {
    const r = await rig();
    try {
      await r.cache.read();
      await r.cache.read();
      expect(r.reads()).toBe(1);
      r.bumpEpoch();
      await r.cache.read();
      expect(r.reads()).toBe(2);
      await r.cache.read();
      expect(r.reads()).toBe(2); // the new connection vouches for the fresh copy
    } finally {
      await r.close();
    }
  });

  it('when the copy is older than the max age then Redis is read again', async () => {
    const r = await rig(30);
    try {
      await r.cache.read();
      await sleep(60);
      await r.cache.read();
      expect(r.reads()).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('when the max age is 0 then every check reads Redis', async () => {
    const r = await rig(0);
    try {
      for (let i = 0; i < 3; i++) await r.cache.read();
      expect(r.reads()).toBe(3);
    } finally {
      await r.close();
    }
  });
});

describe('ArmStateCache without notifications', () => {
  it('when the store sends no notifications then every check reads the store', async () => {
    const store = await createStore({ memory: true });
    const c = counting(store);
    const silent = new Proxy(c.store, {
      get(target, prop, receiver) {
        if (prop === 'notificationsActive') return () => false;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const cache = new ArmStateCache(silent, systemClock, 60_000);
    await cache.start();
    for (let i = 0; i < 3; i++) await cache.read();
    expect(c.reads()).toBe(3);
    await cache.stop();
    await store.close();
  });

  it('when a change lands while a read is in flight then that read is not kept', async () => {
    const store = await createStore({ memory: true });
    let release: (() => void) | null = null;
    let reads = 0;
    const slow = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'hgetall')
          return async (key: string) => {
            reads++;
            const v = await target.hgetall(key);
            if (reads === 1) await new Promise<void>((r) => (release = r));
            return v;
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const cache = new ArmStateCache(slow, systemClock, 60_000);
    await cache.start();
    const first = cache.read(); // reads "armed" (no key), then stalls
    await until(() => release !== null, 5000, 'first read in flight');
    await disarm(store); // its event arrives while the read is in flight
    release!();
    expect(parseArmState(await first).armed).toBe(true); // what it read, but not kept:
    expect(parseArmState(await cache.read()).armed).toBe(false);
    expect(reads).toBe(2);
    await cache.stop();
    await store.close();
  });
});
