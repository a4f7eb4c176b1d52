/**
 * A market close's order intent rides right behind the consume that takes its permits
 * (orders.ts startIntent): written before the live position is read, so its round trip is off
 * the order's path. It names the order before the request leaves; its side and quantity follow
 * the request out; a plan that ends without sending says cancelled; a fence gone old is asked
 * again. On a real Redis (the apply service) and on the memory store with a clock moved by hand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decide } from '../../../src/domain/plan.js';
import { parseProposal } from '../../../src/domain/proposal.js';
import {
  clientOrderIdFor,
  type MarketReduceRequest,
  type OrderOutcome,
  type Position,
} from '../../../src/exchange/port.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { captureLogger } from '../../../src/ops/logger.js';
import { startIntent, storeIntents } from '../../../src/services/apply/intents.js';
import { executeOrderStep } from '../../../src/services/apply/orders.js';
import { stepRequest } from '../../../src/services/apply/outcome.js';
import { MemoryStore } from '../../../src/store/index.js';
import type { LeaseOps } from '../../../src/store/lease-port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { T0 } from '../../helpers/clock.js';
import { until } from '../../helpers/wait.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import {
  BASE_OPTIONS,
  HARNESS_POSITIONS,
  govBody,
  makeHarness,
  p33Body,
  planIdFor,
  proposal,
  type Harness,
} from './harness.js';

/** Holds every position read until released; looks at the intent as each order is placed. */
class HeldExchange extends FakeExchange {
  private release: (() => void) | null = null;
  private gate: Promise<void> = new Promise((r) => (this.release = r));
  held = 0;
  intentAtOrder: Record<string, string> | null = null;
  readIntent: (() => Promise<Record<string, string>>) | null = null;

  override async position(symbol: string, opts?: { maxAgeMs?: number }): Promise<Position> {
    const read = super.position(symbol, opts);
    this.held++;
    await this.gate;
    return read;
  }

  open(): void {
    this.release?.();
  }

  override async placeReduceOnlyMarket(req: MarketReduceRequest): Promise<OrderOutcome> {
    // Asked before the order is booked: what Redis holds as the request leaves.
    this.intentAtOrder = (await this.readIntent?.()) ?? null;
    return super.placeReduceOnlyMarket(req);
  }
}

describe.skipIf(skipRedis)('apply: the order intent behind the consume (real Redis)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  const run = async (ex: HeldExchange, action: string) => {
    h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() }, {}, ex);
    await h.service.start();
    const fields = proposal(action, '0.3');
    const id = planIdFor('BTCUSDT', fields);
    const intentKey = h.store.keys.orderIntent(id, 'BTCUSDT');
    const store = h.store;
    ex.readIntent = () => store.hgetall(intentKey);
    await h.writeProposal('BTCUSDT', fields);
    await until(async () => (await h!.plans()).length > 0, 1000, 'the plan');
    return { t: h, id, intent: () => store.hgetall(intentKey) };
  };

  it('when the permits are consumed then the intent names the order before the position is read, and its side and quantity follow the order out', async () => {
    const ex = new HeldExchange({ ...HARNESS_POSITIONS });
    const { t, id, intent } = await run(ex, 'PARTIAL_50');
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    await until(() => ex.held > 0, 2000, 'the position read');
    await until(async () => (await intent()).state === 'sending', 2000, 'the intent');
    const cid = clientOrderIdFor(id, 'CLOSE_PARTIAL_50');
    const early = await intent();
    expect(early).toMatchObject({ plan_id: id, client_order_id: cid, kind: 'market', state: 'sending' });
    expect(early.side).toBeUndefined();
    expect(early.quantity).toBeUndefined();
    expect(ex.calls.some((c) => c.method === 'placeReduceOnlyMarket')).toBe(false);

    ex.open();
    const [res] = await t.waitForResults(1);
    expect(res!.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    // As the request left, Redis named it; side and quantity came right after.
    expect(ex.intentAtOrder).toMatchObject({ client_order_id: cid, state: 'sending' });
    expect(await intent()).toMatchObject({
      client_order_id: cid,
      side: 'SELL',
      quantity: '0.005',
      state: 'filled',
    });
    // The order events stream carries the same three writes, in order.
    const events = (await t.store.xrevrange(t.store.keys.orderEvents(), '+', '-', 10))
      .reverse()
      .map((e) => e.fields)
      .filter((f) => f.plan_id === id);
    expect(events.map((f) => f.state ?? `side=${f.side} quantity=${f.quantity}`)).toEqual([
      'sending',
      'side=SELL quantity=0.005',
      'filled',
    ]);
  });

  it('when the live position refuses the plan then its intent says cancelled with the reason and nothing is sent', async () => {
    const ex = new HeldExchange({ ...HARNESS_POSITIONS });
    ex.open();
    const { t, id, intent } = await run(ex, 'FULL_CLOSE_PROPOSED');
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    // P3.3 allows the whole 0.01 it saw; the position is 0.004 by the time its permit is written.
    ex.setPosition('BTCUSDT', 0.004);
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.01));
    const [res] = await t.waitForResults(1);
    expect(res!.fields).toMatchObject({ decision: 'BLOCKED', error: 'safe_qty_exceeds_position' });
    expect(await intent()).toMatchObject({ state: 'cancelled', reason: 'safe_qty_exceeds_position' });
    expect(ex.calls.some((c) => c.method === 'placeReduceOnlyMarket')).toBe(false);
  });
});

