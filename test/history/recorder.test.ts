import { afterEach, describe, expect, it } from 'vitest';
import { backfill } from '../../src/history/backfill.js';
import { openHistory, type History } from '../../src/history/db.js';
import { addEntries, HISTORY_GROUP, Recorder } from '../../src/history/recorder.js';
import { DAY_MS, pruneHistory, retentionCutoff } from '../../src/history/retention.js';
import { countRows, emptyBatch, writeBatch } from '../../src/history/write.js';
import { systemClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { createHistoryMetrics, createRegistry } from '../../src/ops/metrics.js';
import { decisionFields, p33DecisionFields } from '../../src/services/decision-log.js';
import { orderEventFields } from '../../src/services/apply/order-events.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { T0 } from '../helpers/clock.js';
import { skipPostgres, usePrivateDatabase } from '../helpers/postgres.js';
import { until } from '../helpers/wait.js';

const hex = (i: number) => i.toString(16).padStart(16, '0');

function planFields(i: number, decision = 'EXECUTE'): Record<string, string> {
  return {
    plan_id: hex(i),
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    kill_score: '0.3',
    k_regime_flip: '0.0',
    k_sigma_spike: '0.0',
    k_ts_drop: '0.0',
    k_age_penalty: '0.0',
    new_sl_proposed: '',
    R_net: 'None',
    decision,
    reason_codes: decision === 'EXECUTE' ? '' : 'kill_score_critical',
    steps: '[]',
    close_qty: '0.0',
    price: '',
    timestamp: String(Math.floor(T0 / 1000) + i),
  };
}

function resultFields(i: number): Record<string, string> {
  return {
    plan_id: hex(i),
    symbol: 'BTCUSDT',
    decision: 'EXECUTE',
    executed: 'True',
    would_execute: 'False',
    steps_results: '[]',
    error: '',
    timestamp: String(Math.floor(T0 / 1000) + i),
  };
}

/** One plan's entries on every followed stream: plan, both decisions, intent, answer, result. */
async function publishPlan(store: Store, i: number): Promise<void> {
  const k = store.keys;
  const planId = hex(i);
  await store.xadd(k.planStream(), planFields(i));
  await store.xadd(
    k.governorDecisions(),
    decisionFields({ planId, symbol: 'BTCUSDT', decision: 'GRANTED', reason: '', atMs: T0 + i }),
  );
  await store.xadd(
    k.p33Decisions(),
    p33DecisionFields({
      planId,
      symbol: 'BTCUSDT',
      decision: 'ALLOW',
      reason: '',
      safeCloseQty: '0.5',
      atMs: T0 + i,
    }),
  );
  const intent = {
    plan_id: planId,
    step: 'CLOSE_PARTIAL_50',
    kind: 'market',
    client_order_id: `qa-${planId}-CLOSE_PARTIAL_50`,
    symbol: 'BTCUSDT',
    side: 'SELL',
    quantity: '0.5',
    trigger_price: '',
    state: 'sending',
    at: String(T0 + i),
  };
  await store.xadd(k.orderEvents(), orderEventFields(planId, 'BTCUSDT', intent, T0 + i));
  const answer = { state: 'filled', order_id: String(1000 + i), executed_qty: '0.5', avg_price: '43000.1' };
  await store.xadd(k.orderEvents(), orderEventFields(planId, 'BTCUSDT', answer, T0 + i + 1));
  await store.xadd(k.resultStream(), resultFields(i));
}

function recorderOn(store: Store, history: History, registry = createRegistry()) {
  const logs = captureLogger({ level: 'info' });
  const recorder: Recorder = new Recorder({
    store,
    history,
    clock: systemClock,
    logger: logs.logger,
    metrics: createHistoryMetrics(registry, { lag: () => recorder.lag() }),
    consumer: 'rec-test',
    batch: 7,
    idleMs: 10,
    retry: { minMs: 10, maxMs: 50 },
  });
  return { recorder, logs, registry };
}

function recorderSuite(url: () => string) {
  let store: Store;
  let history: History;
  afterEach(async () => {
    await history?.close();
    await store?.close();
  });

  async function fresh() {
    store = await createStore({ memory: true });
    history = await openHistory(url());
    await history.db.deleteFrom('plans').execute();
    await history.db.deleteFrom('decisions').execute();
    await history.db.deleteFrom('orders').execute();
    await history.db.deleteFrom('results').execute();
  }

  it('records every entry once in batches, acks after the commit, and a restart writes no duplicate', async () => {
    await fresh();
    for (let i = 1; i <= 5; i++) await publishPlan(store, i);
    const { recorder, registry } = recorderOn(store, history);
    recorder.start();
    for (let i = 6; i <= 12; i++) await publishPlan(store, i);
    const want = { plans: 12, decisions: 24, results: 12, orders: 12 };
    await until(
      async () => JSON.stringify(await countRows(history.db)) === JSON.stringify(want),
      8000,
      'all rows',
    );
    await until(async () => (await recorder.lag()).every((l) => l.entries === 0), 8000, 'lag 0');
    await recorder.stop();

    const order = await history.db
      .selectFrom('orders')
      .selectAll()
      .where('plan_id', '=', hex(3))
      .executeTakeFirst();
    expect(order).toMatchObject({
      client_order_id: `qa-${hex(3)}-CLOSE_PARTIAL_50`,
      state: 'filled',
      order_id: '1003',
      executed_qty: '0.5',
      avg_price: '43000.1',
      quantity: '0.5',
      intent_at_ms: T0 + 3,
    });
    const p33 = await history.db
      .selectFrom('decisions')
      .select(['authority', 'verdict', 'reason'])
      .where('plan_id', '=', hex(3))
      .where('authority', '=', 'p33')
      .execute();
    expect(p33).toEqual([{ authority: 'p33', verdict: 'ALLOW', reason: '' }]);
    const plan = await history.db
      .selectFrom('plans')
      .selectAll()
      .where('plan_id', '=', hex(3))
      .executeTakeFirstOrThrow();
    expect(JSON.parse(plan.fields)).toEqual(planFields(3));

    // The group was read to the end and every entry acknowledged.
    const groups = await store.groups(store.keys.planStream());
    expect(groups.find((g) => g.name === HISTORY_GROUP)).toMatchObject({ pending: 0 });
    const text = await registry.metrics();
    expect(text).toMatch(/quantum_history_rows_total\{table="plans"\} 12/);
    expect(text).toMatch(/quantum_history_lag_entries\{stream="apply.plan"\} 0/);

    // A restart from the start of the streams (the group moved back) rewrites nothing.
    for (const key of [store.keys.planStream(), store.keys.resultStream(), store.keys.orderEvents()]) {
      await store.del([key]);
    }
    for (let i = 1; i <= 12; i++) await publishPlan(store, i);
    const again = recorderOn(store, history);
    again.recorder.start();
    await until(async () => (await again.recorder.lag()).every((l) => l.entries === 0), 8000, 'lag 0 again');
    await again.recorder.stop();
    expect(await countRows(history.db)).toEqual({ ...want, decisions: 48 });
    expect(await again.registry.metrics()).toMatch(/quantum_history_rows_total\{table="plans"\} 0/);
  });

  it('skips an entry that does not parse with a reason and a metric, and records the rest', async () => {
    await fresh();
    await store.xadd(store.keys.planStream(), { ...planFields(1), plan_id: 'not-a-plan' });
    await store.xadd(store.keys.planStream(), planFields(2, 'SKIP'));
    const { recorder, registry, logs } = recorderOn(store, history);
    recorder.start();
    await until(async () => (await countRows(history.db)).plans === 1, 8000, 'the good plan');
    await until(async () => (await recorder.lag()).every((l) => l.entries === 0), 8000, 'lag 0');
    await recorder.stop();
    expect(await registry.metrics()).toMatch(
      /quantum_history_skipped_total\{stream="apply.plan",reason="bad_plan_id"\} 1/,
    );
    expect(logs.lines().some((l) => l.msg === 'history recorder: entry not recorded')).toBe(true);
    const row = await history.db.selectFrom('plans').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ plan_id: hex(2), decision: 'SKIP', reason_codes: 'kill_score_critical' });
  });

  it('a stream deleted under a running recorder gets its group again and goes on recording', async () => {
    await fresh();
    await publishPlan(store, 1);
    const { recorder } = recorderOn(store, history);
    recorder.start();
    await until(async () => (await countRows(history.db)).plans === 1, 8000, 'plan 1');
    await store.del([store.keys.planStream()]);
    await store.xadd(store.keys.planStream(), planFields(2));
    await until(async () => (await countRows(history.db)).plans === 2, 8000, 'plan 2 after the delete');
    await recorder.stop();
  });

  it('an answer read again with its intent after the intent alone was written is applied; an older one never', async () => {
    await fresh();
    await publishPlan(store, 1);
    const events = await store.xrange(store.keys.orderEvents(), '-', '+');
    const intentOnly = emptyBatch();
    addEntries(intentOnly, 'apply.orders', events.slice(0, 1));
    await writeBatch(history, intentOnly);
    expect(await history.db.selectFrom('orders').select('state').execute()).toEqual([{ state: 'sending' }]);
    await backfill(store, history);
    expect(await history.db.selectFrom('orders').select('state').execute()).toEqual([{ state: 'filled' }]);
    const stale = { state: 'unknown' };
    const written = await writeBatch(history, {
      ...emptyBatch(),
      orders: [{ kind: 'update', planId: hex(1), set: stale, atMs: T0, streamId: `${T0}-0`, fields: '{}' }],
    });
    expect(written.orders).toBe(0);
    const order = await history.db.selectFrom('orders').selectAll().executeTakeFirstOrThrow();
    expect(order).toMatchObject({ state: 'filled', order_id: '1001' });
  });

  it('an intent written before its order was sized takes its side and quantity from the write after the request, in one batch or two', async () => {
    await fresh();
    const early = (id: string) => ({
      plan_id: id,
      step: 'CLOSE_FULL',
      kind: 'market',
      client_order_id: `qa-${id}-CLOSE_FULL`,
      symbol: 'BTCUSDT',
      state: 'sending',
      at: String(T0),
    });
    const k = store.keys;
    for (const id of [hex(7), hex(8)]) {
      await store.xadd(k.orderEvents(), orderEventFields(id, 'BTCUSDT', early(id), T0));
      await store.xadd(
        k.orderEvents(),
        orderEventFields(id, 'BTCUSDT', { side: 'BUY', quantity: '0.25', trigger_price: '' }, T0 + 1),
      );
      await store.xadd(
        k.orderEvents(),
        orderEventFields(id, 'BTCUSDT', { state: 'filled', order_id: '7', executed_qty: '0.25' }, T0 + 2),
      );
    }
    // hex(7): the intent alone first, the rest in a later batch; hex(8): all three in one.
    const events = await store.xrange(k.orderEvents(), '-', '+');
    const intentOnly = emptyBatch();
    addEntries(intentOnly, 'apply.orders', events.slice(0, 1));
    await writeBatch(history, intentOnly);
    expect(await history.db.selectFrom('orders').select(['side', 'quantity']).execute()).toEqual([
      { side: '', quantity: '' },
    ]);
    await backfill(store, history);
    const rows = await history.db
      .selectFrom('orders')
      .select(['plan_id', 'side', 'quantity', 'state'])
      .orderBy('plan_id')
      .execute();
    expect(rows).toEqual([
      { plan_id: hex(7), side: 'BUY', quantity: '0.25', state: 'filled' },
      { plan_id: hex(8), side: 'BUY', quantity: '0.25', state: 'filled' },
    ]);
  });

  it('backfill records what the streams hold, once; retention prunes rows past the cutoff', async () => {
    await fresh();
    for (let i = 1; i <= 4; i++) await publishPlan(store, i);
    const first = await backfill(store, history);
    expect(first.read).toMatchObject({ 'apply.plan': 4, 'apply.orders': 8, 'p33.decisions': 4 });
    // Each order's intent and answer are one row, written once.
    expect(first.written).toEqual({ plans: 4, decisions: 8, results: 4, orders: 4 });
    const second = await backfill(store, history, { page: 3 });
    expect(second.written).toEqual({ plans: 0, decisions: 0, results: 0, orders: 0 });
    expect(await countRows(history.db)).toEqual({ plans: 4, decisions: 8, results: 4, orders: 4 });

    // Make plan 1 and its rows 10 days old.
    const old = Date.now() - 10 * DAY_MS;
    await history.db.updateTable('plans').set({ at_ms: old }).where('plan_id', '=', hex(1)).execute();
    await history.db.updateTable('decisions').set({ at_ms: old }).where('plan_id', '=', hex(1)).execute();
    await history.db.updateTable('results').set({ at_ms: old }).where('plan_id', '=', hex(1)).execute();
    await history.db
      .updateTable('orders')
      .set({ updated_at_ms: old })
      .where('plan_id', '=', hex(1))
      .execute();
    expect(retentionCutoff(Date.now(), 0)).toBeNull();
    const pruned = await pruneHistory(history, retentionCutoff(Date.now(), 7)!);
    expect(pruned).toEqual({ plans: 1, decisions: 2, results: 1, orders: 1 });
    expect(await countRows(history.db)).toEqual({ plans: 3, decisions: 6, results: 3, orders: 3 });
  });
}

describe('history recorder on SQLite', () => {
  recorderSuite(() => 'sqlite::memory:');
});

describe.skipIf(skipPostgres)('history recorder on PostgreSQL', () => {
  const db = usePrivateDatabase();
  recorderSuite(() => db.url);
});
