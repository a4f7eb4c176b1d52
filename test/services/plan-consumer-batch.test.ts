import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { PlanConsumer } from '../../src/services/plan-consumer.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { StreamEntry } from '../../src/store/port.js';

function setup(handle: (e: StreamEntry) => Promise<void>) {
  const store = new MemoryStore({ clock: new ManualClock(1_000), sweepMs: 0 });
  const acks: string[][] = [];
  const ack = store.ack.bind(store);
  store.ack = async (stream, group, ids) => {
    acks.push([...ids]);
    return ack(stream, group, ids);
  };
  const consumer = new PlanConsumer({
    store,
    stream: store.keys.planStream(),
    group: 'governor',
    consumer: 'c1',
    handle,
    giveUp: async () => {},
    logger: captureLogger().logger,
  });
  return { store, consumer, acks };
}

describe('plan consumer: acknowledgements per batch', () => {
  it('when a batch is handled then every entry is acknowledged in one XACK, after its handler returned', async () => {
    const handled: string[] = [];
    const { store, consumer, acks } = setup(async (e) => {
      await new Promise((r) => setTimeout(r, 1));
      handled.push(e.id);
    });
    await consumer.ensureGroup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.xadd(store.keys.planStream(), { plan_id: `p${i}` }));
    expect(await consumer.pollOnce(0)).toBe(5);
    expect(acks).toEqual([ids]);
    expect([...handled].sort()).toEqual([...ids].sort());
    expect((await store.groups(store.keys.planStream()))[0]!.pending).toBe(0);
  });

  it('when one entry of a batch fails then the others are acknowledged and it alone stays pending', async () => {
    const { store, consumer, acks } = setup(async (e) => {
      if (e.fields.plan_id === 'bad') throw new Error('Connection is closed.');
    });
    await consumer.ensureGroup();
    const good1 = await store.xadd(store.keys.planStream(), { plan_id: 'g1' });
    await store.xadd(store.keys.planStream(), { plan_id: 'bad' });
    const good2 = await store.xadd(store.keys.planStream(), { plan_id: 'g2' });
    await expect(consumer.pollOnce(0)).rejects.toThrow('Connection is closed');
    expect(acks).toEqual([[good1, good2]]);
    expect((await store.groups(store.keys.planStream()))[0]!.pending).toBe(1);
  });

  it('when nothing was read then nothing is acknowledged', async () => {
    const { consumer, acks } = setup(async () => {});
    await consumer.ensureGroup();
    expect(await consumer.pollOnce(0)).toBe(0);
    expect(acks).toEqual([]);
  });
});