describe('apply: an early intent whose fence has grown old (memory store, clock by hand)', () => {
  const SYMBOL = 'BTCUSDT';

  /** `failEarly`: the intent sent behind the consume fails (its connection dropped, say). */
  const setup = async (failEarly = false) => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore({ clock, sweepMs: 0 });
    const exchange = new FakeExchange({ [SYMBOL]: 0.01 });
    const ownership = { owns: () => true, token: 'me', intentGraceMs: 30_000 };
    const deps = {
      store,
      exchange,
      clock,
      logger: captureLogger().logger,
      ownership,
    };
    const intents = storeIntents(deps, 21600);
    const parsed = parseProposal(SYMBOL, { ...proposal('FULL_CLOSE_PROPOSED', '0.3') });
    if (!parsed.ok) throw new Error(parsed.reason);
    const plan = decide(parsed.proposal, {
      killSwitch: false,
      allowlist: new Set([SYMBOL]),
      kBlockCritical: BASE_OPTIONS.kBlockCritical,
      kBlockWarning: BASE_OPTIONS.kBlockWarning,
      nowSec: Date.now() / 1000,
      maxProposalAgeSec: BASE_OPTIONS.maxProposalAgeSec,
    });
    if (plan.decision !== 'EXECUTE') throw new Error(`plan not EXECUTE: ${plan.reasonCodes.join(',')}`);
    const step = plan.steps[0]!;
    const clientId = clientOrderIdFor(plan.planId, step.step);
    const lease = store.keys.symbolLease(SYMBOL);
    await store.leases.acquire(lease, 'me', 60_000);
    const permits = [store.keys.governorPermit(plan.planId), store.keys.p33Permit(plan.planId)];
    for (const k of permits) await store.set(k, '{}', { ttlSec: 60 });
    const receiptKey = store.keys.permitReceipt(plan.planId);
    await store.consumePermits(permits, receiptKey, 'tok', 60);
    const create = store.leases.createIntent.bind(store.leases);
    if (failEarly) {
      (store.leases as { createIntent: LeaseOps['createIntent'] }).createIntent = (
        keys,
        token,
        fields,
        ttl,
        consumeToken,
      ) =>
        consumeToken === undefined
          ? create(keys, token, fields, ttl)
          : Promise.reject(new Error('Connection is closed.'));
    }
    const early = startIntent(intents, clock, plan, step, clientId, { receiptKey, token: 'tok' });
    expect(await early.created.catch(() => 'failed')).toBe(failEarly ? 'failed' : 'written');
    const req = stepRequest({
      plan,
      step,
      clientId,
      side: 'SELL',
      quantity: '0.010',
      rules: await exchange.symbolRules(SYMBOL),
      markPrice: Number.NaN,
    });
    if ('refused' in req) throw new Error(req.refused);
    const send = () =>
      executeOrderStep({
        deps,
        intents,
        plan,
        step,
        req,
        detectedAtMs: T0,
        log: captureLogger().logger,
        disarmed: async () => false,
        early,
      });
    const intent = () => store.hgetall(store.keys.orderIntent(plan.planId));
    const orders = () => exchange.calls.filter((c) => c.method === 'placeReduceOnlyMarket').length;
    return { clock, store, lease, send, intent, orders };
  };

  it('when the lease moved while the position was read for long then nothing is sent and the intent says why', async () => {
    const s = await setup();
    s.clock.advance(1_000);
    await s.store.leases.release(s.lease, 'me');
    await s.store.leases.acquire(s.lease, 'other', 60_000);
    const out = await s.send();
    expect(out).toMatchObject({ decision: 'ERROR', abandoned: 'lease_lost' });
    expect(s.orders()).toBe(0);
    expect(await s.intent()).toMatchObject({ state: 'cancelled', reason: 'lease_lost' });
  });

  it('when the intent sent behind the consume failed then the order path writes it before sending', async () => {
    const s = await setup(true);
    expect(await s.intent()).toEqual({});
    const out = await s.send();
    expect(out).toMatchObject({ decision: 'EXECUTE', executed: true });
    expect(s.orders()).toBe(1);
    expect(await s.intent()).toMatchObject({ state: 'filled', side: 'SELL', quantity: '0.010' });
  });

  it('when the fence is old but the lease is still ours then the order goes, named by its intent', async () => {
    const s = await setup();
    s.clock.advance(1_000);
    const out = await s.send();
    expect(out).toMatchObject({ decision: 'EXECUTE', executed: true });
    expect(s.orders()).toBe(1);
    expect(await s.intent()).toMatchObject({ state: 'filled', side: 'SELL', quantity: '0.010' });
  });
});
