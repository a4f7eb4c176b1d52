/** Shared set-up for P3.3 tests: a store, a manual clock, the recording exchange double. */
import { describe } from 'vitest';
import { DEFAULT_P33_LIMITS } from '../../../src/domain/position/checks.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { captureLogger, type CapturedLogger } from '../../../src/ops/logger.js';
import { createP33Metrics, createRegistry, type P33Metrics } from '../../../src/ops/metrics.js';
import {
  PositionBrainService,
  type PositionBrainOptions,
} from '../../../src/services/position-brain/service.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { Store } from '../../../src/store/port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { redisStoreOn } from '../../helpers/redis-store.js';
import { T0 } from '../../helpers/clock.js';

export interface P33Rig {
  store: Store;
  clock: ManualClock;
  exchange: FakeExchange;
  metrics: P33Metrics;
  log: CapturedLogger;
  p33: PositionBrainService;
  make(over?: Partial<PositionBrainOptions>): PositionBrainService;
}

export function p33Rig(
  store: Store,
  over: Partial<PositionBrainOptions> = {},
  clock = new ManualClock(T0),
): P33Rig {
  const exchange = new FakeExchange(
    { BTCUSDT: 0.015, ETHUSDT: -2, SOLUSDT: 30 },
    { BTCUSDT: 100_000, SOLUSDT: 150 },
  );
  const metrics = createP33Metrics(createRegistry(), clock);
  const log = captureLogger({ level: 'info' });
  const make = (o: Partial<PositionBrainOptions> = {}) =>
    new PositionBrainService({
      store,
      exchange,
      clock,
      logger: log.logger,
      metrics,
      allowlist: ['BTCUSDT', 'SOLUSDT', 'ETHUSDT'],
      limits: DEFAULT_P33_LIMITS,
      pollSec: 5,
      permitTtlSec: 60,
      source: 'test',
      consumer: 'p33-test',
      blockMs: 50,
      ...over,
      ...o,
    });
  return { store, clock, exchange, metrics, log, p33: make(), make };
}

let seq = 0;
export function plan(over: Record<string, string> = {}): Record<string, string> {
  seq++;
  return {
    plan_id: `q${seq.toString(16).padStart(15, '0')}`,
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    kill_score: '0.5',
    decision: 'EXECUTE',
    new_sl_proposed: '',
    steps: '[]',
    timestamp: '1769342400',
    ...over,
  };
}

/** A result stream entry as the apply layer writes it after a reduce-only fill. */
export function resultEntry(
  planId: string,
  symbol: string,
  side: 'BUY' | 'SELL',
  qty: string,
  orderId: string,
) {
  return {
    plan_id: planId,
    symbol,
    decision: 'EXECUTE',
    executed: 'True',
    would_execute: 'True',
    steps_results: JSON.stringify([
      {
        step: 'CLOSE_PARTIAL_50',
        status: 'filled',
        details: '',
        order_id: orderId,
        side,
        quantity: qty,
        executed_qty: qty,
        reduce_only: true,
      },
    ]),
    error: '',
    timestamp: '1769342400',
  };
}

/** Fills a reduce-only order on the exchange double and publishes its result, as the apply layer does. */
export async function fillAndPublish(
  r: P33Rig,
  o: { symbol: string; side: 'BUY' | 'SELL'; qty: string; clientOrderId: string; planId?: string },
): Promise<string> {
  const out = await r.exchange.placeReduceOnlyMarket({
    symbol: o.symbol,
    side: o.side,
    quantity: o.qty,
    clientOrderId: o.clientOrderId,
  });
  if (out.kind !== 'filled') throw new Error(out.kind);
  const planId = o.planId ?? `p${out.order.orderId}`;
  return r.store.xadd(
    r.store.keys.resultStream(),
    resultEntry(planId, o.symbol, o.side, o.qty, out.order.orderId),
  );
}

/** Runs `suite` on a private redis-server (skipped without one) and on the memory store. */
export function onRedisAndMemory(suite: (name: string, newStore: () => Promise<Store>) => void): void {
  describe.skipIf(skipRedis)('with Redis', () => {
    const server = usePrivateRedis();
    suite('redis', () => redisStoreOn(server));
  });
  suite('memory', async () => new MemoryStore({ clock: new ManualClock(T0), sweepMs: 0 }));
}
