/**
 * The permit chain against a store adapter: the race of many consumers, permits before, during
 * and after the wait, expiry mid-wait, ambiguous failures. Run by the Redis and memory suites.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumeOutcome, Store } from '../../src/store/port.js';
import {
  DEFAULT_AUTHORITIES,
  waitAndConsumePermits,
  type PermitWaitResult,
} from '../../src/store/permit-chain.js';
import { watchPermits, type PermitWatch } from '../../src/store/permit-watch.js';
import { sleep, until } from '../helpers/wait.js';

export interface ChainWorld {
  /** Separate connections where the adapter has them (the memory store shares one instance). */
  consumers: Store[];
  writer: Store;
  /** Subscriptions still held by waiters (server PUBSUB NUMPAT, or memory listeners). */
  openSubscriptions(): Promise<number>;
  close(): Promise<void>;
}

/** A store whose consumePermits calls can be observed and made to fail. */
export function instrument(
  store: Store,
  hooks: {
    before?: (n: number) => void;
    after?: (n: number, out: ConsumeOutcome) => void;
    failed?: (n: number, err: unknown) => void;
  },
): Store {
  let n = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'consumePermits') {
        return async (...args: Parameters<Store['consumePermits']>) => {
          const call = ++n;
          hooks.before?.(call);
          let out: ConsumeOutcome;
          try {
            out = await target.consumePermits(...args);
          } catch (err) {
            hooks.failed?.(call, err);
            throw err;
          }
          hooks.after?.(call, out);
          return out;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function shuffled<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export function chainSuite(name: string, makeWorld: () => Promise<ChainWorld>, sets: number): void {
  describe(`permit chain: ${name}`, () => {
    let w: ChainWorld;
    let store: Store;
    let seq = 0;
    const plan = () => `plan${++seq}x${Math.random().toString(16).slice(2, 8)}`;
    const grant = (id: string, ttlSec = 60) =>
      Promise.all([
        w.writer.set(w.writer.keys.governorPermit(id), `{"granted":true,"p":"${id}"}`, { ttlSec }),
        w.writer.set(w.writer.keys.p33Permit(id), `{"allow":true,"p":"${id}"}`, { ttlSec }),
      ]);
    beforeAll(async () => {
      w = await makeWorld();
      store = w.consumers[0]!;
    });
    afterAll(async () => {
      await w?.close();
    });

    it(`when ${sets} sets are raced by ${8} consumers then each is consumed once and partial sets stay`, async () => {
      const full = Array.from({ length: sets }, () => plan());
      const partial = Array.from({ length: Math.ceil(sets / 20) }, () => plan());
      await pool(full, 64, async (id) => void (await grant(id)));
      await pool(partial, 64, async (id) => void (await w.writer.set(w.writer.keys.governorPermit(id), 'g')));
      const wins = new Map<string, number>();
      const other = new Map<string, string[]>();
      await Promise.all(
        w.consumers.slice(0, 8).map((c) =>
          pool(shuffled([...full, ...partial]), 32, async (id) => {
            const r = await waitAndConsumePermits(c, id, undefined, { waitMs: 0, stepMs: 50 });
            if (r.ok) {
              wins.set(id, (wins.get(id) ?? 0) + 1);
              expect(r.bodies).toEqual({
                governor: `{"granted":true,"p":"${id}"}`,
                p33: `{"allow":true,"p":"${id}"}`,
              });
            } else other.set(id, [...(other.get(id) ?? []), r.reason]);
          }),
        ),
      );
      expect(w.consumers.length).toBeGreaterThanOrEqual(8);
      for (const id of full) {
        expect(wins.get(id)).toBe(1);
        expect(other.get(id)).toEqual(Array(7).fill('consumed_elsewhere'));
      }
      for (const id of partial) {
        expect(wins.get(id)).toBeUndefined();
        expect(other.get(id)).toEqual(Array(8).fill('missing_p33'));
      }
      const k = w.writer.keys;
      const left = await w.writer.mget(full.flatMap((id) => [k.governorPermit(id), k.p33Permit(id)]));
      expect(left.every((v) => v === null)).toBe(true);
      expect(await w.writer.mget(partial.map((id) => k.governorPermit(id)))).toEqual(partial.map(() => 'g'));
      expect(await w.writer.mget(partial.map((id) => k.permitReceipt(id)))).toEqual(partial.map(() => null));
    }, 60_000);

    it('when both permits exist before the wait then they are consumed immediately', async () => {
      const id = plan();
      await grant(id);
      const r = await waitAndConsumePermits(store, id, undefined, { waitMs: 1000, stepMs: 100 });
      expect(r).toMatchObject({ ok: true, via: 'immediate', attempts: 1, replayed: false });
    });

    it('when the last permit arrives during the wait then the notification consumes the set', async () => {
      const id = plan();
      await w.writer.set(w.writer.keys.governorPermit(id), 'g', { ttlSec: 60 });
      const watched = instrument(store, {
        after: (n) => {
          if (n === 1) void w.writer.set(w.writer.keys.p33Permit(id), 'p', { ttlSec: 60 });
        },
      });
      const r = await waitAndConsumePermits(watched, id, undefined, { waitMs: 5000, stepMs: 2500 });
      expect(r).toMatchObject({ ok: true, via: 'event', bodies: { governor: 'g', p33: 'p' } });
      if (r.ok) expect(r.waitMs).toBeLessThan(2500);
    });

    it('when permits arrive one by one then only the write completing the set triggers an attempt', async () => {
      const id = plan();
      const k = w.writer.keys;
      const watched = instrument(store, {
        after: (n) => {
          if (n !== 1) return;
          void (async () => {
            await w.writer.set(k.governorPermit(id), 'g', { ttlSec: 60 });
            await sleep(30);
            await w.writer.set(k.p33Permit(id), 'p', { ttlSec: 60 });
          })();
        },
      });
      const r = await waitAndConsumePermits(watched, id, undefined, { waitMs: 10_000, stepMs: 5000 });
      expect(r).toMatchObject({ ok: true, via: 'event', attempts: 2 });
    });

    it('when notifications show the set complete then onAttempt marks that attempt as expected, before its consume is sent, and its hook runs once it is', async () => {
      const id = plan();
      const k = w.writer.keys;
      const seen: Array<{ attempt: number; expected: boolean }> = [];
      const hooks: number[] = [];
      let consumesSent = 0;
      const watched = instrument(store, {
        before: () => consumesSent++,
        after: (n) => {
          if (n !== 1) return;
          void (async () => {
            await w.writer.set(k.governorPermit(id), 'g', { ttlSec: 60 });
            await sleep(30);
            await w.writer.set(k.p33Permit(id), 'p', { ttlSec: 60 });
          })();
        },
      });
      const r = await waitAndConsumePermits(watched, id, undefined, {
        waitMs: 10_000,
        stepMs: 5000,
        onAttempt: (attempt, expected, consume) => {
          // Called as that attempt's consume is about to leave, and only once for it; its hook
          // once the consume has been sent, with the receipt the consume writes.
          expect(consumesSent).toBe(attempt - 1);
          expect(consume.receiptKey).toBe(k.permitReceipt(id));
          seen.push({ attempt, expected });
          return () => {
            expect(consumesSent).toBe(attempt);
            hooks.push(attempt);
          };
        },
      });
      expect(r).toMatchObject({ ok: true, attempts: 2 });
      expect(hooks).toEqual([1, 2]);
      // The first attempt found nothing; the one the notifications completed is the one that consumed.
      expect(seen).toEqual([
        { attempt: 1, expected: false },
        { attempt: 2, expected: true },
      ]);
    });

    it('when permits are only polled then no attempt is marked expected', async () => {
      const id = plan();
      const k = w.writer.keys;
      await w.writer.set(k.governorPermit(id), 'g', { ttlSec: 60 });
      await w.writer.set(k.p33Permit(id), 'p', { ttlSec: 60 });
      const marks: boolean[] = [];
      const r = await waitAndConsumePermits(store, id, undefined, {
        waitMs: 1000,
        stepMs: 20,
        events: false,
        onAttempt: (_attempt, expected) => void marks.push(expected),
      });
      expect(r).toMatchObject({ ok: true, attempts: 1 });
      expect(marks).toEqual([false]);
    });

    /** A wait that takes over `watch` (a 5 s poll step, so a missed wake shows as waitMs ≥ 5000). */
    const waitWatched = async (
      on: Store,
      id: string,
      watch: PermitWatch | null,
      noPermitBeforeWatch: boolean,
    ) => {
      try {
        return await waitAndConsumePermits(on, id, undefined, {
          waitMs: 10_000,
          stepMs: 5000,
          watch,
          noPermitBeforeWatch,
        });
      } finally {
        await watch?.close();
      }
    };

    it('when a watch opened before the plan was published saw no permit then the wait does not consume before one is written', async () => {
      const id = plan();
      const watch = await watchPermits(store, id, DEFAULT_AUTHORITIES);
      expect(watch).not.toBeNull();
      let calls = 0;
      const watched = instrument(store, { before: () => void calls++ });
      setTimeout(() => void grant(id), 30);
      const r = await waitWatched(watched, id, watch, true);
      // One consume, after both writes were notified (the first consume used to find none).
      expect(r).toMatchObject({ ok: true, via: 'event', attempts: 1 });
      expect(calls).toBe(1);
      if (r.ok) expect(r.waitMs).toBeLessThan(5000);
    });

    it('when the permits were written after the watch opened but before the wait began then they are consumed at once', async () => {
      const id = plan();
      const watch = await watchPermits(store, id, DEFAULT_AUTHORITIES);
      // Another listener on the same store hears the writes on the same connection, in order.
      const heard = new Set<string>();
      const keys = [store.keys.governorPermit(id), store.keys.p33Permit(id)];
      const off = await store.onKeyChange(store.keys.permitPattern(), (c) => void heard.add(c.key), { keys });
      await grant(id);
      await until(() => heard.size === 2, 5000, 'both writes notified');
      await off();
      const r = await waitWatched(store, id, watch, true);
      expect(r).toMatchObject({ ok: true, via: 'immediate', attempts: 1 });
    });

    it("when the watch is of another plan's keys then the wait ignores it and consumes at once", async () => {
      const id = plan();
      await grant(id);
      const r = await waitWatched(store, id, await watchPermits(store, plan(), DEFAULT_AUTHORITIES), true);
      expect(r).toMatchObject({ ok: true, via: 'immediate', attempts: 1 });
    });

    it('when the plan was published before the watch (a replay) then the first consume is not skipped', async () => {
      const id = plan();
      await grant(id); // written before the watch: it never hears them
      const watch = await watchPermits(store, id, DEFAULT_AUTHORITIES);
      const r = await waitWatched(store, id, watch, false);
      expect(r).toMatchObject({ ok: true, via: 'immediate', attempts: 1 });
      if (r.ok) expect(r.waitMs).toBeLessThan(5000);
    });

    it('when events are turned off then polling still finds the late permit', async () => {
      const id = plan();
      await w.writer.set(w.writer.keys.p33Permit(id), 'p');
      setTimeout(() => void w.writer.set(w.writer.keys.governorPermit(id), 'g'), 30);
      const r = await waitAndConsumePermits(store, id, undefined, {
        waitMs: 3000,
        stepMs: 20,
        events: false,
      });
      expect(r).toMatchObject({ ok: true, via: 'poll' });
    });

    it('when permits come only after the window then the result is missing_both and nothing is consumed', async () => {
      const id = plan();
      const r = await waitAndConsumePermits(store, id, undefined, { waitMs: 150, stepMs: 40 });
      expect(r).toMatchObject({ ok: false, reason: 'missing_both', ttlMs: { governor: -2, p33: -2 } });
      expect(r.waitMs).toBeGreaterThanOrEqual(150);
      expect(r.attempts).toBeGreaterThanOrEqual(3);
      await grant(id);
      expect(await w.writer.exists(w.writer.keys.governorPermit(id))).toBe(true);
      expect(await w.writer.exists(w.writer.keys.permitReceipt(id))).toBe(false);
    });

    it('when only one permit ever arrives then the reason names the other with both TTLs', async () => {
      const id = plan();
      await w.writer.set(w.writer.keys.p33Permit(id), 'p', { ttlSec: 60 });
      const r = await waitAndConsumePermits(store, id, undefined, { waitMs: 60, stepMs: 20 });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe('missing_governor');
      expect(r.ttlMs.governor).toBe(-2);
      expect(r.ttlMs.p33).toBeGreaterThan(50_000);
      expect(await w.writer.get(w.writer.keys.p33Permit(id))).toBe('p');
    });

    it('when a permit expires mid-wait then the set is never consumed', async () => {
      const id = plan();
      await w.writer.set(w.writer.keys.governorPermit(id), 'g', { ttlSec: 1 });
      const waiting = waitAndConsumePermits(store, id, undefined, { waitMs: 1600, stepMs: 100 });
      await sleep(1300);
      await w.writer.set(w.writer.keys.p33Permit(id), 'p', { ttlSec: 60 });
      const r = await waiting;
      expect(r).toMatchObject({ ok: false, reason: 'missing_governor' });
      expect(await w.writer.get(w.writer.keys.p33Permit(id))).toBe('p');
    });

    it('when a third authority is configured then its key is required too', async () => {
      const id = plan();
      await grant(id);
      const three = ['governor', 'p33', 'risk'];
      const r = await waitAndConsumePermits(store, id, three, { waitMs: 50, stepMs: 20 });
      expect(r).toMatchObject({ ok: false, reason: 'missing_risk' });
      await w.writer.set(w.writer.keys.permit('risk', id), 'r');
      const r2 = await waitAndConsumePermits(store, id, three, { waitMs: 50, stepMs: 20 });
      expect(r2).toMatchObject({
        ok: true,
        bodies: { governor: expect.any(String), p33: expect.any(String), risk: 'r' },
      });
    });

    it('when the reply of a consume that ran is lost then the re-run reports it consumed', async () => {
      const id = plan();
      await grant(id);
      const lossy = instrument(store, {
        after: (n) => {
          if (n === 1) throw new Error('Command timed out');
        },
      });
      const r = await waitAndConsumePermits(lossy, id, undefined, { waitMs: 1000, stepMs: 100 });
      expect(r).toMatchObject({ ok: true, replayed: true, attempts: 1 });
      expect(await w.writer.exists(w.writer.keys.governorPermit(id))).toBe(false);
    });

    it('when the store never answers within the budget then the outcome is unknown and not ok', async () => {
      const id = plan();
      await grant(id);
      let calls = 0;
      const dead = instrument(store, {
        before: () => {
          calls++;
          throw new Error('Connection is closed.');
        },
      });
      const r: PermitWaitResult = await waitAndConsumePermits(dead, id, undefined, {
        waitMs: 1000,
        stepMs: 100,
        resolveBudgetMs: 120,
      });
      expect(r).toMatchObject({
        ok: false,
        reason: 'consume_outcome_unknown',
        error: 'Connection is closed.',
      });
      expect(calls).toBeGreaterThan(1);
    });

    it('when the wait window is not a number then one attempt is made instead of waiting forever', async () => {
      const r = await waitAndConsumePermits(store, plan(), undefined, { waitMs: Number.NaN, stepMs: 0 });
      expect(r).toMatchObject({ ok: false, reason: 'missing_both', attempts: 1 });
    });

    it('when the caller aborts then the wait ends as aborted without consuming', async () => {
      const id = plan();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 30);
      const r = await waitAndConsumePermits(store, id, undefined, {
        waitMs: 5000,
        stepMs: 1000,
        signal: ac.signal,
      });
      expect(r).toMatchObject({ ok: false, reason: 'aborted' });
    });

    it('when every wait has ended then no subscription is left behind', async () => {
      await until(async () => (await w.openSubscriptions()) === 0, 5000, 'subscriptions released');
    });
  });
}
