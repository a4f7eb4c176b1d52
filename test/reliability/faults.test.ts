/**
 * Faults around the apply replicas: exchange faults from the paper exchange (5XX, unknown
 * status after a fill, timeouts before and after a fill, dropped and garbled answers, 429/418,
 * latency past the client timeout, failing order queries during recovery), permits expiring
 * mid-wait, and replicas on skewed clocks. Each plan: at most one order, exactly one result,
 * an order only with a full permit set, and a result that matches what the exchange did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type FaultSpec, type PaperExchange } from '../../src/exchange/paper/index.js';
import type { Clock } from '../../src/ops/clock.js';
import type { ApplyOptions } from '../../src/services/apply/options.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { planIdFor } from '../services/apply/harness.js';
import {
  audit,
  report,
  FakeAuthority,
  feed,
  grantBodies,
  PAPER_KEYS,
  POSITIONS,
  startReplica,
  type PermitPolicy,
  type Replica,
} from './rig.js';
import { until, sleep } from '../helpers/wait.js';

const ORDER = { endpoint: '/fapi/v1/order', method: 'POST' } as const;

/** fault, whether the exchange processed the order (so the result must say EXECUTE). */
const EXCHANGE_FAULTS: Array<[string, FaultSpec[], boolean]> = [
  ['a 503 before processing', [{ ...ORDER, status5xx: 503, count: 1 }], false],
  ['a 500 before processing', [{ ...ORDER, status5xx: 500, count: 1 }], false],
  ['an unknown status after the fill', [{ ...ORDER, unknownAfterFill: true, count: 1 }], true],
  ['a timeout without processing', [{ ...ORDER, timeout: true, count: 1 }], false],
  ['a timeout after the fill', [{ ...ORDER, timeoutAfterFill: true, count: 1 }], true],
  ['a dropped connection after the fill', [{ ...ORDER, dropAfterFill: true, count: 1 }], true],
  ['a garbled answer after the fill', [{ ...ORDER, garbageAfterFill: true, count: 1 }], true],
  ['a 429', [{ ...ORDER, rateLimit: { status: 429, retryAfterSec: 0 }, count: 1 }], false],
  ['a 418', [{ ...ORDER, rateLimit: { status: 418, retryAfterSec: 0 }, count: 1 }], false],
  // The client gives up at 800 ms; the exchange matches at 900 ms, inside the 1 s recvWindow.
  ['latency past the client timeout', [{ ...ORDER, latencyMs: 900, count: 1 }], true],
  // Past the recvWindow the exchange refuses at matching (-5028): nothing fills.
  ['latency past the recvWindow', [{ ...ORDER, latencyMs: 1300, count: 1 }], false],
  [
    'an unknown status and failing order queries',
    [
      { ...ORDER, unknownAfterFill: true, count: 1 },
      // The first query is the lookup before the send; the next two are recovery's.
      { endpoint: '/fapi/v1/order', method: 'GET', status5xx: 502, count: 2, skip: 1 },
    ],
    true,
  ],
  // The exchange cannot say whether the plan was sent before: nothing is sent.
  [
    'failing order queries before the send',
    [{ endpoint: '/fapi/v1/order', method: 'GET', status5xx: 502, count: 4 }],
    false,
  ],
];

async function oneResult(store: Store, planId: string) {
  return until(
    async () => {
      const r = await store.xrange(store.keys.resultStream(), '-', '+');
      const mine = r.filter((e) => e.fields.plan_id === planId);
      return mine.length > 0 ? mine : null;
    },
    15_000,
    `result of ${planId}`,
  );
}

function rig(
  name: string,
  opts: { clocks?: Clock[]; policy?: PermitPolicy; apply?: Partial<ApplyOptions> } = {},
) {
  const ctx = { server: usePrivateRedis() } as {
    server: RedisServerHandle;
    paper: PaperExchange;
    store: Store;
    authority: FakeAuthority;
    replicas: Replica[];
  };
  beforeAll(async () => {
    ctx.paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS, positions: POSITIONS });
    const prefix = ctx.server.prefix();
    ctx.store = await createStore({ url: ctx.server.url, prefix });
    ctx.authority = new FakeAuthority(await createStore({ url: ctx.server.url, prefix }), opts.policy);
    ctx.authority.start();
    const clocks = opts.clocks ?? [undefined, undefined];
    ctx.replicas = [];
    for (const [i, clock] of clocks.entries()) {
      ctx.replicas.push(
        await startReplica(`${name}${i}`, ctx.server.url, prefix, ctx.paper, { clock, opts: opts.apply }),
      );
    }
  });
  afterAll(async () => {
    await ctx.authority?.stop();
    await Promise.allSettled((ctx.replicas ?? []).map((r) => r.stop()));
    await ctx.store?.close();
    await ctx.paper?.close();
  });
  return ctx;
}

