/**
 * `quantum-apply apply` as operators run it: through the CLI, against a private redis-server and
 * the paper exchange (signed Binance REST); alone with the fleet's permits written by hand, and
 * together with our governor and position brain replacing the whole fleet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaperExchange } from '../../../src/exchange/paper/index.js';
import type { RedisStore } from '../../../src/store/redis/redis-store.js';
import { skipRedis } from '../../helpers/redis-server.js';
import { govBody, p33Body, planIdFor, proposal } from './harness.js';
import { until } from '../../helpers/wait.js';
import { runCli, startCliRig } from '../../helpers/cli.js';

describe.skipIf(skipRedis)('quantum-apply apply through the CLI against the paper exchange', () => {
  let rig: Awaited<ReturnType<typeof startCliRig>>;
  let paper: PaperExchange;
  let store: RedisStore;
  let env: Record<string, string>;
  beforeAll(async () => {
    rig = await startCliRig({ SOLUSDT: 7, BTCUSDT: -0.015, ETHUSDT: 0.4 });
    ({ paper, store } = rig);
    env = {
      ...rig.env,
      APPLY_ALLOWLIST: 'BTCUSDT,SOLUSDT,ETHUSDT',
      APPLY_POLL_SEC: '0.2',
      APPLY_PERMIT_WAIT_MS: '3000',
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('when permits are written by hand then a reduce-only BUY closes the short and /metrics and /healthz answer', async () => {
    const apply = runCli(['apply'], env);
    const started = await until(async () => apply.lines().find((l) => l.msg === 'apply started'));
    const fields = proposal('PARTIAL_50', '0.2');
    const id = planIdFor('BTCUSDT', fields);
    await store.hset(store.keys.proposal('BTCUSDT'), fields);
    await until(async () => (await store.xlen(store.keys.planStream())) > 0);
    await store.set(store.keys.governorPermit(id), govBody('BTCUSDT'), { ttlSec: 60 });
    await store.set(store.keys.p33Permit(id), p33Body('BTCUSDT', 0.0075, { exchange_position_amt: -0.015 }), {
      ttlSec: 60,
    });
    const [res] = await until(async () => {
      const r = await store.xrange(store.keys.resultStream(), '-', '+');
      return r.length ? r : null;
    });
    expect(res?.fields).toMatchObject({ plan_id: id, decision: 'EXECUTE', executed: 'True' });
    expect(paper.state.orders.map((o) => [o.symbol, o.side, o.origQty, o.reduceOnly])).toEqual([
      ['BTCUSDT', 'BUY', '0.007', true],
    ]);
    const port = started.opsPort as number;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/quantum_apply_plan_total\{symbol="BTCUSDT",decision="EXECUTE"\} 1/);
    expect(metrics).toMatch(
      /quantum_apply_execute_total\{symbol="BTCUSDT",step="CLOSE_PARTIAL_50",status="success"\} 1/,
    );
    expect(metrics).toMatch(
      /quantum_apply_order_outcome_total\{symbol="BTCUSDT",step="CLOSE_PARTIAL_50",outcome="filled"\} 1/,
    );
    expect(metrics).toContain('quantum_apply_permit_wait_seconds_bucket');
    expect(metrics).toContain('quantum_apply_proposal_to_order_seconds_bucket');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    apply.stop();
    expect(await apply.done).toBe(0);
  });

  it('when apply, governor and position brain all run then a full close and a stop update reach the exchange', async () => {
    const procs = [runCli(['apply'], env), runCli(['governor'], env), runCli(['position-brain'], env)];
    try {
      const k = store.keys;
      await until(async () => (await store.hgetall(k.positionSnapshot('SOLUSDT'))).position_amt);
      await until(async () => (await store.groups(k.planStream())).length === 2);
      const close = proposal('FULL_CLOSE_PROPOSED', '0.3');
      const id = planIdFor('SOLUSDT', close);
      await store.hset(k.proposal('SOLUSDT'), close);
      const res = await until(async () =>
        (await store.xrange(k.resultStream(), '-', '+')).find((r) => r.fields.plan_id === id),
      );
      expect(res.fields).toMatchObject({
        symbol: 'SOLUSDT',
        decision: 'EXECUTE',
        executed: 'True',
        error: '',
      });
      expect(paper.state.positions.get('SOLUSDT')).toBe('0');

      const sl = proposal('UPDATE_SL', '0.1', { new_sl_proposed: '2812.345' });
      const slId = planIdFor('ETHUSDT', sl);
      await store.hset(k.proposal('ETHUSDT'), sl);
      const slRes = await until(async () =>
        (await store.xrange(k.resultStream(), '-', '+')).find((r) => r.fields.plan_id === slId),
      );
      expect(slRes.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True', error: '' });
      const algo = paper.state.algoOrders.filter((a) => a.symbol === 'ETHUSDT' && a.algoStatus === 'NEW');
      expect(algo).toHaveLength(1);
      expect(algo[0]).toMatchObject({ side: 'SELL', triggerPrice: '2812.34', orderType: 'STOP_MARKET' });
    } finally {
      for (const p of procs) p.stop();
      expect(await Promise.all(procs.map((p) => p.done))).toEqual([0, 0, 0]);
    }
  });

  it('when dry_run has no credentials then it starts, sends nothing and reports would_execute', async () => {
    const dry = {
      ...env,
      APPLY_MODE: 'dry_run',
      BINANCE_TESTNET_API_KEY: '',
      BINANCE_TESTNET_API_SECRET: '',
    };
    const before = paper.state.orders.length;
    const apply = runCli(['apply'], dry);
    await until(async () => apply.lines().find((l) => l.msg === 'apply started'));
    const fields = proposal('PARTIAL_75', '0.1');
    const id = planIdFor('ETHUSDT', fields);
    await store.set(store.keys.governorPermit(id), govBody('ETHUSDT'), { ttlSec: 60 });
    await store.set(store.keys.p33Permit(id), p33Body('ETHUSDT', 0.3, { exchange_position_amt: 0.4 }), {
      ttlSec: 60,
    });
    await store.hset(store.keys.proposal('ETHUSDT'), fields);
    const res = await until(async () =>
      (await store.xrange(store.keys.resultStream(), '-', '+')).find((r) => r.fields.plan_id === id),
    );
    expect(res.fields).toMatchObject({ decision: 'EXECUTE', executed: 'False', would_execute: 'True' });
    expect(paper.state.orders.length).toBe(before);
    apply.stop();
    expect(await apply.done).toBe(0);
  });
});
