/**
 * acquireMany (acquireLeases-N.lua on Redis): the batched acquire-or-renew a replica runs every
 * ttl/3 over all its symbols, with the same outcomes as acquire() one lease at a time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/ops/clock.js';
import { createStore, MemoryStore, type RedisStore } from '../../src/store/index.js';
import { keySpace } from '../../src/store/keys.js';
import {
  LEASE_BATCH,
  LEASE_CODES,
  leaseBatches,
  parseLeasesReply,
} from '../../src/store/redis/lease-scripts.js';
import { luaDir } from '../../src/store/redis/scripts.js';
import type { Store } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';

describe('acquireLeases-N', () => {
  it('when its header is read then it declares exactly the lease codes and returns only those', () => {
    const lua = readFileSync(join(luaDir(), 'acquireLeases-N.lua'), 'utf8');
    const header = lua.slice(0, lua.indexOf(']]'));
    const body = lua.slice(lua.indexOf(']]'));
    const declared = [...(header.split('Output:')[1] ?? '').matchAll(/^\s+'([a-z_]+)'/gm)].map((m) => m[1]);
    const returned = [...new Set([...body.matchAll(/= '([a-z_]+)'/g)].map((m) => m[1]))];
    expect(declared.sort()).toEqual([...LEASE_CODES].sort());
    expect(returned.sort()).toEqual([...LEASE_CODES].sort());
    for (const ref of new Set([...body.matchAll(/(KEYS|ARGV)\[(\d+)\]/g)].map((m) => m[0]))) {
      expect(header).toContain(ref);
    }
  });

  it('when keys are batched in cluster key mode then each batch holds one hash tag and at most the batch size', () => {
    const k = keySpace({ cluster: true });
    const keys = ['A', 'B', 'A', 'C', 'A'].map((s) => k.symbolLease(s));
    const batches = leaseBatches(keys, true, 2);
    expect(batches).toEqual([[0, 2], [4], [1], [3]]);
    const plain = keySpace();
    const many = Array.from({ length: LEASE_BATCH * 2 + 1 }, (_, i) => plain.symbolLease(`S${i}`));
    expect(leaseBatches(many, false).map((b) => b.length)).toEqual([LEASE_BATCH, LEASE_BATCH, 1]);
  });

  it('when a reply does not have one known code per key then it is refused', () => {
    expect(parseLeasesReply(['acquired', 'held'], 2)).toEqual(['acquired', 'held']);
    expect(() => parseLeasesReply(['acquired'], 2)).toThrow(/unexpected reply/);
    expect(() => parseLeasesReply(['acquired', 'mine'], 2)).toThrow(/unexpected reply/);
    expect(() => parseLeasesReply(null, 0)).toThrow(/unexpected reply/);
  });
});

function suite(name: string, make: () => Promise<Store>, flush?: (s: Store) => Promise<void>) {
  describe(`acquireMany: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await make();
    });
    afterAll(() => store.close());

    it('when leases are free, ours or another token’s then they are acquired, renewed or left alone', async () => {
      const [free, ours, theirs] = ['FREEUSDT', 'OURSUSDT', 'THEIRSUSDT'].map((s) =>
        store.keys.symbolLease(s),
      );
      expect((await store.leases.acquire(ours!, 'me', 1000)).kind).toBe('acquired');
      expect((await store.leases.acquire(theirs!, 'other', 1000)).kind).toBe('acquired');
      if (flush) await flush(store);
      expect(await store.leases.acquireMany([free!, ours!, theirs!], 'me', 60_000)).toEqual([
        'acquired',
        'renewed',
        'held',
      ]);
      expect((await store.leases.acquire(free!, 'other', 1000)).kind).toBe('held');
      expect((await store.leases.acquire(ours!, 'other', 1000)).kind).toBe('held');
      // The other token's lease kept its own TTL and stays its own.
      const held = await store.leases.acquire(theirs!, 'me', 1000);
      expect(held.kind).toBe('held');
      if (held.kind === 'held') expect(held.pttlMs).toBeLessThanOrEqual(1000);
      expect((await store.leases.acquire(theirs!, 'other', 1000)).kind).toBe('renewed');
    });

    it('when more leases than one batch are renewed then every one is acquired, then renewed', async () => {
      const keys = Array.from({ length: LEASE_BATCH + 37 }, (_, i) => store.keys.symbolLease(`MANY${i}USDT`));
      expect(new Set(await store.leases.acquireMany(keys, 'bulk', 60_000))).toEqual(new Set(['acquired']));
      const again = await store.leases.acquireMany(keys, 'bulk', 60_000);
      expect(again).toHaveLength(keys.length);
      expect(new Set(again)).toEqual(new Set(['renewed']));
      expect(new Set(await store.leases.acquireMany(keys, 'intruder', 60_000))).toEqual(new Set(['held']));
    });
  });
}

suite('memory store', async () => new MemoryStore({ clock: systemClock }));

describe.skipIf(skipRedis)('acquireMany on Redis', () => {
  const server = usePrivateRedis();
  suite(
    'redis',
    () => createStore({ url: server.url, prefix: server.prefix() }),
    async (s) => void (await (s as RedisStore).client.script('FLUSH')),
  );

  it('when a lease key holds something that is not a lease then it is left alone', async () => {
    const s = await createStore({ url: server.url, prefix: server.prefix() });
    try {
      const key = s.keys.symbolLease('ODDUSDT');
      await s.hset(key, { not: 'a lease' });
      expect(await s.leases.acquireMany([key], 'me', 5000)).toEqual(['held']);
      expect(await s.hgetall(key)).toEqual({ not: 'a lease' });
    } finally {
      await s.close();
    }
  });
});
