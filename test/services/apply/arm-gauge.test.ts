/**
 * A disarm is visible to monitoring: apply exports the arm state it reads (also between plans)
 * and counts the results the kill switch blocked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApplyMetrics, createRegistry } from '../../../src/ops/metrics.js';
import { promSink, RecordingMetrics } from '../../../src/services/apply/metrics.js';
import { setArmState } from '../../../src/services/arm-state.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { HARNESS_POSITIONS, makeHarness, proposal, type Harness } from './harness.js';

describe.skipIf(skipRedis)('the arm state on /metrics', () => {
  const redis = usePrivateRedis({ notifyKeyspaceEvents: 'K$hgx' });
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  const start = async (over: { fullSweepEvery?: number } = {}) => {
    const registry = createRegistry();
    const prom = promSink(createApplyMetrics(registry), ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    const metrics = new RecordingMetrics(prom);
    h = await makeHarness(
      { redisUrl: redis.url, prefix: redis.prefix() },
      over,
      new FakeExchange({ ...HARNESS_POSITIONS }),
      metrics,
    );
    await h.service.start();
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const m = (await registry.getSingleMetric(name)!.get()).values.find((v) =>
        Object.entries(labels).every(([k, l]) => (v.labels as Record<string, string>)[k] === l),
      );
      return m?.value;
    };
    return { t: h, value };
  };

  it('when an operator disarms and no plan arrives then the gauges show it, and arming again shows that', async () => {
    // No full sweep reads the proposals (and the arm state with them) in this test's time.
    const { t, value } = await start({ fullSweepEvery: 1_000_000 });
    await until(async () => (await value('quantum_apply_armed')) === 1, 3000, 'armed at start');
    expect(await value('quantum_apply_arm_changed_timestamp_seconds')).toBe(0);
    const offAt = Date.now() - 60_000;
    await setArmState(t.store, { armed: false, reason: 'maintenance', by: 'cli:alice', atMs: offAt });
    await until(async () => (await value('quantum_apply_armed')) === 0, 3000, 'disarmed seen');
    expect(await value('quantum_apply_arm_changed_timestamp_seconds')).toBe(offAt / 1000);
    const onAt = Date.now();
    await setArmState(t.store, { armed: true, reason: 'done', by: 'cli:alice', atMs: onAt });
    await until(async () => (await value('quantum_apply_armed')) === 1, 3000, 'armed seen');
    expect(await value('quantum_apply_arm_changed_timestamp_seconds')).toBe(onAt / 1000);
    expect(t.exchange.orders).toEqual([]);
  });

  it('when disarmed then each blocked plan is counted once under its symbol and what it decided', async () => {
    const { t, value } = await start();
    await setArmState(t.store, { armed: false, reason: 'incident', by: 'cli:bob', atMs: Date.now() });
    await t.writeProposal('BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'));
    await t.writeProposal('ETHUSDT', proposal('HOLD', '0.1'));
    const results = await t.waitForResults(2);
    expect(results.map((r) => r.fields.error)).toEqual(['kill_switch_active', 'kill_switch_active']);
    expect(
      await value('quantum_apply_kill_switch_blocks_total', { symbol: 'BTCUSDT', plan_decision: 'BLOCKED' }),
    ).toBe(1);
    expect(
      await value('quantum_apply_kill_switch_blocks_total', { symbol: 'ETHUSDT', plan_decision: 'BLOCKED' }),
    ).toBe(1);
    expect(t.metrics.count('killSwitchBlocked')).toBe(2);
  });

  it('when a plan is blocked for another reason then the kill-switch counter stays at 0', async () => {
    const { t } = await start();
    await t.writeProposal('BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.95'));
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ decision: 'BLOCKED' });
    expect(res?.fields.error).not.toBe('kill_switch_active');
    expect(t.metrics.count('killSwitchBlocked')).toBe(0);
  });
});
