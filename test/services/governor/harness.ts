/** Shared set-up for governor tests: a RedisStore on a private server, a manual clock, a fake exchange. */
import { createRegistry, createGovernorMetrics, type GovernorMetrics } from '../../../src/ops/metrics.js';
import { captureLogger, type CapturedLogger } from '../../../src/ops/logger.js';
import { ManualClock } from '../../../src/ops/clock.js';
import type { GovernorLimits } from '../../../src/domain/governor/gates.js';
import { DEFAULT_GOVERNOR_LIMITS } from '../../../src/ops/config.js';
import { GovernorService, type GovernorOptions } from '../../../src/services/governor/service.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { Store } from '../../../src/store/port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import type { RedisServerHandle } from '../../helpers/redis-server.js';
import { redisStoreOn } from '../../helpers/redis-store.js';
import { T0 } from '../../helpers/clock.js';

export type RigOptions = Omit<Partial<GovernorOptions>, 'limits'> & { limits?: Partial<GovernorLimits> };

export interface Rig {
  store: Store;
  clock: ManualClock;
  exchange: FakeExchange;
  metrics: GovernorMetrics;
  log: CapturedLogger;
  gov: GovernorService;
  make(opts?: RigOptions): GovernorService;
}

export const redisStore = (server: RedisServerHandle): Promise<Store> => redisStoreOn(server);

export async function rig(store: Store | (() => Promise<Store>), opts: RigOptions = {}): Promise<Rig> {
  const clock = new ManualClock(T0);
  const st = typeof store === 'function' ? await store() : store;
  const exchange = new FakeExchange(
    { BTCUSDT: 0.01, ETHUSDT: -2, SOLUSDT: 30 },
    { BTCUSDT: 100_000, ETHUSDT: 3000, SOLUSDT: 150 },
  );
  const metrics = createGovernorMetrics(createRegistry(), clock);
  const log = captureLogger({ level: 'info' });
  const make = (over: RigOptions = {}) =>
    new GovernorService({
      store: st,
      exchange,
      clock,
      logger: log.logger,
      metrics,
      autoApprove: false,
      consumer: 'gov-test',
      blockMs: 50,
      ...opts,
      ...over,
      limits: { ...DEFAULT_GOVERNOR_LIMITS, ...opts.limits, ...over.limits },
    });
  return { store: st, clock, exchange, metrics, log, gov: make(), make };
}

export function memoryStore(clock: ManualClock): MemoryStore {
  return new MemoryStore({ clock, sweepMs: 0, prefix: 'm:' });
}

let seq = 0;
export function plan(over: Record<string, string> = {}): Record<string, string> {
  seq++;
  return {
    plan_id: `p${seq.toString(16).padStart(15, '0')}`,
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    kill_score: '0.5',
    k_regime_flip: '0',
    k_sigma_spike: '0',
    k_ts_drop: '0',
    k_age_penalty: '0',
    new_sl_proposed: '',
    R_net: '1.0',
    decision: 'EXECUTE',
    reason_codes: '',
    steps: '[]',
    close_qty: '0',
    price: '',
    timestamp: '1769342400',
    ...over,
  };
}

export async function counterValue(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0);
}
