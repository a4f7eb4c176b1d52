/**
 * SIGKILL of an apply process at each step boundary (QUANTUM_TEST_CRASH_AT), then a fresh
 * process on the same Redis and exchange: no second order, the plan ends with exactly one
 * result, and the result tells the truth about the order (recovered by client order id).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { CRASH_BOUNDARIES, type CrashBoundary } from '../../src/services/apply/crash-point.js';
import { createStore } from '../../src/store/index.js';
import { skipRedis, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { planIdFor } from '../services/apply/harness.js';
import { baseEnv, killAllWorkers, spawnWorker } from './procs.js';
import { audit, report, FakeAuthority, feed, PAPER_KEYS, POSITIONS, until } from './rig.js';

/** What the restarted process must report for a plan killed at each boundary. */
const EXPECTED: Record<CrashBoundary, { orders: number; decision: string; error: RegExp }> = {
  // Permits consumed, no intent: nothing was sent, and the plan is not retried with spent permits.
  after_consume: { orders: 0, decision: 'ERROR', error: /^interrupted_before_send$/ },
  // The order filled but nothing was recorded: found by its client order id.
  after_send: { orders: 1, decision: 'EXECUTE', error: /^$/ },
  after_fill: { orders: 1, decision: 'EXECUTE', error: /^$/ },
  before_result: { orders: 1, decision: 'EXECUTE', error: /^$/ },
};

describe.skipIf(skipRedis)('crash at each step boundary', () => {
  let server: RedisServerHandle;
  let paper: PaperExchange;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    killAllWorkers();
    await server?.stop();
  });

  it.each(CRASH_BOUNDARIES.map((b) => [b]))(
    'when the apply process is SIGKILLed %s then a restarted process publishes exactly one truthful result and sends nothing again',
    async (boundary) => {
      paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS, positions: POSITIONS });
      const prefix = server.prefix();
      const store = await createStore({ url: server.url, prefix });
      const authority = new FakeAuthority(await createStore({ url: server.url, prefix }));
      authority.start();
      const env = baseEnv(server.url, prefix, paper.url);
      try {
        const doomed = spawnWorker(`crash-${boundary}`, { ...env, QUANTUM_TEST_CRASH_AT: boundary });
        await doomed.waitReady();
        const planId = planIdFor('BTCUSDT', await feed(store, 'BTCUSDT', 'PARTIAL_50'));
        const exit = await doomed.exited;
        expect(exit.signal).toBe('SIGKILL');
        expect(await store.xlen(store.keys.resultStream())).toBe(0);

        const next = spawnWorker(`after-${boundary}`, env);
        await next.waitReady();
        const [result] = await until('the recovered result', async () => {
          const r = await store.xrange(store.keys.resultStream(), '-', '+');
          return r.length > 0 ? r : null;
        });
        await new Promise((r) => setTimeout(r, 400)); // a second result would show up by now
        const a = await audit(store, paper);
        report(`crash-${boundary}`, a, { decision: result!.fields.decision, error: result!.fields.error });
        await next.stop();

        const want = EXPECTED[boundary];
        expect(result!.fields.plan_id).toBe(planId);
        expect(result!.fields.decision).toBe(want.decision);
        expect(result!.fields.error).toMatch(want.error);
        expect(paper.state.orders.length).toBe(want.orders);
        expect(a.results).toBe(1);
        expect(a.lost).toEqual([]);
        expect(a.duplicateOrders).toEqual([]);
        expect(a.unpermitted).toEqual([]);
        expect(a.misreported).toEqual([]);
      } finally {
        killAllWorkers();
        await authority.stop();
        await store.close();
        await paper.close();
      }
    },
    40_000,
  );
});
