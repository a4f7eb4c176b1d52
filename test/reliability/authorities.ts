/**
 * The real governor and position brain, in-process, each on its own Redis connections and its
 * own paper exchange adapter, with the contract's default settings unless a test says otherwise.
 */
import type { GovernorLimits } from '../../src/domain/governor/gates.js';
import { DEFAULT_GOVERNOR_LIMITS } from '../../src/ops/config.js';
import { DEFAULT_P33_LIMITS, type P33Limits } from '../../src/domain/position/checks.js';
import { systemClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import type { GovernorMetrics, P33Metrics } from '../../src/ops/metrics.js';
import { GovernorService } from '../../src/services/governor/service.js';
import { PositionBrainService } from '../../src/services/position-brain/service.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { until } from '../helpers/wait.js';
import { paperAdapter } from './rig.js';

export interface Authorities {
  governor: GovernorService;
  p33: PositionBrainService;
  logs: ReturnType<typeof captureLogger>;
  stop(): Promise<void>;
}

export async function startAuthorities(
  redisUrl: string,
  prefix: string,
  paper: { url: string },
  symbols: readonly string[],
  over: {
    governor?: Partial<GovernorLimits>;
    p33?: Partial<P33Limits>;
    pollSec?: number;
    /** P3.3's own Redis URL (its ACL user); default: `redisUrl`, the governor's. */
    p33RedisUrl?: string;
    metrics?: { governor?: GovernorMetrics; p33?: P33Metrics };
  } = {},
): Promise<Authorities> {
  const logs = captureLogger({ level: 'info' });
  const stores = [
    await createStore({ url: redisUrl, prefix }),
    await createStore({ url: over.p33RedisUrl ?? redisUrl, prefix }),
  ];
  const exchanges = [paperAdapter(paper), paperAdapter(paper)];
  const governor = new GovernorService({
    store: stores[0]!,
    exchange: exchanges[0]!,
    clock: systemClock,
    logger: logs.logger.child({ service: 'governor' }),
    metrics: over.metrics?.governor,
    limits: { ...DEFAULT_GOVERNOR_LIMITS, ...over.governor },
    autoApprove: false,
    consumer: 'test-governor',
  });
  const p33 = new PositionBrainService({
    store: stores[1]!,
    exchange: exchanges[1]!,
    clock: systemClock,
    logger: logs.logger.child({ service: 'p33' }),
    metrics: over.metrics?.p33,
    allowlist: symbols,
    limits: { ...DEFAULT_P33_LIMITS, ...over.p33 },
    pollSec: over.pollSec ?? 5,
    permitTtlSec: 60,
    consumer: 'test-p33',
  });
  await Promise.all([governor.consumer.ensureGroup(), p33.consumer.ensureGroup()]);
  governor.start();
  p33.start();
  return {
    governor,
    p33,
    logs,
    async stop() {
      await Promise.allSettled([governor.stop(), p33.stop()]);
      await Promise.allSettled([...exchanges.map((e) => e.close()), ...stores.map((s) => s.close())]);
    },
  };
}

/** P3.3 allows nothing before its first snapshot of a symbol: wait until each shows `amount`. */
export async function awaitSnapshots(
  store: Store,
  symbols: readonly string[],
  amount: string,
  timeoutMs: number,
): Promise<void> {
  await until(
    async () => {
      const snaps = await Promise.all(symbols.map((s) => store.hgetall(store.keys.positionSnapshot(s))));
      return snaps.every((h) => h.position_amt === amount);
    },
    timeoutMs,
    'P3.3 snapshots',
  );
}
