/**
 * The authorities as operators run them: `quantum-apply governor` and `position-brain` through
 * the CLI, against a private redis-server and the paper exchange (signed Binance REST), plus
 * `arm` / `disarm` / `status`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArmState } from '../../../src/services/arm-state.js';
import type { RedisStore } from '../../../src/store/redis/redis-store.js';
import { skipRedis } from '../../helpers/redis-server.js';
import { plan } from './harness.js';
import { until } from '../../helpers/wait.js';
import { runCli, startCliRig } from '../../helpers/cli.js';

describe.skipIf(skipRedis)('authorities through the CLI against the paper exchange', () => {
  let rig: Awaited<ReturnType<typeof startCliRig>>;
  let store: RedisStore;
  let env: Record<string, string>;
  beforeAll(async () => {
    rig = await startCliRig({ SOLUSDT: 7, BTCUSDT: -0.015 });
    store = rig.store;
    env = { ...rig.env, P33_ALLOWLIST: 'SOLUSDT,BTCUSDT', LOG_LEVEL: 'warn' };
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('when both services run then an EXECUTE plan gets a governor permit and a P3.3 allow rounded to the paper step', async () => {
    const gov = runCli(['governor'], env);
    const p33 = runCli(['position-brain'], env);
    const k = store.keys;
    await until(async () => (await store.groups(k.planStream())).length === 2);
    await until(async () => (await store.hgetall(k.positionSnapshot('SOLUSDT'))).position_amt);
    const sol = plan({ symbol: 'SOLUSDT', action: 'PARTIAL_75' });
    const btc = plan({ symbol: 'BTCUSDT', action: 'PARTIAL_50' });
    await store.xadd(k.planStream(), sol);
    await store.xadd(k.planStream(), btc);
    const g = JSON.parse(await until(() => store.get(k.governorPermit(sol.plan_id!))));
    expect(g).toMatchObject({
      granted: true,
      symbol: 'SOLUSDT',
      decision: 'EXECUTE',
      computed_qty: 5.25,
      consumed: false,
    });
    expect(g.computed_notional).toBeCloseTo(5.25 * 150, 6);
    const s = JSON.parse(await until(() => store.get(k.p33Permit(sol.plan_id!))));
    expect(s).toMatchObject({ allow: true, symbol: 'SOLUSDT', safe_close_qty: 5, exchange_position_amt: 7 });
    const b = JSON.parse(await until(() => store.get(k.p33Permit(btc.plan_id!))));
    expect(b).toMatchObject({ allow: true, safe_close_qty: 0.007, exchange_position_amt: -0.015 });
    expect(await store.hgetall(k.positionSnapshot('SOLUSDT'))).toMatchObject({
      side: 'LONG',
      source: 'binance_testnet',
    });
    gov.stop();
    p33.stop();
    expect(await gov.done).toBe(0);
    expect(await p33.done).toBe(0);
    expect((await store.groups(k.planStream())).every((x) => x.pending === 0)).toBe(true);
  });

  it('when an operator disarms, checks status and arms again then the live arm state follows', async () => {
    const d = runCli(['disarm', '--reason', 'maintenance', '--by', 'ops'], env);
    expect(await d.done).toBe(0);
    expect(await readArmState(store)).toMatchObject({ armed: false, reason: 'maintenance', by: 'ops' });
    const s1 = runCli(['status'], env);
    expect(await s1.done).toBe(0);
    const a = runCli(['arm'], env);
    expect(await a.done).toBe(0);
    expect(await readArmState(store)).toMatchObject({ armed: true, reason: 'operator_arm' });
    // Arm changes carry no plan id; the earlier test's grants are on the same stream.
    const changes = (await store.xrange(store.keys.governorDecisions(), '-', '+')).filter(
      (e) => e.fields.plan_id === '',
    );
    expect(changes.map((e) => [e.fields.decision, e.fields.by])).toEqual([
      ['DISARMED', 'ops'],
      ['ARMED', expect.stringMatching(/^cli/) as unknown],
    ]);
    expect(await store.xlen(store.keys.governorEvents())).toBe(0);
  });

  it('when disarm has no reason or Redis is unreachable then it fails with a message, not a stack', async () => {
    const noReason = runCli(['disarm'], env);
    expect(await noReason.done).not.toBe(0);
    const down = runCli(['disarm', '--reason', 'x'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(await down.done).toBe(1);
    expect(down.err.join('')).toContain('cannot reach redis at redis://127.0.0.1:1');
  });
});
