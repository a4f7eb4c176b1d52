import { ManualClock } from '../../src/ops/clock.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { explainSuite, type InspectUnderTest } from './explain-suite.js';
import { statusSuite } from './status-suite.js';

async function memory(): Promise<InspectUnderTest> {
  const clock = new ManualClock(Date.parse('2026-01-25T00:43:46Z'));
  const store = new MemoryStore({ clock, sweepMs: 0, prefix: 'm:' });
  return { store, clock, exactTimes: true, cleanup: async () => {} };
}

explainSuite('memory store', memory);
statusSuite('memory store', memory);
