import { describe, expect, it } from 'vitest';
import { isConnectionError } from '../../../src/services/plan-consumer.js';
import type { StreamEntry } from '../../../src/store/port.js';
import { memoryPlanConsumer } from '../../helpers/plan-consumer.js';

function setup(handle: (e: StreamEntry) => Promise<void>) {
  const givenUp: string[] = [];
  const { store, consumer } = memoryPlanConsumer(handle, { giveUp: async (e) => void givenUp.push(e.id) });
  return { store, consumer, givenUp };
}

describe('plan consumer', () => {
  it('when a handler keeps failing on one entry then it is given up (fail closed) and acked after 3 attempts', async () => {
    const { store, consumer, givenUp } = setup(async () => {
      throw new Error('TypeError: boom');
    });
    await consumer.ensureGroup();
    const id = await store.xadd(store.keys.planStream(), { plan_id: 'x' });
    await expect(consumer.pollOnce(0)).rejects.toThrow('boom');
    await expect(consumer.drainOwnPending()).rejects.toThrow('boom');
    expect(await consumer.drainOwnPending()).toBe(1);
    expect(givenUp).toEqual([id]);
    expect((await store.groups(store.keys.planStream()))[0]!.pending).toBe(0);
  });

  it('when the handler fails because Redis is unreachable then the entry stays pending, never given up', async () => {
    const { store, consumer, givenUp } = setup(async () => {
      throw new Error('Connection is closed.');
    });
    await consumer.ensureGroup();
    await store.xadd(store.keys.planStream(), { plan_id: 'x' });
    await expect(consumer.pollOnce(0)).rejects.toThrow();
    for (let i = 0; i < 5; i++) await expect(consumer.drainOwnPending()).rejects.toThrow();
    expect(givenUp).toEqual([]);
    expect((await store.groups(store.keys.planStream()))[0]!.pending).toBe(1);
  });

  it('when errors are classified then connection faults and entry faults differ', () => {
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(new Error('Command timed out'))).toBe(true);
    expect(isConnectionError(new Error('ERR value is not an integer'))).toBe(false);
  });
});
