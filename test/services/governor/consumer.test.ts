import { describe, expect, it, onTestFinished } from 'vitest';
import { readArmState, setArmState } from '../../../src/services/arm-state.js';
import { PLAN_GROUPS } from '../../../src/store/keys.js';
import { skipRedis, startRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { governorDisarmFrom } from '../../../src/cli/commands/governor.js';
import { loadGovernorConfig } from '../../../src/ops/config.js';
import { counterValue, plan, redisStore, rig, type Rig } from './harness.js';
import { T0 } from '../../helpers/clock.js';
import { sleep } from '../../helpers/wait.js';

describe.skipIf(skipRedis)('governor consumer group', () => {
  const server = usePrivateRedis();
  const setup = (opts: Parameters<typeof rig>[1] = {}) => rig(() => redisStore(server), opts);

  it('when plans arrive then the group is created at $, each EXECUTE plan decided once and every entry acked', async () => {
    const r = await setup();
    await r.store.xadd(r.store.keys.planStream(), plan()); // before the group: never seen
    await r.gov.consumer.ensureGroup();
    const ids = [plan(), plan({ decision: 'SKIP' }), plan({ kill_score: 'garbage' }), plan()].map(
      (p) => p.plan_id!,
    );
    const fields = [
      plan({ plan_id: ids[0]! }),
      plan({ plan_id: ids[1]!, decision: 'SKIP' }),
      plan({ plan_id: ids[2]!, kill_score: 'x' }),
      plan({ plan_id: ids[3]!, symbol: 'ETHUSDT' }),
    ];
    for (const f of fields) await r.store.xadd(r.store.keys.planStream(), f);
    // The entries are there already, so the read returns at once; the wait only bounds the
    // blocking connection's first connect (with 10 ms a loaded machine read nothing).
    expect(await r.gov.consumer.pollOnce(2000)).toBe(4);
    const [g] = await r.store.groups(r.store.keys.planStream());
    expect(g).toMatchObject({ name: PLAN_GROUPS.governor, pending: 0 });
    expect(await r.store.exists(r.store.keys.governorPermit(ids[0]!))).toBe(true);
    expect(await r.store.exists(r.store.keys.governorPermit(ids[1]!))).toBe(false);
    expect(await r.store.exists(r.store.keys.governorPermit(ids[3]!))).toBe(true);
    expect(await counterValue(r.metrics.inputRejected)).toBe(1);
    await r.store.close();
  });

  it('when a consumer dies mid-entry then another reclaims the entry and it is granted exactly once', async () => {
    const r = await setup();
    const dead = r.make({ consumer: 'gov-dead', claimIdleMs: 0 });
    const next = r.make({ consumer: 'gov-next', claimIdleMs: 0 });
    await dead.consumer.ensureGroup();
    const p = plan();
    await r.store.xadd(r.store.keys.planStream(), p);
    // gov-dead read the entry, granted the permit, and died before XACK.
    const [entry] = await r.store.readGroup(r.store.keys.planStream(), 'governor', 'gov-dead', {
      count: 10,
      blockMs: 0,
    });
    expect((await dead.evaluate(entry!.fields)).kind).toBe('granted');
    await r.store.del([r.store.keys.governorPermit(p.plan_id!)]); // and the apply layer consumed the permit
    expect(await next.consumer.reclaim()).toBe(1);
    expect(await r.store.lrange(r.store.keys.governorExec('BTCUSDT'), 0, -1)).toHaveLength(1);
    expect(await r.store.exists(r.store.keys.governorPermit(p.plan_id!))).toBe(false);
    expect((await r.store.groups(r.store.keys.planStream()))[0]!.pending).toBe(0);
    await r.store.close();
  });

  it('when a governor restarts with entries it read but never acked then it finishes them on start', async () => {
    const r = await setup();
    const g = r.make({ consumer: 'gov-restart' });
    await g.consumer.ensureGroup();
    const p = plan();
    await r.store.xadd(r.store.keys.planStream(), p);
    await r.store.readGroup(r.store.keys.planStream(), 'governor', 'gov-restart', { count: 10, blockMs: 0 });
    const again = r.make({ consumer: 'gov-restart' });
    expect(await again.consumer.drainOwnPending()).toBe(1);
    expect(await r.store.exists(r.store.keys.governorPermit(p.plan_id!))).toBe(true);
    await r.store.close();
  });

  it('when two governors race on one limit then together they never pass it', async () => {
    const r = await setup({ limits: { maxExecPer5Min: 2, maxExecPerHour: 100 }, disarmOnBurst: false });
    const a = r.make({ consumer: 'gov-a' });
    const b = r.make({ consumer: 'gov-b' });
    const plans = Array.from({ length: 12 }, () => plan());
    const outs = await Promise.all(plans.map((p, i) => (i % 2 ? a : b).evaluate(p)));
    expect(outs.filter((o) => o.kind === 'granted')).toHaveLength(2);
    expect(await r.store.lrange(r.store.keys.governorExec('BTCUSDT'), 0, -1)).toHaveLength(2);
    await r.store.close();
  });

  it('when the burst limit is breached then the live arm state flips to disarmed once per UTC day, with an event and a metric', async () => {
    const r = await setup();
    expect((await readArmState(r.store)).armed).toBe(true);
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    expect((await r.gov.evaluate(plan())).kind).toBe('blocked');
    const arm = await readArmState(r.store);
    expect(arm).toMatchObject({ armed: false, reason: 'burst_limit_breach', by: 'governor' });
    const k = r.store.keys;
    expect(JSON.parse((await r.store.get(k.governorDisarm('2026-01-25')))!)).toMatchObject({
      reason: 'burst_limit_breach',
    });
    // The fleet's events stream holds the AUTO_DISARM entry alone, in the fleet's fields.
    const events = await r.store.xrange(k.governorEvents(), '-', '+');
    expect(events.map((e) => e.fields)).toEqual([
      {
        event: 'AUTO_DISARM',
        reason: 'burst_limit_breach',
        context: expect.any(String) as unknown,
        timestamp: String(T0 / 1000) + '.0',
        action_taken: 'disarmed',
      },
    ]);
    expect(Object.keys(events[0]!.fields)).toEqual([
      'event',
      'reason',
      'context',
      'timestamp',
      'action_taken',
    ]);
    expect(JSON.parse(events[0]!.fields.context!)).toMatchObject({
      symbol: 'BTCUSDT',
      exec_5min: 2,
      limit: 2,
    });
    // Our blocks and the arm change are on our decisions stream.
    const decisions = (await r.store.xrange(k.governorDecisions(), '-', '+')).map((e) => e.fields.decision);
    expect(decisions).toEqual(['GRANTED', 'GRANTED', 'BLOCKED', 'DISARMED']);
    expect(await counterValue(r.metrics.disarm, { reason: 'burst_limit_breach' })).toBe(1);
    // an operator re-arms; another breach the same day does not disarm again
    await setArmState(r.store, { armed: true, reason: 'operator', by: 'ops', atMs: r.clock.now() });
    await r.gov.evaluate(plan());
    expect((await readArmState(r.store)).armed).toBe(true);
    expect(await counterValue(r.metrics.disarm)).toBe(1);
    // the next UTC day it may fire again
    r.clock.set(Date.UTC(2026, 0, 26, 0, 1));
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    expect((await readArmState(r.store)).armed).toBe(false);
    await r.store.close();
  });

  /** Every plan of the symbol on the test day then blocks limit_computation_error: an evaluation error. */
  const corruptDailyTotal = (r: Rig, symbol = 'BTCUSDT') =>
    r.store.set(r.store.keys.governorDaily(symbol, '2026-01-25'), 'x');

  it('when evaluations fail GOV_DISARM_ON_ERROR_COUNT (5) times, hours apart, then it disarms (repeated_errors) as the fleet counts', async () => {
    const r = await setup();
    await corruptDailyTotal(r);
    for (let i = 0; i < 4; i++) {
      expect(await r.gov.evaluate(plan())).toMatchObject({ reason: 'limit_computation_error' });
      r.clock.advance(2 * 3600_000); // no time window: the fleet's count only grows
    }
    expect((await readArmState(r.store)).armed).toBe(true);
    await r.gov.evaluate(plan());
    expect(await readArmState(r.store)).toMatchObject({ armed: false, reason: 'repeated_errors' });
    const [ev] = await r.store.xrange(r.store.keys.governorEvents(), '-', '+');
    expect(ev!.fields).toMatchObject({ event: 'AUTO_DISARM', reason: 'repeated_errors' });
    expect(JSON.parse(ev!.fields.context!)).toMatchObject({ error_count: 5, threshold: 5 });
    await r.store.close();
  });

  it('when GOV_DISARM_ON_ERROR_COUNT=2 then the second evaluation error disarms', async () => {
    const r = await setup(governorDisarmFrom(loadGovernorConfig({ GOV_DISARM_ON_ERROR_COUNT: '2' })));
    await corruptDailyTotal(r);
    await r.gov.evaluate(plan());
    expect((await readArmState(r.store)).armed).toBe(true);
    await r.gov.evaluate(plan());
    expect(await readArmState(r.store)).toMatchObject({ armed: false, reason: 'repeated_errors' });
    await r.store.close();
  });

  it('when position reads fail, refused for the weight or not, then plans are blocked but nothing counts towards auto-disarm', async () => {
    const r = await setup();
    for (const failure of ['rate_limited', 'exchange_unavailable'] as const) {
      r.exchange.failWith.position = failure;
      for (let i = 0; i < 6; i++)
        expect(await r.gov.evaluate(plan())).toMatchObject({ reason: 'position_fetch_failed' });
    }
    expect((await readArmState(r.store)).armed).toBe(true);
    expect(await counterValue(r.metrics.disarm)).toBe(0);
    await r.store.close();
  });

  it('when GOV_ENABLE_AUTO_DISARM=false then a burst breach and repeated errors that would disarm do not', async () => {
    const r = await setup(governorDisarmFrom(loadGovernorConfig({ GOV_ENABLE_AUTO_DISARM: 'false' })));
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    // The same burst disarms a governor with the default (burst test above).
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'burst_limit_exceeded' });
    await corruptDailyTotal(r, 'SOLUSDT');
    for (let i = 0; i < 6; i++)
      expect(await r.gov.evaluate(plan({ symbol: 'SOLUSDT' }))).toMatchObject({
        reason: 'limit_computation_error',
      });
    expect(await readArmState(r.store)).toMatchObject({ armed: true });
    const k = r.store.keys;
    expect(await r.store.get(k.governorDisarm('2026-01-25'))).toBeNull();
    expect(await r.store.xlen(k.governorEvents())).toBe(0);
    expect(await counterValue(r.metrics.disarm)).toBe(0);
    await r.store.close();
  });

  it('when GOV_DISARM_ON_BURST_BREACH=false then a burst does not disarm but errors still do', async () => {
    const r = await setup(governorDisarmFrom(loadGovernorConfig({ GOV_DISARM_ON_BURST_BREACH: 'false' })));
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'burst_limit_exceeded' });
    expect((await readArmState(r.store)).armed).toBe(true);
    await corruptDailyTotal(r, 'SOLUSDT');
    for (let i = 0; i < 5; i++) await r.gov.evaluate(plan({ symbol: 'SOLUSDT' }));
    expect(await readArmState(r.store)).toMatchObject({ armed: false, reason: 'repeated_errors' });
    await r.store.close();
  });

  it('when Redis restarts under a running governor then it waits, says so, and decides plans afterwards', async () => {
    const own = await startRedis();
    onTestFinished(() => own.stop()); // also when an assertion fails: never leak a server
    const r = await rig(() => redisStore(own));
    r.gov.start();
    await r.gov.consumer.ensureGroup();
    await own.restart(); // data gone, group gone: the consumer must recreate it
    await sleep(300);
    const p = plan();
    for (
      let i = 0;
      i < 100 && !(await r.store.exists(r.store.keys.governorPermit(p.plan_id!)).catch(() => false));
      i++
    ) {
      await r.store.xadd(r.store.keys.planStream(), plan({ plan_id: p.plan_id! })).catch(() => undefined);
      await sleep(100);
    }
    expect(await r.store.exists(r.store.keys.governorPermit(p.plan_id!))).toBe(true);
    await r.gov.stop();
    expect(r.log.lines().some((l) => String(l.msg).startsWith('waiting for redis'))).toBe(true);
    await r.store.close();
    await own.stop();
  });
});
