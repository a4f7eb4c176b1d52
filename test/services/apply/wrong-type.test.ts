/**
 * Keys of another type where apply reads a hash: a proposal key (bad input for that symbol only)
 * and the arm key (read as disarmed, reported once, a gauge for the alerts). A Redis that does
 * not answer is still an outage the run waits for.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '../../../src/ops/logger.js';
import { systemClock } from '../../../src/ops/clock.js';
import { ArmStateCache } from '../../../src/services/apply/arm-cache.js';
import { RecordingMetrics } from '../../../src/services/apply/metrics.js';
import { readProposal } from '../../../src/services/apply/read-proposal.js';
import { parseArmState, setArmState } from '../../../src/services/arm-state.js';
import { BoundedSet } from '../../../src/services/bounded.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { usePrivateRedisStore } from '../../helpers/redis-store.js';
import { govBody, logLines, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';
import { sleep, until } from '../../helpers/wait.js';

const WRONGTYPE = /^WRONGTYPE /;

describe.skipIf(skipRedis)('apply with keys of another type (real Redis)', () => {
  const redis = usePrivateRedis();
  let raw: Redis;
  let h: Harness | null = null;
  beforeAll(async () => {
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    raw?.disconnect();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
  });
  const harness = async () => {
    h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() });
    await h.service.start();
    return h;
  };
  const resultsFor = async (t: Harness, symbol: string) =>
    (await t.results()).filter((r) => r.fields.symbol === symbol);

  /** Writes the proposal, then both permits once its plan is on the stream (like the fleet). */
  const execute = async (t: Harness, fields: Record<string, string>, beforePermits?: () => Promise<void>) => {
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).some((p) => p.fields.plan_id === id), 3000, 'plan published');
    await beforePermits?.();
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    await until(
      async () => (await resultsFor(t, 'BTCUSDT')).some((r) => r.fields.plan_id === id),
      3000,
      'result',
    );
    return (await resultsFor(t, 'BTCUSDT')).find((r) => r.fields.plan_id === id)!.fields;
  };

  it('when one proposal key holds a string and another a list then only those symbols are rejected proposal_wrong_type once, another symbol keeps executing, and a hash written there is handled', async () => {
    const t = await harness();
    const eth = t.store.keys.proposal('ETHUSDT');
    const sol = t.store.keys.proposal('SOLUSDT');
    await raw.set(eth, 'x');
    await raw.rpush(sol, 'a', 'b');
    expect(await execute(t, proposal('FULL_CLOSE_PROPOSED', '0.1'))).toMatchObject({
      decision: 'EXECUTE',
      executed: 'True',
    });
    // A list write sends no notification apply subscribes to: the full sweep (every 12 ticks) finds it.
    await until(() => t.metrics.count('inputRejected', 'proposal_wrong_type') === 2, 3000, 'both rejected');
    await sleep(700); // another full sweep re-reads both bad keys
    expect(await execute(t, proposal('PARTIAL_50', '0.1'))).toMatchObject({
      decision: 'EXECUTE',
      executed: 'True',
    });
    expect(t.exchange.orders).toHaveLength(2);

    expect(t.metrics.count('inputRejected', 'proposal_wrong_type')).toBe(2);
    expect(t.metrics.count('runFailed')).toBe(0);
    expect(t.service.health().consecutiveFailures).toBe(0);
    expect(logLines(t.log, 'apply: ETHUSDT failed')).toEqual([]);
    const ethLines = logLines(t.log, 'apply: proposal for ETHUSDT yields no plan');
    expect(ethLines).toHaveLength(1);
    expect(ethLines[0]).toMatchObject({ key: eth, reason: 'proposal_wrong_type' });
    expect(ethLines[0]!.error).toMatch(WRONGTYPE);
    expect(ethLines[0]!.msg).toContain(eth);
    expect(logLines(t.log, 'apply: proposal for SOLUSDT yields no plan')).toHaveLength(1);

    // Fixed: a proposal hash written where the string was (the writer replaces the key).
    await t.writeProposal('ETHUSDT', proposal('HOLD', '0.3'));
    await until(async () => (await resultsFor(t, 'ETHUSDT')).length === 1, 3000, 'ETHUSDT handled again');
    expect((await resultsFor(t, 'ETHUSDT'))[0]?.fields).toMatchObject({
      decision: 'SKIP',
      error: 'action_hold',
    });
    expect(t.metrics.count('inputRejected', 'proposal_wrong_type')).toBe(2);
  });

  it('when the arm key turns into a string during the permit wait then the pre-order check blocks kill_switch_active and no order is sent', async () => {
    const t = await harness();
    const armKey = t.store.keys.armState();
    const res = await execute(t, proposal('FULL_CLOSE_PROPOSED', '0.1'), async () => {
      await raw.set(armKey, 'x');
    });
    expect(res).toMatchObject({ decision: 'BLOCKED', error: 'kill_switch_active' });
    expect(t.exchange.orders).toEqual([]);
    expect(t.metrics.count('runFailed')).toBe(0);
    expect(logLines(t.log, `apply: arm state ${armKey} unreadable`)).toHaveLength(1);
  });

  it('when the arm key holds a string then plans are BLOCKED kill_switch_active, the gauge is set and the key is logged once; an arm hash written there resumes', async () => {
    const t = await harness();
    const armKey = t.store.keys.armState();
    await raw.set(armKey, 'armed');
    for (const s of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) await t.writeProposal(s, proposal('HOLD', '0.1'));
    const results = await t.waitForResults(3);
    await sleep(200); // more sweeps: still one line
    for (const r of results) {
      expect(r.fields).toMatchObject({ decision: 'BLOCKED', error: 'kill_switch_active' });
    }
    expect(t.exchange.orders).toEqual([]);
    expect(t.metrics.count('armStateUnreadable', true)).toBe(1);
    expect(t.metrics.count('runFailed')).toBe(0);
    expect(t.service.health().consecutiveFailures).toBe(0);
    const lines = logLines(t.log, `apply: arm state ${armKey} unreadable`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', key: armKey, reason: 'arm_state_wrong_type' });
    expect(lines[0]!.error).toMatch(WRONGTYPE);

    await raw.del(armKey);
    await setArmState(t.store, { armed: true, reason: 'fixed', by: 'operator', atMs: Date.now() });
    await t.writeProposal('BTCUSDT', proposal('HOLD', '0.2'));
    const [, , , resumed] = await t.waitForResults(4);
    expect(resumed?.fields).toMatchObject({ symbol: 'BTCUSDT', decision: 'SKIP', error: 'action_hold' });
    expect(t.metrics.count('armStateUnreadable', false)).toBe(1);
    expect(logLines(t.log, `apply: arm state ${armKey} readable again`)).toHaveLength(1);
  });

  it('when the arm hash does not parse then plans are BLOCKED kill_switch_active and the gauge is set with the fields named', async () => {
    const t = await harness();
    const armKey = t.store.keys.armState();
    await raw.hset(armKey, { armed: 'maybe', at: '1' });
    await t.writeProposal('ETHUSDT', proposal('HOLD', '0.1'));
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ decision: 'BLOCKED', error: 'kill_switch_active' });
    expect(t.metrics.count('armStateUnreadable', true)).toBe(1);
    const [line] = logLines(t.log, `apply: arm state ${armKey} unreadable`);
    expect(line).toMatchObject({
      key: armKey,
      reason: 'arm_state_invalid',
      error: 'armed="maybe" at="1" do not parse',
    });
  });

  describe('the reads on their own', () => {
    const { store } = usePrivateRedisStore({ server: redis });

    it('when the arm key holds a list then every read yields a hash that parses as disarmed, as the pre-order check needs', async () => {
      const cache = new ArmStateCache(store, systemClock, 60_000);
      await cache.start();
      const log = captureLogger();
      const gauge: boolean[] = [];
      cache.report({ logger: log.logger, unreadable: (on) => gauge.push(on) });
      try {
        await raw.rpush(store.keys.armState(), 'x');
        for (let i = 0; i < 3; i++) {
          expect(parseArmState(await cache.read())).toMatchObject({
            armed: false,
            reason: 'arm_state_wrong_type',
          });
        }
        expect(cache.unreadable()).toBe(true);
        expect(gauge).toEqual([true]);
        await raw.del(store.keys.armState());
        expect(parseArmState(await cache.read()).armed).toBe(true);
        expect(gauge).toEqual([true, false]);
      } finally {
        await cache.stop();
        await raw.del(store.keys.armState());
      }
    });

    it('when a proposal key holds a string then the read is no proposal; when Redis does not answer then it throws as before', async () => {
      const metrics = new RecordingMetrics();
      const log = captureLogger();
      const seen = new BoundedSet(10);
      await raw.set(store.keys.proposal('BTCUSDT'), 'x');
      const deps = { store, logger: log.logger };
      expect(await readProposal(deps, metrics, seen, 'BTCUSDT')).toEqual({});
      expect(await readProposal(deps, metrics, seen, 'BTCUSDT')).toEqual({});
      expect(metrics.count('inputRejected', 'proposal_wrong_type')).toBe(1);

      const down = new Proxy(store, {
        get: (target, prop, receiver) =>
          prop === 'hgetall'
            ? () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'))
            : (Reflect.get(target, prop, receiver) as unknown),
      });
      await expect(readProposal({ ...deps, store: down }, metrics, seen, 'ETHUSDT')).rejects.toThrow(
        'ECONNREFUSED',
      );
      const cache = new ArmStateCache(down, systemClock, 0);
      await expect(cache.read()).rejects.toThrow('ECONNREFUSED');
      expect(cache.unreadable()).toBe(false);
    });
  });
});
