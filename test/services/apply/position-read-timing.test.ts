/**
 * The position that sizes an order is read after the last permit was written: alongside the
 * consume that notifications say will succeed (execute.ts), never from a read started before the
 * set was complete or for an attempt that did not consume.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Position } from '../../../src/exchange/port.js';
import type { ConsumeOutcome } from '../../../src/store/port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { until } from '../../helpers/wait.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import {
  HARNESS_POSITIONS,
  govBody,
  makeHarness,
  p33Body,
  planIdFor,
  proposal,
  type Harness,
} from './harness.js';

/** Runs `onRead` as each position read starts, after taking its snapshot. */
class HookedExchange extends FakeExchange {
  onRead: ((n: number) => void) | null = null;
  reads = 0;
  override position(symbol: string, opts?: { maxAgeMs?: number }): Promise<Position> {
    const read = super.position(symbol, opts);
    this.reads++;
    this.onRead?.(this.reads);
    return read;
  }
}

describe.skipIf(skipRedis)('apply: when the position is read (real Redis, exchange double)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });
  const start = async (ex: HookedExchange) => {
    h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() }, {}, ex);
    await h.service.start();
    return h;
  };
  const orderQty = (ex: FakeExchange) =>
    ex.calls
      .filter((c) => c.method === 'placeReduceOnlyMarket')
      .map((c) => (c.args[0] as { quantity: string }).quantity);

  it('when the position shrinks between the two permits then the order is sized by the position after the last one', async () => {
    const ex = new HookedExchange({ ...HARNESS_POSITIONS });
    const t = await start(ex);
    const fields = proposal('PARTIAL_50', '0.3');
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length > 0, 1000, 'the plan');
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    // P3.3 saw 0.01 and allows its half; the position is 0.006 by the time its permit is written.
    ex.setPosition('BTCUSDT', 0.006);
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    const [res] = await t.waitForResults(1);
    expect(res!.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect(ex.reads).toBe(1);
    expect(orderQty(ex)).toEqual(['0.003']);
  });

  it('when the attempt a read was started for does not consume then the order is sized by a read started for the one that did', async () => {
    const ex = new HookedExchange({ ...HARNESS_POSITIONS });
    const t = await start(ex);
    const fields = proposal('PARTIAL_50', '0.3');
    const id = planIdFor('BTCUSDT', fields);
    const p33Key = t.store.keys.p33Permit(id);
    // The first attempt cued with a read (the read starts as its consume is about to be sent)
    // finds P3.3's permit gone: deleted just before that consume runs. The position changes once
    // that read has taken its snapshot.
    const consume = t.store.consumePermits.bind(t.store);
    let dropped: ConsumeOutcome['kind'] | 'pending' | null = null;
    let readsSeen = 0;
    t.store.consumePermits = async (...args) => {
      const cued = ex.reads > readsSeen;
      readsSeen = ex.reads;
      await new Promise((r) => setImmediate(r));
      if (dropped !== null || !cued) return consume(...args);
      dropped = 'pending';
      await t.store.del([p33Key]);
      const out = await consume(...args);
      dropped = out.kind;
      return out;
    };
    ex.onRead = (n) => {
      if (n === 1) ex.setPosition('BTCUSDT', 0.006);
    };
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length > 0, 1000, 'the plan');
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    await until(() => dropped === 'missing', 2000, 'the cued attempt to find the permit gone');
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    const [res] = await t.waitForResults(1);
    expect(res!.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect(ex.reads).toBe(2);
    // Read 1 saw 0.01 (its half: 0.005); the order follows read 2's 0.006.
    expect(orderQty(ex)).toEqual(['0.003']);
  });
});
