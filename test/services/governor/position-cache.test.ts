import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ops/clock.js';
import { PositionCache } from '../../../src/services/governor/position-cache.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';

const SYMBOLS = Array.from({ length: 40 }, (_, i) => `S${i}USDT`);

function setup(bulkAfter = 4) {
  const exchange = new FakeExchange(Object.fromEntries(SYMBOLS.map((s, i) => [s, i + 1])));
  const clock = new ManualClock(1_769_342_400_000);
  const cache = new PositionCache(exchange, clock, { maxAgeMs: 1000, bulkAfter });
  const count = (m: string) => exchange.calls.filter((c) => c.method === m).length;
  return { exchange, clock, cache, count };
}

describe('governor position reads', () => {
  it('when few symbols are read then each reads its own, shared within the age', async () => {
    const { cache, clock, count } = setup();
    await Promise.all([cache.get('S0USDT'), cache.get('S0USDT'), cache.get('S1USDT')]);
    clock.advance(999);
    expect((await cache.get('S0USDT')).amount).toBe(1);
    expect(count('position')).toBe(2);
    clock.advance(1);
    await cache.get('S0USDT');
    expect([count('position'), count('positions')]).toEqual([3, 0]);
  });

  it('when many symbols are read within the age then one account-wide read serves them', async () => {
    const { cache, clock, count, exchange } = setup();
    for (const s of SYMBOLS.slice(0, 4)) await cache.get(s); // 4 own reads: busy from here
    clock.advance(10);
    const got = await Promise.all(SYMBOLS.slice(4, 30).map((s) => cache.get(s)));
    expect(got.map((p) => p.amount)).toEqual(SYMBOLS.slice(4, 30).map((_, i) => i + 5));
    const bulk = exchange.calls.find((c) => c.method === 'positions')!;
    expect((bulk.args[0] as string[]).length).toBe(5); // the four asked so far and the one that missed
    // The others were not in that read: they read their own instead of waiting for it.
    expect(count('position')).toBe(4 + 25);
    // Renewed ahead by a plan that uses it past three quarters of its age, the next read names every symbol
    // asked for, and serves them once their own reads are too old.
    clock.advance(800);
    await cache.get('S0USDT');
    clock.advance(300);
    const next = await Promise.all(SYMBOLS.slice(0, 30).map((s) => cache.get(s)));
    expect(next.map((p) => p.amount)).toEqual(SYMBOLS.slice(0, 30).map((_, i) => i + 1));
    expect([count('position'), count('positions')]).toEqual([29, 2]);
    expect((exchange.calls.at(-1)!.args[0] as string[]).length).toBe(30);
  });

  it('when the account-wide read is past three quarters of its age then it is renewed ahead and plans keep using the current one', async () => {
    const { cache, clock, count, exchange } = setup();
    for (const s of SYMBOLS.slice(0, 5)) await cache.get(s);
    expect(count('positions')).toBe(1);
    exchange.setPosition('S0USDT', 0.5);
    clock.advance(700);
    expect((await cache.get('S1USDT')).amount).toBe(2); // not yet renewed
    expect(count('positions')).toBe(1);
    clock.advance(100);
    expect((await cache.get('S1USDT')).amount).toBe(2); // served now, renewal sent
    expect(count('positions')).toBe(2);
    await Promise.resolve();
    clock.advance(200); // the first read is 1,000 ms old, the renewal 200 ms
    expect((await cache.get('S0USDT')).amount).toBe(0.5);
    expect([count('position'), count('positions')]).toEqual([4, 2]);
  });

  it('when the account-wide read fails then plans read their own and no account-wide read is tried for a while', async () => {
    const { cache, clock, count, exchange } = setup();
    for (const s of SYMBOLS.slice(0, 4)) await cache.get(s);
    clock.advance(500);
    exchange.failWith.positions = 'exchange_unavailable';
    expect((await cache.get('S5USDT')).amount).toBe(6);
    expect([count('position'), count('positions')]).toEqual([5, 1]);
    delete exchange.failWith.positions;
    for (const s of SYMBOLS.slice(6, 12)) await cache.get(s);
    expect(count('positions')).toBe(1);
    clock.advance(10_000);
    for (const s of SYMBOLS.slice(12, 17)) await cache.get(s);
    expect(count('positions')).toBe(2);
  });

  it('when a symbol own read fails then it is not reused', async () => {
    const { cache, count, exchange } = setup();
    exchange.failWith.position = 'exchange_unavailable';
    await expect(cache.get('S0USDT')).rejects.toThrow();
    delete exchange.failWith.position;
    expect((await cache.get('S0USDT')).amount).toBe(1);
    expect(count('position')).toBe(2);
  });
});
