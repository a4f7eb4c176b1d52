/**
 * The failover reconciliation on a real private redis-server: plans run through the apply
 * service (exchange double), then their records are deleted as a failover loses them (a result
 * with its marker, a plan entry, a consume receipt, an intent). Each gap gets one audit entry,
 * a lost result exactly one replacement, over two passes and two replicas; nothing is sent.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { clientOrderIdFor } from '../../../src/exchange/port.js';
import { ManualClock, systemClock } from '../../../src/ops/clock.js';
import { captureLogger } from '../../../src/ops/logger.js';
import {
  emptyReport,
  FailoverReconciler,
  type FailoverTrigger,
} from '../../../src/services/apply/failover-reconciler.js';
import { FAILOVER_SECOND_PASS_MS, failoverPasses } from '../../../src/services/apply/failover-passes.js';
import { RecordingMetrics } from '../../../src/services/apply/metrics.js';
import { RecentSymbols } from '../../../src/services/recent-symbols.js';
import { createStore, type Store } from '../../../src/store/index.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';
import { govBody, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';

const LOOKBACK_MS = 300_000;

describe.skipIf(skipRedis)('failover reconciliation (real Redis, exchange double)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  const extra: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await h?.close();
    h = null;
    for (const c of extra.splice(0)) await c.close();
  });

  /** A plan through the service, permits granted like the fleet; its id. */
  async function runPlan(t: Harness, symbol: string): Promise<string> {
    const fields = proposal('PARTIAL_50', '0.3');
    const id = planIdFor(symbol, fields);
    const before = (await t.results()).length;
    await t.writeProposal(symbol, fields);
    await until(async () => (await t.plans()).some((p) => p.fields.plan_id === id), 2000, 'the plan');
    await t.setPermit('governor', id, govBody(symbol));
    await t.setPermit('p33', id, p33Body(symbol, symbol === 'SOLUSDT' ? 1 : 0.001));
    await t.waitForResults(before + 1);
    return id;
  }

  it('when a failover lost results, plan entries, receipts and intents then each gap gets one audit entry and each plan one result, over two passes and two replicas', async () => {
    const prefix = redis.prefix();
    const t = (h = await makeHarness(
      { redisUrl: redis.url, prefix },
      { failoverLookbackMs: LOOKBACK_MS, failoverSettleMs: 0, failoverEveryMs: 3_600_000 },
    ));
    await t.service.start();
    const [lostResult, lostEntry, lostIntent, whole] = [
      await runPlan(t, 'BTCUSDT'),
      await runPlan(t, 'ETHUSDT'),
      await runPlan(t, 'SOLUSDT'),
      await runPlan(t, 'BTCUSDT'),
    ];
    expect((await t.results()).map((r) => r.fields.error)).toEqual(['', '', '', '']);
    expect(t.exchange.orders).toHaveLength(4);
    const k = t.store.keys;
    const raw = new Redis(redis.url);
    extra.push({ close: () => raw.quit() });
    const entryOf = async (stream: string, id: string) =>
      (await t.store.xrange(stream, '-', '+')).find((e) => e.fields.plan_id === id)!.id;
    // What an asynchronous replica never received:
    await raw.xdel(k.resultStream(), await entryOf(k.resultStream(), lostResult));
    await raw.del(k.resultPublished(lostResult));
    await raw.xdel(k.planStream(), await entryOf(k.planStream(), lostEntry));
    await raw.del(k.permitReceipt(lostEntry, 'ETHUSDT'));
    await raw.del(k.orderIntent(lostIntent, 'SOLUSDT'));

    // Two replicas at once (the second with its own connection and no memory of the plans), then again.
    const other = await createStore({ url: redis.url, prefix, commandTimeout: 1000 });
    extra.push(other);
    const otherMetrics = new RecordingMetrics();
    // The plans' symbols, as a replica taking their leases over would know them from the plan
    // stream (the entry of ETHUSDT's plan is the lost one: only the process that ran it remembers).
    const active = new RecentSymbols(systemClock, LOOKBACK_MS);
    for (const s of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) active.note(s);
    const replica = new FailoverReconciler(
      {
        store: other,
        exchange: t.exchange,
        clock: systemClock,
        logger: captureLogger().logger,
        metrics: otherMetrics,
      },
      { lookbackMs: LOOKBACK_MS, dedupeTtlSec: 21600, symbols: t.opts.symbols, settleMs: 0 },
      active,
    );
    const [a, b] = await Promise.all([t.service.failover.pass('switch'), replica.pass('switch')]);
    const again = await t.service.failover.pass('periodic');

    const audit = await t.store.xrange(k.failoverAudit(), '-', '+');
    expect(audit.map((e) => [e.fields.kind, e.fields.plan_id, e.fields.action]).sort()).toEqual(
      [
        ['consume_receipt', lostEntry, 'recorded'],
        ['intent', lostIntent, 'recorded'],
        ['plan_entry', lostEntry, 'recorded'],
        ['result', lostResult, 'result_published'],
      ].sort(),
    );
    const order = t.exchange.orders.find(
      (o) => o.clientOrderId === clientOrderIdFor(lostResult, 'CLOSE_PARTIAL_50'),
    )!;
    expect(audit.find((e) => e.fields.kind === 'result')?.fields).toMatchObject({
      symbol: 'BTCUSDT',
      client_order_id: order.clientOrderId,
      order_id: order.orderId,
      executed_qty: order.executedQty,
      order_status: 'FILLED',
    });
    // One result per plan: the lost one replaced once, from the exchange's record.
    const results = await t.results();
    for (const id of [lostResult, lostEntry, lostIntent, whole])
      expect(
        results.filter((r) => r.fields.plan_id === id),
        id,
      ).toHaveLength(1);
    const replaced = results.find((r) => r.fields.plan_id === lostResult)!.fields;
    expect(replaced).toMatchObject({
      decision: 'EXECUTE',
      executed: 'True',
      would_execute: 'False',
      error: '',
    });
    expect(JSON.parse(replaced.steps_results!)[0]).toMatchObject({
      step: 'CLOSE_PARTIAL_50',
      status: 'success',
      order_id: order.orderId,
      executed_qty: order.executedQty,
    });
    // Between them the replicas recorded each gap once; the third pass finds the result no longer
    // missing, and records nothing again.
    expect(again.gaps.map((g) => g.kind).sort()).toEqual(['consume_receipt', 'intent', 'plan_entry']);
    expect(a.recorded + b.recorded).toBe(4);
    expect(again.recorded).toBe(0);
    expect(t.metrics.count('lostWrite') + otherMetrics.count('lostWrite')).toBe(4);
    // One allOrders page (weight 5) per symbol with recent activity; nothing sent or cancelled.
    expect(a).toMatchObject({ symbols: 3, weight: 15, orders: 4, waiting: 0, failedSymbols: [] });
    expect(t.exchange.orders).toHaveLength(4);
    expect(t.exchange.calls.filter((c) => c.method.startsWith('place'))).toHaveLength(4);
  });

  it('when the exchange cannot list a symbol then the pass reports it failed and records nothing for it', async () => {
    const t = (h = await makeHarness(
      { redisUrl: redis.url, prefix: redis.prefix() },
      { failoverLookbackMs: LOOKBACK_MS, failoverSettleMs: 0, failoverEveryMs: 3_600_000 },
    ));
    await t.service.start();
    const id = await runPlan(t, 'BTCUSDT');
    await t.store.del([t.store.keys.resultPublished(id)]);
    t.exchange.failWith.ordersSince = 'exchange_unavailable';
    const r = await t.service.failover.pass('switch');
    expect(r).toMatchObject({ failedSymbols: ['BTCUSDT'], gaps: [], recorded: 0 });
    expect(await t.store.xrange(t.store.keys.failoverAudit(), '-', '+')).toEqual([]);
  });
});

