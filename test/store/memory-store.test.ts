import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ops/clock.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { createStore } from '../../src/store/index.js';
import { storeContract } from './contract.js';

storeContract('memory', async () => {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore({ clock, sweepMs: 0, prefix: 'm:' });
  return {
    store,
    advance: async (ms: number) => {
      clock.advance(ms);
      store.sweep();
    },
  };
});

describe('MemoryStore specifics', () => {
  it('when the factory asks for memory then a memory store is returned', async () => {
    const s = await createStore({ memory: true, prefix: 'x:' });
    expect(s.kind).toBe('memory');
    expect(s.keys.permitReceipt('p')).toBe('x:quantum:apply:consumed:p');
    await s.close();
  });

  it('when entries are claimed repeatedly then delivery counts and idle times follow', async () => {
    const clock = new ManualClock(1_000_000);
    const s = new MemoryStore({ clock, sweepMs: 0 });
    await s.createGroup('st', 'g', '$');
    const id = await s.xadd('st', { a: '1' });
    await s.readGroup('st', 'g', 'c1', { count: 1, blockMs: 0 });
    clock.advance(500);
    expect(s.pendingInfo('st', 'g', id)).toEqual({ consumer: 'c1', idleMs: 500, count: 1 });
    await s.autoClaim('st', 'g', 'c2', 100, 10);
    expect(s.pendingInfo('st', 'g', id)).toEqual({ consumer: 'c2', idleMs: 0, count: 2 });
    await s.close();
  });

  it('when two entries share a millisecond then their sequence numbers increase', async () => {
    const s = new MemoryStore({ clock: new ManualClock(42), sweepMs: 0 });
    expect([await s.xadd('st', { a: '1' }), await s.xadd('st', { a: '2' })]).toEqual(['42-0', '42-1']);
    await s.close();
  });

  it('when a key holds a hash then string reads fail with WRONGTYPE like Redis', async () => {
    const s = new MemoryStore({ sweepMs: 0 });
    await s.hset('h', { a: '1' });
    await expect(s.get('h')).rejects.toThrow(/WRONGTYPE/);
    await s.close();
  });
});
