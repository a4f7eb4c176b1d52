/**
 * The reconciler of orders left order_status_unknown, on the memory store with a clock moved by
 * hand: what it believes, when, and that it never sends anything.
 */
import { describe, expect, it } from 'vitest';
import { clientOrderIdFor } from '../../../src/exchange/port.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { captureLogger } from '../../../src/ops/logger.js';
import { storeIntents } from '../../../src/services/apply/intents.js';
import { RecordingMetrics } from '../../../src/services/apply/metrics.js';
import {
  ABSENT_AFTER_MS,
  OrderReconciler,
  rememberUnresolved,
} from '../../../src/services/apply/reconciler.js';
import { MemoryStore } from '../../../src/store/index.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { T0 } from '../../helpers/clock.js';

const PLAN = '0123456789abcdef';

async function setup(kind: 'market' | 'stop' = 'market') {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  const exchange = new FakeExchange({ BTCUSDT: 1 });
  const metrics = new RecordingMetrics();
  const deps = { store, exchange, clock, logger: captureLogger().logger, metrics };
  const intents = storeIntents(deps, 21600);
  const step = kind === 'stop' ? 'UPDATE_SL' : 'CLOSE_FULL';
  await intents.create(PLAN, 'BTCUSDT', {
    plan_id: PLAN,
    step,
    kind,
    client_order_id: clientOrderIdFor(PLAN, step),
    symbol: 'BTCUSDT',
    side: 'SELL',
    quantity: '1.000',
    state: 'unknown',
    at: String(T0),
  });
  await rememberUnresolved(store, PLAN, 'BTCUSDT', T0);
  const reconciler = new OrderReconciler(deps, intents, 21600);
  const reconciled = () => store.xrange(store.keys.reconciledStream(), '-', '+');
  return { clock, store, exchange, metrics, intents, reconciler, reconciled };
}

describe('order reconciler', () => {
  it('when the exchange does not know the order then it waits, and calls it never placed only after the bound', async () => {
    const s = await setup();
    expect((await s.reconciler.pass()).get(PLAN)).toBe('pending');
    s.clock.advance(ABSENT_AFTER_MS - 1);
    expect((await s.reconciler.pass()).get(PLAN)).toBe('pending');
    expect(await s.reconciled()).toEqual([]);
    s.clock.advance(1);
    expect((await s.reconciler.pass()).get(PLAN)).toBe('absent');
    const [entry] = await s.reconciled();
    expect(entry?.fields).toMatchObject({ plan_id: PLAN, executed: 'False', error: 'order_not_placed' });
    expect(await s.intents.read(PLAN, 'BTCUSDT')).toMatchObject({
      state: 'rejected',
      reason: 'order_not_placed',
    });
    expect(await s.store.hgetall(s.store.keys.unresolvedOrders())).toEqual({});
    expect(s.exchange.calls.filter((c) => c.method.startsWith('place'))).toEqual([]);
  });

  it('when the lookup fails then the order stays unresolved and the failure is counted', async () => {
    const s = await setup();
    s.exchange.failWith.findOrder = 'exchange_unavailable';
    s.clock.advance(ABSENT_AFTER_MS * 2);
    expect((await s.reconciler.pass()).get(PLAN)).toBe('failed');
    expect(Object.keys(await s.store.hgetall(s.store.keys.unresolvedOrders()))).toEqual([PLAN]);
    expect(s.metrics.count('reconcile', 'failed')).toBe(1);
    expect(s.metrics.count('unresolvedOrders', 1)).toBe(1);
  });

  it('when the order ended with nothing executed then it is recorded not filled and the ledger has nothing to move', async () => {
    const s = await setup();
    s.exchange.orders.push({
      orderId: '9',
      clientOrderId: clientOrderIdFor(PLAN, 'CLOSE_FULL'),
      symbol: 'BTCUSDT',
      side: 'SELL',
      status: 'EXPIRED',
      origQty: '1.000',
      executedQty: '0',
      avgPrice: '0',
      reduceOnly: true,
    });
    expect((await s.reconciler.pass()).get(PLAN)).toBe('not_filled');
    const [entry] = await s.reconciled();
    expect(entry?.fields).toMatchObject({ executed: 'False', error: 'order_expired' });
  });

  it('when a stop left unknown is found then it is recorded placed', async () => {
    const s = await setup('stop');
    s.exchange.placedStops.set(clientOrderIdFor(PLAN, 'UPDATE_SL'), {
      algoId: '5',
      status: 'NEW',
      symbol: 'BTCUSDT',
    });
    expect((await s.reconciler.pass()).get(PLAN)).toBe('placed');
    expect(await s.intents.read(PLAN, 'BTCUSDT')).toMatchObject({ state: 'placed', algo_id: '5' });
  });

  it('when the intent is gone (its TTL) then the order is forgotten with an error, not retried forever', async () => {
    const s = await setup();
    await s.store.del([s.store.keys.orderIntent(PLAN, 'BTCUSDT')]);
    expect((await s.reconciler.pass()).get(PLAN)).toBe('expired');
    expect(await s.store.hgetall(s.store.keys.unresolvedOrders())).toEqual({});
  });
});
