/** status flags a consumer that holds pending entries and has gone quiet (memory store, moved clock). */
import { describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/inspect/commands.js';
import { ManualClock } from '../../src/ops/clock.js';
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
});
