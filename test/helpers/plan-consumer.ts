/** A PlanConsumer on a fresh in-memory store (group `governor`, consumer `c1`), for the consumer's tests. */
import { ManualClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { PlanConsumer, type PlanConsumerOptions } from '../../src/services/plan-consumer.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { StreamEntry } from '../../src/store/port.js';

export function memoryPlanConsumer(
  handle: (e: StreamEntry) => Promise<void>,
  extra: Partial<Omit<PlanConsumerOptions, 'store' | 'handle'>> = {},
) {
  const clock = new ManualClock(1_000);
  const store = new MemoryStore({ clock, sweepMs: 0 });
  const consumer = new PlanConsumer({
    store,
    stream: store.keys.planStream(),
    group: 'governor',
    consumer: 'c1',
    handle,
    giveUp: async () => {},
    logger: captureLogger().logger,
    ...extra,
  });
  return { store, consumer, clock };
}
