/**
 * status flags a consumer that holds pending entries and has gone quiet, and hides consumers left
 * over from past restarts (memory store, moved clock).
 */
import { describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/inspect/commands.js';
import { ManualClock } from '../../src/ops/clock.js';
import { LEFTOVER_CONSUMER_IDLE_MS } from '../../src/inspect/status-services.js';
import { PLAN_GROUPS } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';

describe('status consumers', () => {
  it('when a consumer holds entries and stays idle past a minute then status marks it as probably dead', async () => {
    const clock = new ManualClock(Date.parse('2026-01-25T04:00:00Z'));
    const store = new MemoryStore({ clock, sweepMs: 0 });
    const plans = store.keys.planStream();
    await store.createGroup(plans, PLAN_GROUPS.p33, '$');
    await store.xadd(plans, { plan_id: 'a'.repeat(16) });
    await store.readGroup(plans, PLAN_GROUPS.p33, 'p33-old-host', { count: 1, blockMs: 0 });
    clock.advance(30_000);
    await store.readGroup(plans, PLAN_GROUPS.p33, 'p33-new-host', { count: 1, blockMs: 0 });
    const run = async () =>
      (await statusCommand({ env: {}, openStore: async () => store, closeStore: false }, false)).stdout;
    expect(await run()).not.toContain('dead?');
    clock.advance(45_000);
    const text = await run();
    expect(text).toMatch(/p33\s+p33-old-host\s+1\s+75 s\s+idle with pending entries: dead\?/);
    expect(text).toMatch(/p33\s+p33-new-host\s+0\s+45 s\s*$/m);
    await store.close();
  });

  it('when a consumer has nothing pending, is long idle and no heartbeat is from its process then status hides it', async () => {
    const clock = new ManualClock(Date.parse('2026-01-25T04:00:00Z'));
    const store = new MemoryStore({ clock, sweepMs: 0 });
    const plans = store.keys.planStream();
    await store.createGroup(plans, PLAN_GROUPS.p33, '$');
    await store.xadd(plans, { plan_id: 'a'.repeat(16) });
    await store.readGroup(plans, PLAN_GROUPS.p33, 'p33-stuck-1', { count: 1, blockMs: 0 });
    for (const name of ['p33-gone-1', 'p33-gone-2', 'p33-live-7'])
      await store.readGroup(plans, PLAN_GROUPS.p33, name, { count: 1, blockMs: 0 });
    clock.advance(LEFTOVER_CONSUMER_IDLE_MS + 1000);
    // p33-live-7's process still runs: its heartbeat (instance live-7) is fresh.
    await store.hset(
      store.keys.heartbeat('p33', 'live-7'),
      { service: 'position-brain', instance: 'live-7' },
      15,
    );
    const run = async (json: boolean) =>
      (await statusCommand({ env: {}, openStore: async () => store, closeStore: false }, json)).stdout;
    const text = await run(false);
    expect(text).not.toContain('p33-gone-');
    expect(text).toMatch(/p33\s+p33-live-7\s+0\s/);
    expect(text).toMatch(/p33\s+p33-stuck-1\s+1\s+.*dead\?/);
    expect(text).toContain('2 consumer(s) left over from past restarts not shown');
    const j = JSON.parse(await run(true)) as {
      groups: { group: string; leftover_consumers: number; consumer_list: { name: string }[] }[];
    };
    const p33 = j.groups.find((g) => g.group === 'p33');
    expect(p33?.leftover_consumers).toBe(2);
    expect(p33?.consumer_list.map((c) => c.name).sort()).toEqual(['p33-live-7', 'p33-stuck-1']);
    await store.close();
  });
});
