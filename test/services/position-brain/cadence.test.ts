import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/ops/clock.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { p33Rig } from './harness.js';
import { T0 } from '../../helpers/clock.js';
import { sleep } from '../../helpers/wait.js';

describe('P3.3 refresh cadence', () => {
  it('when an exchange read takes part of the poll then refreshes still start one poll apart', async () => {
    // The service's Clock port follows the fake timers; Date does not: the poll is counted on
    // the port, never on the wall clock.
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'performance'],
    });
    try {
      const store = new MemoryStore({ clock: new ManualClock(T0), sweepMs: 0 });
      const clock = { now: () => T0 + performance.now() };
      const r = p33Rig(store, { pollSec: 1, resultPollMs: 60_000, blockMs: 60_000, clock });
      const starts: number[] = [];
      const read = r.exchange.positions.bind(r.exchange);
      r.exchange.positions = async (symbols: string[]) => {
        starts.push(clock.now());
        await sleep(400); // the read takes 0.4 s of the 1 s poll
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
