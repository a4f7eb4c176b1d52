/**
 * A PSUBSCRIBE sent just before Redis died is never answered. The hub must not let that one
 * unanswered command wedge every later permit wait on the same pattern (seen as plans without
 * results after a Redis restart): the subscribe fails after a bound, and the next waiter
 * subscribes afresh.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { KeyEventHub } from '../../src/store/redis/key-events.js';

class FakeSub extends EventEmitter {
  calls: string[] = [];
  answer = false;
  psubscribe(channel: string): Promise<number> {
    this.calls.push(`psubscribe ${channel}`);
    return this.answer ? Promise.resolve(1) : new Promise<number>(() => {});
  }
  punsubscribe(channel: string): Promise<number> {
    this.calls.push(`punsubscribe ${channel}`);
    return new Promise<number>(() => {});
  }
}

describe('key event hub when a subscribe is never answered', () => {
  it('when PSUBSCRIBE gets no answer then waiters fail within the bound and the next waiter subscribes again', async () => {
    const sub = new FakeSub();
    const hub = new KeyEventHub(sub as unknown as Redis, 0, { error: () => {} }, 50);
    const first = hub.add('quantum:permit:*', () => {});
    const second = hub.add('quantum:permit:*', () => {});
    await expect(first).rejects.toThrow(/not confirmed/);
    await expect(second).rejects.toThrow(/not confirmed/);
    expect(hub.patterns()).toEqual([]);

    sub.answer = true;
    const seen: string[] = [];
    const unsubscribe = await hub.add('quantum:permit:*', (c) => seen.push(c.key));
    sub.emit('pmessage', '__keyspace@0__:quantum:permit:*', '__keyspace@0__:quantum:permit:abc', 'set');
    expect(seen).toEqual(['quantum:permit:abc']);
    expect(sub.calls.filter((c) => c.startsWith('psubscribe'))).toHaveLength(2);
    await unsubscribe(); // its PUNSUBSCRIBE is never answered either: still returns
  });
});
