import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/ops/clock.js';
import { SnapshotRefresher, WRITE_SLICE } from '../../../src/services/position-brain/snapshots.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { Store } from '../../../src/store/port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { skipRedis, startRedis, type RedisServerHandle } from '../../helpers/redis-server.js';
import { redisStoreOn } from '../../helpers/redis-store.js';
import { p33Rig, T0 } from './harness.js';

const SYMBOLS = Array.from({ length: 3 * WRITE_SLICE }, (_, i) => `S${String(i).padStart(3, '0')}USDT`);
const FIRST = SYMBOLS[0]!;
const LAST = SYMBOLS[SYMBOLS.length - 1]!;
const silent = { warn() {}, info() {} };

function snapshotSuite(name: string, factory: () => Promise<Store>) {
  describe(`P3.3 snapshot refresh spread over time (${name})`, () => {
    const setup = async (spreadMs: number) => {
      const store = await factory();
      const exchange = new FakeExchange(Object.fromEntries(SYMBOLS.map((s, i) => [s, i + 1])));
      const clock = new ManualClock(T0);
      const refresher = new SnapshotRefresher({
        store,
        exchange,
        clock,
        symbols: SYMBOLS,
        source: 'test',
        logger: silent,
        spreadMs,
      });
      return { store, refresher, exists: (symbol: string) => exists(store, symbol) };
    };

    it('when a refresh is spread then its slices are written over that time, each stamped with the read time', async () => {
      const { store, refresher, exists } = await setup(400);
      const started = Date.now();
      const done = refresher.refresh();
      await new Promise((r) => setTimeout(r, 100));
      // The first slice went out at once; the last waits for the end of the spread.
      expect(await exists(FIRST)).toBe(true);
      expect(await exists(LAST)).toBe(false);
      expect(await done).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
      for (const s of [FIRST, LAST]) {
        expect(await store.hgetall(store.keys.positionSnapshot(s))).toMatchObject({
          ts_epoch: String(T0 / 1000),
          source: 'test',
        });
      }
      // Every ledger is seeded once the last slice is out.
      expect(await store.hgetall(store.keys.positionLedger(LAST))).toMatchObject({ last_known_amt: '150' });
      await store.close();
    });

    it('when a refresh is flushed mid-spread then its remaining slices are written at once', async () => {
      const { store, refresher, exists } = await setup(60_000);
      const done = refresher.refresh();
      await new Promise((r) => setTimeout(r, 50));
      expect(await exists(LAST)).toBe(false);
      refresher.flush();
      expect(await done).toBe(true);
      expect(await exists(LAST)).toBe(true);
      await store.close();
    });

    it('when the service stops during a spread refresh then it stops without waiting out the spread', async () => {
      const store = await factory();
      const r = p33Rig(store, { allowlist: SYMBOLS, snapshotSpreadMs: 60_000 });
      for (const s of SYMBOLS) r.exchange.setPosition(s, 1);
      r.p33.start();
      // The first slice is written as soon as the exchange has answered.
      for (let i = 0; i < 100 && !(await exists(store, FIRST)); i++)
        await new Promise((w) => setTimeout(w, 10));
      expect(await exists(store, FIRST)).toBe(true);
      expect(await exists(store, LAST)).toBe(false);
      const stopping = Date.now();
      await r.p33.stop();
      expect(Date.now() - stopping).toBeLessThan(30_000);
      expect(await exists(store, LAST)).toBe(true);
      await store.close();
    });
  });
}

async function exists(store: Store, symbol: string): Promise<boolean> {
  return Object.keys(await store.hgetall(store.keys.positionSnapshot(symbol))).length > 0;
}

let server: RedisServerHandle | undefined;
describe.skipIf(skipRedis)('with Redis', () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  snapshotSuite('redis', () => redisStoreOn(server!));
});

snapshotSuite('memory', async () => new MemoryStore({ clock: new ManualClock(T0), sweepMs: 0 }));

describe('P3.3 refresh cadence', () => {
  it('when an exchange read takes part of the poll then refreshes still start one poll apart', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date'],
    });
    try {
      const store = new MemoryStore({ clock: new ManualClock(T0), sweepMs: 0 });
      const r = p33Rig(store, { pollSec: 1, resultPollMs: 60_000, blockMs: 60_000 });
      const starts: number[] = [];
      const read = r.exchange.positions.bind(r.exchange);
      r.exchange.positions = async (symbols: string[]) => {
        starts.push(Date.now());
        await new Promise((w) => setTimeout(w, 400)); // the read takes 0.4 s of the 1 s poll
        return read(symbols);
      };
      r.p33.start();
      await vi.advanceTimersByTimeAsync(5_050);
      const stopping = r.p33.stop();
      await vi.advanceTimersByTimeAsync(60_000);
      await stopping;
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      // Every 1 s from each start (0, 1, ..., 5 s), not 1 s after each end (every 1.4 s: 4 starts).
      expect(starts).toHaveLength(6);
      expect(gaps.every((g) => g === 1000)).toBe(true);
      await store.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