describe('failover reconciliation triggers', () => {
  function rig() {
    let epoch = 0;
    const clock = new ManualClock(1_800_000_000_000);
    const triggers: FailoverTrigger[] = [];
    let fail = false;
    const reconciler = {
      pass: async (trigger: FailoverTrigger) => {
        triggers.push(trigger);
        if (fail) throw new Error('redis down');
        return emptyReport(trigger);
      },
    } as unknown as FailoverReconciler;
    const store = { notificationEpoch: () => epoch } as unknown as Store;
    const metrics = new RecordingMetrics();
    const stop = failoverPasses(
      reconciler,
      { store, clock, logger: captureLogger().logger, metrics },
      { everyMs: 60_000, checkMs: 2 },
    );
    return {
      clock,
      triggers,
      metrics,
      stop,
      bump: () => void epoch++,
      failing: (f: boolean) => void (fail = f),
    };
  }

  it('when the store sees a new connection then a pass runs at once and again after the settle delay, and periodically regardless', async () => {
    const r = rig();
    try {
      await new Promise((res) => setTimeout(res, 20));
      expect(r.triggers).toEqual([]);
      r.bump();
      await until(() => r.triggers.length === 1, 2000, 'a switch pass');
      r.clock.advance(FAILOVER_SECOND_PASS_MS);
      await until(() => r.triggers.length === 2, 2000, 'the second switch pass');
      r.clock.advance(60_000);
      await until(() => r.triggers.length === 3, 2000, 'a periodic pass');
      expect(r.triggers).toEqual(['switch', 'switch', 'periodic']);
    } finally {
      await r.stop();
    }
  });

  it('when a switch pass fails then it is retried with backoff until one succeeds', async () => {
    const r = rig();
    try {
      r.failing(true);
      r.bump();
      await until(() => r.triggers.length === 1, 2000, 'a switch pass');
      // Backing off: no retry while the clock stands still.
      await new Promise((res) => setTimeout(res, 30));
      expect(r.triggers).toHaveLength(1);
      await until(
        () => {
          r.clock.advance(1000);
          return r.triggers.length >= 3;
        },
        2000,
        'retries',
      );
      r.failing(false);
      await until(
        () => {
          r.clock.advance(1000);
          return r.metrics.count('failoverPass', 'switch', 'ok') === 1;
        },
        2000,
        'a pass that succeeds',
      );
      expect(r.metrics.count('failoverPass', 'switch', 'failed')).toBeGreaterThanOrEqual(3);
    } finally {
      await r.stop();
    }
  });
});