describe.skipIf(skipRedis)('exchange faults', () => {
  const ctx = rig('fx');

  it.each(EXCHANGE_FAULTS)(
    'when the order meets %s then one result and at most one order, reported truthfully',
    async (_name, faults, processed) => {
      const { store, paper } = ctx;
      paper.faults.set(faults);
      const planId = planIdFor('BTCUSDT', await feed(store, 'BTCUSDT'));
      const [result] = await oneResult(store, planId);
      paper.faults.clear();
      const orders = paper.state.orders.filter((o) => o.clientOrderId.includes(planId));
      if (process.env.RELIABILITY_REPORT) {
        const f = result!.fields;
        process.stdout.write(
          `[reliability] fault "${_name}" orders=${orders.length} decision=${f.decision} error=${f.error}\n`,
        );
      }
      expect(orders.length).toBe(processed ? 1 : 0);
      expect(result!.fields.decision).toBe(processed ? 'EXECUTE' : 'ERROR');
      expect(result!.fields.executed).toBe(processed ? 'True' : 'False');
    },
    20_000,
  );

  it('when every fault scenario has run then the books show no lost, duplicate or unpermitted order', async () => {
    await sleep(300);
    const a = await audit(ctx.store, ctx.paper);
    report('exchange-faults', a);
    expect(a.executePlans).toBe(EXCHANGE_FAULTS.length);
    expect(a).toMatchObject({
      lost: [],
      duplicateResults: [],
      duplicateOrders: [],
      unpermitted: [],
      misreported: [],
      overclosed: [],
      doubleFilled: [],
    });
  });
});

describe.skipIf(skipRedis)('permits expiring mid-wait', () => {
  // The governor's permit lives 1 s; P3.3's arrives after 1.2 s, inside the 1.5 s wait.
  const ctx = rig('exp', {
    policy: (_id, symbol) => ({ ...grantBodies(symbol), ttlSec: 1, p33DelayMs: 1200, p33TtlSec: 30 }),
  });

  it('when one permit expires before the other arrives then the plan is BLOCKED, nothing is consumed and no order goes out', async () => {
    const { store, paper } = ctx;
    const planId = planIdFor('ETHUSDT', await feed(store, 'ETHUSDT'));
    const [result] = await oneResult(store, planId);
    expect(result!.fields.decision).toBe('BLOCKED');
    expect(result!.fields.error).toBe('permit_timeout_or_missing:missing_governor');
    expect(paper.state.orders).toHaveLength(0);
    expect(await store.exists(store.keys.permit('p33', planId))).toBe(true);
    expect(await store.exists(store.keys.permitReceipt(planId))).toBe(false);
  }, 20_000);
});

describe.skipIf(skipRedis)('replicas on skewed clocks', () => {
  const skew = (ms: number): Clock => ({ now: () => Date.now() + ms });
  let seq = 0;
  const sevenMinutesBack = () =>
    `${new Date(Date.now() - 7 * 60_000).toISOString().slice(0, 23)}${String(++seq % 1000).padStart(3, '0')}Z`;
  // Proposal freshness compares the exit brain's clock with apply's: here the proposals are
  // stamped 7 minutes back and the bound is an hour, so every replica finds them fresh.
  const ctx = rig('skew', {
    clocks: [skew(7 * 60_000), skew(-7 * 60_000), skew(1234)],
    apply: { maxProposalAgeSec: 3600 },
  });

  it('when the replicas clocks are minutes apart then every plan still has one order and one result', async () => {
    const { store, paper } = ctx;
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const batch = await Promise.all(
        ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].map(async (s) =>
          planIdFor(s, await feed(store, s, 'PARTIAL_50', '0.3', { computed_at_utc: sevenMinutesBack() })),
        ),
      );
      for (const id of batch) await oneResult(store, id);
      ids.push(...batch);
    }
    const a = await audit(store, paper);
    report('skewed-clocks', a);
    expect(a.orders).toBe(ids.length);
    expect(a).toMatchObject({
      lost: [],
      duplicateResults: [],
      duplicateOrders: [],
      unpermitted: [],
      misreported: [],
      overclosed: [],
      doubleFilled: [],
    });
  }, 40_000);
});
