/**
 * Symbol leases and the fenced intent write, on Redis (scripts called directly, also after
 * SCRIPT FLUSH) and on the memory store: one owner per symbol, takeover after a release or
 * after the TTL, and no intent written by a replica whose lease is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { SymbolLeases } from '../../src/services/apply/lease.js';
import { storeIntents } from '../../src/services/apply/intents.js';
import { INTENT_CODES, LEASE_CODES, RELEASE_CODES } from '../../src/store/redis/lease-scripts.js';
import { luaDir } from '../../src/store/redis/scripts.js';
import { createStore, MemoryStore, type RedisStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../helpers/wait.js';

const quiet = { info: () => {}, warn: () => {} };

function suite(name: string, make: () => Promise<Store>, flush?: (s: Store) => Promise<void>) {
  describe(name, () => {
    let store: Store;
    beforeAll(async () => {
      store = await make();
    });
    afterAll(() => store.close());
    /** The intent writer apply uses: through `owner`'s lease fence. */
    const intents = (owner: SymbolLeases) =>
      storeIntents({ store, ownership: owner, logger: captureLogger().logger, clock: systemClock }, 60);

    it('when a lease is free then the first token acquires it, renews it, and a second token is told it is held', async () => {
      const key = store.keys.symbolLease('BTCUSDT');
      expect(await store.leases.acquire(key, 'a', 2000)).toEqual({ kind: 'acquired' });
      expect(await store.leases.acquire(key, 'a', 2000)).toEqual({ kind: 'renewed' });
      expect(await store.leases.holds(key, 'a')).toBe(true);
      expect(await store.leases.holds(key, 'b')).toBe(false);
      const held = await store.leases.acquire(key, 'b', 2000);
      expect(held.kind).toBe('held');
      expect(await store.leases.release(key, 'b')).toBe(false);
      expect(await store.leases.release(key, 'a')).toBe(true);
      expect((await store.leases.acquire(key, 'b', 2000)).kind).toBe('acquired');
      expect(await store.leases.holds(key, 'a')).toBe(false);
    });

    const intentKeys = (planId: string, symbol: string) => ({
      intent: store.keys.orderIntent(planId),
      lease: store.keys.symbolLease(symbol),
      receipt: store.keys.permitReceipt(planId),
    });

    it('when the lease token no longer matches then no intent is written; with it, one intent, once', async () => {
      const keys = intentKeys('p1', 'ETHUSDT');
      const { intent, lease } = keys;
      await store.leases.acquire(lease, 'owner', 5000);
      expect(await store.leases.createIntent(keys, 'paused', { state: 'sending' }, 60)).toBe('lease_lost');
      expect(await store.hgetall(intent)).toEqual({});
      if (flush) await flush(store);
      expect(
        await store.leases.createIntent(keys, 'owner', { state: 'sending', step: 'CLOSE_FULL' }, 60),
      ).toBe('written');
      expect(await store.leases.createIntent(keys, 'owner', { state: 'other' }, 60)).toBe('intent_exists');
      expect(await store.hgetall(intent)).toEqual({ state: 'sending', step: 'CLOSE_FULL' });
      expect(await store.pttl(intent)).toBeGreaterThan(0);
    });

    it('when a lease expires then another token acquires it and the old owner is fenced', async () => {
      const lease = store.keys.symbolLease('SOLUSDT');
      await store.leases.acquire(lease, 'old', 60);
      await sleep(120);
      expect((await store.leases.acquire(lease, 'new', 5000)).kind).toBe('acquired');
      expect(
        await store.leases.createIntent(intentKeys('p2', 'SOLUSDT'), 'old', { state: 'sending' }, 60),
      ).toBe('lease_lost');
    });

    it('when an intent follows a consume then it is written only if that consume took the permits', async () => {
      const permits = (id: string) => [store.keys.governorPermit(id), store.keys.p33Permit(id)];
      const grant = (id: string) =>
        Promise.all(permits(id).map((key) => store.set(key, '{"ok":true}', { ttlSec: 60 })));
      const consume = (id: string, token: string) =>
        store.consumePermits(permits(id), store.keys.permitReceipt(id), token, 60);
      const create = (id: string, token: string) =>
        store.leases.createIntent(intentKeys(id, 'XRPUSDT'), null, { state: 'sending' }, 60, token);
      // Sent right behind its consume, before that consume's answer is read.
      await grant('c1');
      const [consumed, created] = await Promise.all([consume('c1', 't1'), create('c1', 't1')]);
      expect(consumed.kind).toBe('consumed');
      expect(created).toBe('written');
      expect(await store.hgetall(store.keys.orderIntent('c1'))).toEqual({ state: 'sending' });
      // A consume that found a permit missing: no receipt, no intent.
      await store.set(permits('c2')[0]!, '{"ok":true}', { ttlSec: 60 });
      const [missing, notWritten] = await Promise.all([consume('c2', 't2'), create('c2', 't2')]);
      expect(missing.kind).toBe('missing');
      expect(notWritten).toBe('not_consumed');
      // Another attempt took the permits: the receipt holds its token, not ours.
      await grant('c3');
      await consume('c3', 'other');
      expect(await create('c3', 't3')).toBe('not_consumed');
      expect(await store.hgetall(store.keys.orderIntent('c2'))).toEqual({});
      expect(await store.hgetall(store.keys.orderIntent('c3'))).toEqual({});
      // A receipt that is not ours in shape (JSON without a token, or not JSON) is no consume of ours.
      await store.set(store.keys.permitReceipt('c4'), 'garbage', { ttlSec: 60 });
      expect(await create('c4', 't4')).toBe('not_consumed');
    });

    it('when two replicas lease the same symbols then each symbol has one owner, and a halted owner is replaced after its TTL', async () => {
      const symbols = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT'];
      const a = new SymbolLeases(store, symbols, { ttlMs: 300, clock: systemClock, logger: quiet });
      const b = new SymbolLeases(store, symbols, { ttlMs: 300, clock: systemClock, logger: quiet });
      await a.start();
      await b.start();
      try {
        for (const s of symbols) expect(Number(a.owns(s)) + Number(b.owns(s))).toBe(1);
        expect(a.owned()).toEqual(symbols);
        a.halt(); // a crash: no release
        expect(await intents(a).create('p3', 'AAAUSDT', { state: 'sending' })).toBe('written');
        await sleep(450);
        expect(a.owns('AAAUSDT')).toBe(false);
        expect(b.owned()).toEqual(symbols);
        expect(await intents(a).create('p4', 'BBBUSDT', { state: 'sending' })).toBe('lease_lost');
        expect(await intents(b).create('p4', 'BBBUSDT', { state: 'sending' })).toBe('written');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    it('when the owner stops gracefully then its leases are released at once', async () => {
      const a = new SymbolLeases(store, ['DDDUSDT'], { ttlMs: 60_000, clock: systemClock, logger: quiet });
      const b = new SymbolLeases(store, ['DDDUSDT'], {
        ttlMs: 60_000,
        renewEveryMs: 20,
        clock: systemClock,
        logger: quiet,
      });
      await a.start();
      await b.start();
      expect(b.owns('DDDUSDT')).toBe(false);
      await a.stop();
      await sleep(80);
      expect(b.owns('DDDUSDT')).toBe(true);
      await b.stop();
    });
  });
}

suite('leases on the memory store', async () => new MemoryStore({ clock: systemClock }));

describe.skipIf(skipRedis)('leases on Redis', () => {
  const server = usePrivateRedis();
  suite(
    'redis',
    () => createStore({ url: server.url, prefix: server.prefix() }),
    async (s) => {
      await (s as RedisStore).client.script('FLUSH');
    },
  );
});

describe('lease script headers', () => {
  it.each([
    ['acquireLease-1.lua', LEASE_CODES],
    ['releaseLease-1.lua', RELEASE_CODES],
    ['createIntent-3.lua', INTENT_CODES],
  ])('when %s is read then every code in its header has a case in TypeScript', (file, codes) => {
    const lua = readFileSync(join(luaDir(), file), 'utf8');
    const header = lua.slice(0, lua.indexOf(']]'));
    const declared = [...header.matchAll(/\{'([a-z_]+)'/g)].map((m) => m[1]);
    expect([...declared].sort()).toEqual([...codes].sort());
  });
});
