/**
 * The key event hub's dispatch: a listener that names its keys is found by key, so an event
 * reaches its own waiters only, however many plans wait on the same pattern.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { KeyEventHub } from '../../src/store/redis/key-events.js';

class FakeSub extends EventEmitter {
  calls: string[] = [];
  psubscribe(channel: string): Promise<number> {
    this.calls.push(`psubscribe ${channel}`);
    return Promise.resolve(1);
  }
  punsubscribe(channel: string): Promise<number> {
    this.calls.push(`punsubscribe ${channel}`);
    return Promise.resolve(0);
  }
}

const CH = '__keyspace@0__:';
const send = (sub: FakeSub, key: string, event = 'set') =>
  sub.emit('pmessage', `${CH}quantum:permit:*`, `${CH}${key}`, event);

describe('key event hub dispatch', () => {
  it('when a thousand waiters name their keys then an event calls only the waiter of its key', async () => {
    const sub = new FakeSub();
    const hub = new KeyEventHub(sub as unknown as Redis, 0, { error: () => {} }, 1000, 0);
    const calls = new Map<number, number>();
    const offs = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        hub.add('quantum:permit:*', () => calls.set(i, (calls.get(i) ?? 0) + 1), [
          `quantum:permit:${i}`,
          `quantum:permit:p33:${i}`,
        ]),
      ),
    );
    const everything: string[] = [];
    const offAll = await hub.add('quantum:permit:*', (c) => everything.push(c.key));
    send(sub, 'quantum:permit:p33:7');
    send(sub, 'quantum:permit:7', 'del');
    send(sub, 'quantum:permit:unknown');
    expect([...calls]).toEqual([[7, 2]]);
    expect(everything).toEqual(['quantum:permit:p33:7', 'quantum:permit:7', 'quantum:permit:unknown']);
    expect(sub.calls).toEqual([`psubscribe ${CH}quantum:permit:*`]);
    await offs[7]!();
    send(sub, 'quantum:permit:7');
    expect(calls.get(7)).toBe(2);
    for (const off of offs) await off();
    expect(hub.patterns()).toEqual([`${CH}quantum:permit:*`]);
    await offAll();
    // The last listener has left (no linger here): the pattern is unsubscribed.
    expect(hub.patterns()).toEqual([]);
    expect(sub.calls).toEqual([`psubscribe ${CH}quantum:permit:*`, `punsubscribe ${CH}quantum:permit:*`]);
  });

  it('when a listener throws then the others of the same key still hear the event', async () => {
    const sub = new FakeSub();
    const errors: string[] = [];
    const hub = new KeyEventHub(
      sub as unknown as Redis,
      0,
      { error: (o) => void errors.push(String((o as { key: string }).key)) },
      1000,
      0,
    );
    const heard: string[] = [];
    await hub.add(
      'quantum:permit:*',
      () => {
        throw new Error('boom');
      },
      ['quantum:permit:a'],
    );
    await hub.add('quantum:permit:*', (c) => heard.push(c.key), ['quantum:permit:a']);
    send(sub, 'quantum:permit:a');
    expect(heard).toEqual(['quantum:permit:a']);
    expect(errors).toEqual(['quantum:permit:a']);
  });
});
