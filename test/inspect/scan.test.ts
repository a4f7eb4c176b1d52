/** Bounded backwards stream scans and permit key parsing (memory store). */
import { describe, expect, it } from 'vitest';
import { scanBackwards } from '../../src/inspect/stream-scan.js';
import { permitAuthority } from '../../src/inspect/status.js';
import { offset, table } from '../../src/inspect/render.js';
import { ManualClock } from '../../src/ops/clock.js';
import { keySpace } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';

async function streamOf(n: number) {
  const clock = new ManualClock(1_769_300_000_000);
  const store = new MemoryStore({ clock, sweepMs: 0 });
  for (let i = 0; i < n; i++) {
    await store.xadd('s', { plan_id: `p${i}` });
    clock.advance(i % 3 === 0 ? 0 : 1); // some entries share a millisecond
  }
  return store;
}

describe('scanBackwards', () => {
  it('when pages are small then every entry is read once, newest first, down to the oldest', async () => {
    const store = await streamOf(23);
    const seen: string[] = [];
    const r = await scanBackwards(
      store,
      's',
      (e) => (seen.push(e.fields.plan_id!), e.fields.plan_id === 'p0'),
      { pageSize: 4 },
    );
    expect(r).toMatchObject({ scanned: 23, complete: true });
    expect(r.matches.map((e) => e.fields.plan_id)).toEqual(['p0']);
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `p${22 - i}`));
  });

  it('when the bound is reached then the scan stops and says it is incomplete', async () => {
    const store = await streamOf(30);
    const r = await scanBackwards(store, 's', (e) => e.fields.plan_id === 'p0', {
      pageSize: 7,
      maxEntries: 10,
    });
    expect(r).toEqual({ matches: [], scanned: 10, complete: false });
  });

  it('when stop is satisfied then no further page is read', async () => {
    const store = await streamOf(30);
    const r = await scanBackwards(store, 's', (e) => e.fields.plan_id === 'p27', {
      pageSize: 5,
      stop: (m) => m.length > 0,
    });
    expect(r.scanned).toBe(5);
    expect(r.matches).toHaveLength(1);
  });

  it('when the stream does not exist then nothing is scanned', async () => {
    const store = await streamOf(0);
    expect(await scanBackwards(store, 'none', () => true)).toEqual({
      matches: [],
      scanned: 0,
      complete: true,
    });
  });
});

describe('permit keys and rendering helpers', () => {
  it('when permit keys carry prefixes or cluster tags then the authority is still read', () => {
    for (const opts of [{}, { prefix: 't1:' }, { prefix: 't1:', cluster: true }]) {
      const k = keySpace(opts);
      const base = k.permitPattern().slice(0, -1);
      expect(permitAuthority(k.governorPermit('abc', 'BTCUSDT'), base)).toBe('governor');
      expect(permitAuthority(k.p33Permit('abc', 'BTCUSDT'), base)).toBe('p33');
      expect(permitAuthority(k.permit('risk', 'abc', 'BTCUSDT'), base)).toBe('risk');
    }
  });

  it('when offsets and tables are rendered then units and alignment follow', () => {
    expect([
      offset(12),
      offset(-900),
      offset(1234),
      offset(-90_400),
      offset(300_000),
      offset(7_500_000),
    ]).toEqual(['+12 ms', '-900 ms', '+1.2 s', '-90.4 s', '+5 min', '+2.1 h']);
    expect(
      table([
        ['a', 'bbb', 'c'],
        ['dddd', 'e', 'f'],
      ]),
    ).toEqual(['  a      bbb   c', '  dddd   e     f']);
  });
});
