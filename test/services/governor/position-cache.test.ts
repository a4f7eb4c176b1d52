import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ops/clock.js';
import { PositionCache } from '../../../src/services/governor/position-cache.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';

function setup() {
  const exchange = new FakeExchange({ S0USDT: 1, S1USDT: 2 });
  const clock = new ManualClock(1_769_342_400_000);
  let reads = 0;
  const cache = new PositionCache(exchange, clock, 1000, () => reads++);
  const count = () => exchange.calls.filter((c) => c.method === 'position').length;
  return { exchange, clock, cache, count, reads: () => reads };
}

describe('governor position reads', () => {
  it('when a symbol is read again within the age then the read is shared; after it, read again', async () => {
    const { cache, clock, count, reads, exchange } = setup();
    await Promise.all([cache.get('S0USDT'), cache.get('S0USDT'), cache.get('S1USDT')]);
    clock.advance(999);
    expect((await cache.get('S0USDT')).amount).toBe(1);
    expect(count()).toBe(2);
    clock.advance(1);
    await cache.get('S0USDT');
    expect([count(), reads()]).toEqual([3, 3]);
    expect(exchange.calls.some((c) => c.method === 'positions')).toBe(false);
  });

  it('when a read fails then it is not reused', async () => {
    const { cache, count, exchange } = setup();
    exchange.failWith.position = 'exchange_unavailable';
    await expect(cache.get('S0USDT')).rejects.toThrow();
    delete exchange.failWith.position;
    expect((await cache.get('S0USDT')).amount).toBe(1);
    expect(count()).toBe(2);
  });

  it('when the adapter answers from an earlier account-wide read then the answer ages from that read, and the age is passed on', async () => {
    const { cache, clock, count, exchange } = setup();
    const read = exchange.position.bind(exchange);
    const asked: unknown[] = [];
    exchange.position = async (symbol, opts) => {
      asked.push(opts);
      return { ...(await read(symbol)), ageMs: 600 };
    };
    await cache.get('S0USDT');
    expect(asked).toEqual([{ maxAgeMs: 1000 }]);
    clock.advance(399);
    await cache.get('S0USDT');
    expect(count()).toBe(1);
    clock.advance(1); // 1,000 ms since the read started, 400 since the call
    await cache.get('S0USDT');
    expect(count()).toBe(2);
  });
});
