import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { planStreamConsumer } from '../../src/services/plan-reader.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { StreamEntry } from '../../src/store/port.js';
import { memoryPlanConsumer } from '../helpers/plan-consumer.js';
import { sleep, until } from '../helpers/wait.js';

function setup(handle: (e: StreamEntry) => Promise<void>) {
  const { store, consumer } = memoryPlanConsumer(handle);
  const acks: string[][] = [];
  const ack = store.ack.bind(store);
  store.ack = async (stream, group, ids) => {
    acks.push([...ids]);
    return ack(stream, group, ids);
  };
  return { store, consumer, acks };
}

describe('plan consumer: acknowledgements per batch', () => {
  it('when a batch is handled then every entry is acknowledged in one XACK, after its handler returned', async () => {
    const handled: string[] = [];
    const { store, consumer, acks } = setup(async (e) => {
      await sleep(1);
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

/** A handler whose entries wait until released, recording what started and what finished. */
function gatedHandler(gated: (e: StreamEntry) => boolean) {
  const started: string[] = [];
  const finished: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const handle = async (e: StreamEntry) => {
    started.push(e.fields.plan_id!);
    if (gated(e)) await gate;
    finished.push(e.fields.plan_id!);
  };
  return { handle, started, finished, release: () => open() };
}

function loopSetup(
  handle: (e: StreamEntry) => Promise<void>,
  extra: { maxInFlight?: number; claimEveryMs?: number } = {},
) {
  const { store, consumer, clock } = memoryPlanConsumer(handle, {
    blockMs: 20,
    sleep: async () => {},
    ...extra,
  });
  const add = (planId: string) => store.xadd(store.keys.planStream(), { plan_id: planId });
  const pending = async () => (await store.groups(store.keys.planStream()))[0]?.pending ?? -1;
  return { store, consumer, clock, add, pending };
}

describe('plan consumer loop: reading ahead of a batch in flight', () => {
  it('when a batch waits on a slow handler then an entry added meanwhile is read and handled without waiting for it', async () => {
    const h = gatedHandler((e) => e.fields.plan_id === 'slow');
    const { consumer, add, pending } = loopSetup(h.handle);
    await consumer.ensureGroup();
    consumer.start();
    await add('slow');
    await until(() => h.started.includes('slow'), 2000, 'slow entry started');
    await add('quick');
    await until(
      () => h.finished.includes('quick'),
      2000,
      'quick entry handled while the slow one is in flight',
    );
    expect(h.finished).toEqual(['quick']);
    h.release();
    await until(() => h.finished.includes('slow'), 2000, 'slow entry finished');
    await consumer.stop();
    expect(await pending()).toBe(0);
  });

  it('when maxInFlight entries are in flight then the loop reads no more until one batch finishes', async () => {
    const h = gatedHandler((e) => e.fields.plan_id !== 'third');
    const { consumer, add, pending } = loopSetup(h.handle, { maxInFlight: 2 });
    await consumer.ensureGroup();
    consumer.start();
    await add('first');
    await until(() => h.started.length === 1, 2000, 'first started');
    await add('second');
    await until(() => h.started.length === 2, 2000, 'second started');
    await add('third');
    await sleep(100);
    expect(h.started).toEqual(['first', 'second']);
    h.release();
    await until(() => h.finished.includes('third'), 2000, 'third handled after the others finished');
    await consumer.stop();
    expect(await pending()).toBe(0);
  });

  it('when an authority is given maxInFlight (GOV_MAX_IN_FLIGHT, P33_MAX_IN_FLIGHT) then its plan-stream consumer keeps to it', async () => {
    const h = gatedHandler((e) => e.fields.plan_id === 'first');
    const store = new MemoryStore({ clock: new ManualClock(1_000), sweepMs: 0 });
    const logger = captureLogger().logger;
    const consumer = planStreamConsumer(
      { store, logger, blockMs: 20, maxInFlight: 1 },
      'governor',
      'gov',
      h.handle,
      async () => {},
    );
    const add = (planId: string) => store.xadd(store.keys.planStream(), { plan_id: planId });
    await consumer.ensureGroup();
    consumer.start();
    await add('first');
    await until(() => h.started.length === 1, 2000, 'first started');
    await add('second');
    await sleep(100);
    expect(h.started).toEqual(['first']);
    h.release();
    await until(() => h.finished.includes('second'), 2000, 'second handled once the first finished');
    await consumer.stop();
  });

  it('when a batch fails on an outage then recovery waits for the batches in flight and handles each entry once more at most', async () => {
    const calls = new Map<string, number>();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { consumer, add, pending } = loopSetup(async (e) => {
      const id = e.fields.plan_id!;
      calls.set(id, (calls.get(id) ?? 0) + 1);
      if (id === 'held') await gate;
      if (id === 'flaky' && calls.get(id) === 1) throw new Error('Connection is closed.');
    });
    await consumer.ensureGroup();
    consumer.start();
    await add('held');
    await until(() => calls.has('held'), 2000, 'held started');
    await add('flaky');
    await until(() => calls.has('flaky'), 2000, 'flaky tried');
    await sleep(100);
    // Recovery must not re-read pending entries while 'held' is still being handled.
    expect(calls.get('flaky')).toBe(1);
    open();
    await until(() => calls.get('flaky') === 2, 2000, 'flaky handled again after recovery');
    await consumer.stop();
    expect(Object.fromEntries(calls)).toEqual({ held: 1, flaky: 2 });
    expect(await pending()).toBe(0);
  });

  it('when an entry of ours has been in flight past claimIdleMs then the reclaim leaves it to its batch', async () => {
    const h = gatedHandler((e) => e.fields.plan_id === 'slow');
    const { consumer, add, clock, pending } = loopSetup(h.handle, { claimEveryMs: 0 });
    await consumer.ensureGroup();
    consumer.start();
    await add('slow');
    await until(() => h.started.includes('slow'), 2000, 'slow started');
    clock.advance(60_000);
    await add('next');
    await until(() => h.finished.includes('next'), 2000, 'next handled');
    await sleep(100);
    expect(h.started.filter((id) => id === 'slow')).toHaveLength(1);
    h.release();
    await until(() => h.finished.includes('slow'), 2000, 'slow finished');
    await consumer.stop();
    expect(await pending()).toBe(0);
  });
});
