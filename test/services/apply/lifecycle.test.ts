import { afterEach, describe, expect, it } from 'vitest';
import { clientOrderIdFor } from '../../../src/exchange/port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { skipRedis, startRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { govBody, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';
import { sleep, until } from '../../helpers/wait.js';

describe.skipIf(skipRedis)('apply lifecycle: duplicates, concurrency, restarts, outages (real Redis)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });
  const harness = async (over: Parameters<typeof makeHarness>[1] = {}, ex?: FakeExchange) => {
    h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() }, over, ex);
    await h.service.start();
    return h;
  };

  it('when an unchanged proposal is swept many times and the service restarts then one plan and one result exist', async () => {
    const t = await harness();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    await t.writeProposal('BTCUSDT', fields);
    await t.waitForResults(1);
    await sleep(250); // ~5 sweeps
    await t.writeProposal('BTCUSDT', fields); // rewritten unchanged: a change event, same plan id
    await t.restartService();
    await sleep(250);
    // the stream_published marker expiring must not matter either: the result marker is durable
    await t.store.del([t.store.keys.streamPublished(id)]);
    await t.restartService();
    await sleep(250);
    expect((await t.plans()).map((e) => e.fields.plan_id)).toEqual([id]);
    expect((await t.results()).map((e) => e.fields.plan_id)).toEqual([id]);
    expect(t.exchange.orders).toHaveLength(1);
  });

  it('when the sweep is an hour away then a changed proposal is still picked up by its change notification', async () => {
    const t = await harness({ pollSec: 3600 });
    await sleep(50); // the start-up sweep has passed
    await t.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    const [res] = await t.waitForResults(1, 3000);
    expect(res?.fields).toMatchObject({ symbol: 'SOLUSDT', decision: 'SKIP', error: 'action_hold' });
  });

  it('when notifications are not used then the periodic sweep picks the proposal up', async () => {
    const t = await harness({ notifications: false, pollSec: 0.1 });
    await sleep(50);
    await t.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    const [res] = await t.waitForResults(1, 3000);
    expect(res?.fields).toMatchObject({ symbol: 'SOLUSDT', decision: 'SKIP' });
  });

  it('when one symbol waits 1.2 s for permits then another symbol is executed meanwhile', async () => {
    const t = await harness({ permitWaitMs: 1200, permitStepMs: 100 });
    const slow = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const fast = proposal('PARTIAL_50', '0.1');
    const fastId = planIdFor('ETHUSDT', fast);
    await t.writeProposal('BTCUSDT', slow); // no permits will come
    await until(async () => (await t.plans()).length === 1, 5000, 'the slow plan');
    await t.setPermit('governor', fastId, govBody('ETHUSDT'));
    await t.setPermit('p33', fastId, p33Body('ETHUSDT', 0.2));
    await t.writeProposal('ETHUSDT', fast);
    const [first] = await t.waitForResults(1);
    expect(first?.fields).toMatchObject({ symbol: 'ETHUSDT', decision: 'EXECUTE', executed: 'True' });
    const results = await t.waitForResults(2);
    expect(results[1]?.fields).toMatchObject({
      symbol: 'BTCUSDT',
      error: 'permit_timeout_or_missing:missing_both',
    });
  });

  it('when a proposal changes while its symbol has a plan in flight then the new one is handled after it', async () => {
    const t = await harness({ permitWaitMs: 400 });
    const a = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const b = proposal('HOLD', '0.1');
    await t.writeProposal('BTCUSDT', a);
    await until(async () => (await t.plans()).length === 1, 5000, 'plan a');
    await t.writeProposal('BTCUSDT', b);
    await t.writeProposal('BTCUSDT', b);
    const results = await t.waitForResults(2);
    // a's result (after its 400 ms wait) comes before b's plan: one plan in flight per symbol
    const plans = await t.plans();
    expect(plans.map((p) => p.fields.action)).toEqual(['FULL_CLOSE_PROPOSED', 'HOLD']);
    expect(results.map((r) => r.fields.plan_id)).toEqual([planIdFor('BTCUSDT', a), planIdFor('BTCUSDT', b)]);
    expect(BigInt(plans[1]!.id.split('-')[0]!)).toBeGreaterThanOrEqual(BigInt(results[0]!.id.split('-')[0]!));
  });

  it('when the service is stopped during a permit wait then the plan still gets its result before stop resolves', async () => {
    const t = await harness({ permitWaitMs: 300 });
    await t.writeProposal('BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'));
    await until(async () => (await t.plans()).length === 1, 5000, 'the plan');
    await t.service.stop();
    expect((await t.results()).map((r) => r.fields.decision)).toEqual(['BLOCKED']);
  });

  it('when an intent without a result is found after a crash then the exchange is asked and nothing is resent', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    const t = await harness({}, ex);
    await t.service.stop();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    const clientOrderId = clientOrderIdFor(id, 'CLOSE_FULL');
    // the previous process: dedupe set, plan published, intent written, order filled, then crash
    await ex.placeReduceOnlyMarket({ symbol: 'BTCUSDT', side: 'SELL', quantity: '0.005', clientOrderId });
    await t.store.set(t.store.keys.dedupe(id), '1769300000', { ttlSec: 600 });
    await t.store.hset(t.store.keys.orderIntent(id), {
      plan_id: id,
      step: 'CLOSE_FULL',
      kind: 'market',
      client_order_id: clientOrderId,
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: '0.005',
      state: 'sending',
    });
    await t.writeProposal('BTCUSDT', fields);
    await t.restartService();
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ plan_id: id, decision: 'EXECUTE', executed: 'True' });
    expect(ex.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toHaveLength(1);
    expect(ex.calls.some((c) => c.method === 'findOrder')).toBe(true);
    expect(await t.store.hgetall(t.store.keys.orderIntent(id))).toMatchObject({ state: 'filled' });
  });

  it.each([
    ['placed it', true, 'EXECUTE', 'placed'],
    ['has no such stop', false, 'ERROR', 'sending'],
  ] as const)(
    'when a stop-loss intent without a result is found after a crash and the exchange %s then the result says so and nothing is resent',
    async (_what, placedBefore, decision, intentState) => {
      const ex = new FakeExchange({ ETHUSDT: 2 });
      const t = await harness({}, ex);
      await t.service.stop();
      const fields = proposal('UPDATE_SL', '0.1', { new_sl_proposed: '2812.5' });
      const id = planIdFor('ETHUSDT', fields);
      const clientAlgoId = clientOrderIdFor(id, 'UPDATE_SL');
      // the previous process: dedupe set, intent written, stop sent (or not), then killed
      if (placedBefore)
        await ex.placeStopLoss({ symbol: 'ETHUSDT', side: 'SELL', triggerPrice: '2812.5', clientAlgoId });
      await t.store.set(t.store.keys.dedupe(id), '1769300000', { ttlSec: 600 });
      await t.store.hset(t.store.keys.orderIntent(id), {
        plan_id: id,
        step: 'UPDATE_SL',
        kind: 'stop',
        client_order_id: clientAlgoId,
        symbol: 'ETHUSDT',
        side: 'SELL',
        trigger_price: '2812.5',
        state: 'sending',
      });
      await t.writeProposal('ETHUSDT', fields);
      await t.restartService();
      const [res] = await t.waitForResults(1);
      expect(res?.fields).toMatchObject({ plan_id: id, decision });
      if (placedBefore)
        expect(JSON.parse(res!.fields.steps_results!)[0]).toMatchObject({ order_id: '1', side: 'SELL' });
      else expect(res?.fields.error).toBe('order_status_unknown');
      expect(ex.calls.filter((c) => c.method === 'placeStopLoss')).toHaveLength(placedBefore ? 1 : 0);
      expect(ex.calls.some((c) => c.method === 'findStopLoss')).toBe(true);
      expect(await t.store.hgetall(t.store.keys.orderIntent(id))).toMatchObject({ state: intentState });
    },
  );

  it('when an order went out but the proposal changed before the restart then start-up recovery publishes its result', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    const t = await harness({}, ex);
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length === 1, 5000, 'the plan');
    // the process "dies" after the order left: simulate by filling the order and writing the
    // intent ourselves, then stopping before any permit arrives (its own result is then removed)
    await t.service.stop();
    const clientOrderId = clientOrderIdFor(id, 'CLOSE_FULL');
    await ex.placeReduceOnlyMarket({ symbol: 'BTCUSDT', side: 'SELL', quantity: '0.004', clientOrderId });
    await t.store.del([t.store.keys.resultPublished(id), t.store.keys.resultStream()]);
    await t.store.hset(t.store.keys.orderIntent(id), {
      plan_id: id,
      step: 'CLOSE_FULL',
      kind: 'market',
      client_order_id: clientOrderId,
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: '0.004',
      state: 'sending',
    });
    await t.writeProposal('BTCUSDT', proposal('HOLD', '0.1')); // upstream moved on meanwhile
    await t.restartService();
    const results = await t.waitForResults(2);
    expect(results[0]?.fields).toMatchObject({ plan_id: id, decision: 'EXECUTE', executed: 'True' });
    expect(JSON.parse(results[0]!.fields.steps_results!)[0]).toMatchObject({
      order_id: '1',
      executed_qty: '0.004',
    });
    expect(results[1]?.fields).toMatchObject({ decision: 'SKIP', error: 'action_hold' });
    expect(ex.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toHaveLength(1);
  });

  it('when Redis goes away and comes back then the service keeps running and handles new proposals', async () => {
    const own = await startRedis();
    try {
      h = await makeHarness({ redisUrl: own.url, prefix: own.prefix() });
      const t = h;
      await t.service.start();
      await t.writeProposal('BTCUSDT', proposal('HOLD', '0.1'));
      await t.waitForResults(1);
      await own.stop(); // the service sees errors meanwhile; all data is gone afterwards
      await sleep(400);
      await own.restart();
      const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
      const id = planIdFor('ETHUSDT', fields);
      await until(
        async () => {
          try {
            await t.setPermit('governor', id, govBody('ETHUSDT'));
            await t.setPermit('p33', id, p33Body('ETHUSDT', 0.3));
            await t.writeProposal('ETHUSDT', fields);
            return true;
          } catch {
            return false;
          }
        },
        5000,
        'Redis back',
      );
      await until(async () => (await t.results().catch(() => [])).length >= 1, 10_000, 'result after outage');
      const results = await t.results();
      expect(results.find((r) => r.fields.plan_id === id)?.fields).toMatchObject({
        decision: 'EXECUTE',
        executed: 'True',
      });
      expect(t.service.health().running).toBe(true);
      // The outage was seen: the subscriber connection was lost (runs may or may not have failed:
      // with notifications on, an idle service sends nothing but its sweep probe meanwhile).
      expect(t.store.notificationEpoch()).toBeGreaterThan(0);
    } finally {
      await h?.close();
      h = null;
      await own.stop();
    }
  });
});
