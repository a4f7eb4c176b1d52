/**
 * `quantum-apply all`: the three services in one process on Redis, one /metrics for all of
 * them, one proposal through to an order at the paper exchange, and a clean stop (exit 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_MAX_IN_FLIGHT, loadAllConfig } from '../../src/cli/commands/all.js';
import { loadApplyConfig } from '../../src/ops/config/services.js';
import { main } from '../../src/cli/main.js';
import type { PaperExchange } from '../../src/exchange/paper/index.js';
import type { RedisStore } from '../../src/store/redis/redis-store.js';
import { skipRedis } from '../helpers/redis-server.js';
import { proposeHalfCloseAndAwaitResult, runCli, startCliRig } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

describe.skipIf(skipRedis)('quantum-apply all', () => {
  let rig: Awaited<ReturnType<typeof startCliRig>>;
  let paper: PaperExchange;
  let store: RedisStore;
  beforeAll(async () => {
    // Half of 0.1 BTC is 3,000 USD: under the governor's default daily cap.
    rig = await startCliRig({ BTCUSDT: 0.1 });
    ({ paper, store } = rig);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('when a proposal arrives then one process grants, orders, serves every metric and stops with exit 0', async () => {
    const connections = async () =>
      String(await store.client.client('LIST'))
        .trim()
        .split('\n').length;
    const before = await connections();
    const cli = runCli(['all'], {
      ...rig.env,
      SYMBOLS: 'BTCUSDT',
      APPLY_ALLOWLIST: 'BTCUSDT',
      LOG_LEVEL: 'info',
    });
    const logs = cli.logs;
    const port = await until(() => {
      for (const l of logs) {
        const m = /"opsPort":(\d+)/.exec(l);
        if (m) return Number(m[1]);
      }
      return null;
    });
    // The position brain needs one snapshot before it can allow (the helper waits for it).
    const result = await proposeHalfCloseAndAwaitResult(store, 'BTCUSDT');
    expect(result.fields, JSON.stringify(result.fields)).toMatchObject({ decision: 'EXECUTE' });
    expect(result.fields.executed).toBe('True');
    expect(paper.state.orders).toHaveLength(1);
    expect(paper.state.orders[0]).toMatchObject({ symbol: 'BTCUSDT', side: 'SELL', executedQty: '0.050' });

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/quantum_apply_plan_total\{symbol="BTCUSDT",decision="EXECUTE"\} 1/);
    expect(metrics).toMatch(/quantum_govern_allow_total\{symbol="BTCUSDT"\} 1/);
    expect(metrics).toMatch(/p33_permit_allow_total\{symbol="BTCUSDT"\} 1/);
    expect(metrics).toMatch(/quantum_stream_group_pending\{[^}]*group="governor"[^}]*\} 0/);
    expect(metrics).toMatch(/quantum_stream_group_lag\{[^}]*group="p33"[^}]*\} 0/);

    // One store serves the three (one REDIS_URL): one command connection, apply's keyspace
    // subscriber, one blocking connection per plan-stream consumer (governor, P3.3) and apply's
    // canary request reader.
    expect((await connections()) - before).toBe(5); // each service with its own store: 7
    // One adapter serves the three services: the rules are fetched once, not once per service.
    expect(paper.state.requestLog.filter((r) => r.path === '/fapi/v1/exchangeInfo')).toHaveLength(1);

    cli.stop();
    expect(await cli.done).toBe(0);
  });

  it('when two services have bad values then all of them are reported at once and the exit code is 2', async () => {
    const err: string[] = [];
    const code = await main(['node', 'quantum-apply', 'all'], {
      env: { APPLY_PERMIT_WAIT_MS: 'soon', GOV_MAX_EXEC_PER_HOUR: '-1', P33_POLL_SEC: 'x' },
      stdout: () => {},
      stderr: (t) => void err.push(t),
      waitForStop: () => new Promise(() => {}),
    });
    expect(code).toBe(2);
    const text = err.join('');
    for (const v of ['APPLY_PERMIT_WAIT_MS', 'GOV_MAX_EXEC_PER_HOUR', 'P33_POLL_SEC'])
      expect(text).toContain(v);
  });
});

describe('quantum-apply all: configuration', () => {
  it('when APPLY_MAX_IN_FLIGHT is unset then all bounds plans in flight lower than the apply service does', () => {
    expect(loadAllConfig({}).apply.maxInFlight).toBe(ALL_MAX_IN_FLIGHT);
    expect(ALL_MAX_IN_FLIGHT).toBeLessThan(loadApplyConfig({}).maxInFlight);
  });

  it('when APPLY_MAX_IN_FLIGHT is set then all takes it as given', () => {
    expect(loadAllConfig({ APPLY_MAX_IN_FLIGHT: '64' }).apply.maxInFlight).toBe(64);
    expect(loadAllConfig({ APPLY_MAX_IN_FLIGHT: '3' }).apply.maxInFlight).toBe(3);
  });
});
