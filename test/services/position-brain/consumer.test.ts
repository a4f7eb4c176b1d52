import { describe, expect, it, onTestFinished } from 'vitest';
import { skipRedis, startRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { p33Rig, plan, resultEntry } from './harness.js';
import { redisStoreOn } from '../../helpers/redis-store.js';
import { sleep } from '../../helpers/wait.js';

describe.skipIf(skipRedis)('P3.3 consumer group and loops', () => {
  const server = usePrivateRedis();
  const setup = async (over = {}) => {
    return p33Rig(await redisStoreOn(server), over);
  };

  it('when running then snapshots, the ledger and permits follow the streams, and every entry is acked', async () => {
    const r = await setup({ pollSec: 0.05, resultPollMs: 20 });
    r.p33.start();
    const k = r.store.keys;
    for (let i = 0; i < 200 && (await r.store.groups(k.planStream())).length === 0; i++) await sleep(10);
    for (let i = 0; i < 200 && !(await r.store.exists(k.positionLedger('SOLUSDT'))); i++) await sleep(10);
    const p = plan({ symbol: 'SOLUSDT', action: 'FULL_CLOSE_PROPOSED' });
    await r.store.xadd(k.planStream(), p);
    await r.store.xadd(k.planStream(), plan({ decision: 'SKIP' }));
    await r.store.xadd(k.planStream(), { garbage: '\u0000' });
    for (let i = 0; i < 200 && !(await r.store.exists(k.p33Permit(p.plan_id!))); i++) await sleep(10);
    expect(JSON.parse((await r.store.get(k.p33Permit(p.plan_id!)))!)).toMatchObject({
      allow: true,
      safe_close_qty: 30,
    });
    await r.store.xadd(k.resultStream(), resultEntry(p.plan_id!, 'SOLUSDT', 'SELL', '30', '1'));
    for (
      let i = 0;
      i < 200 && (await r.store.hgetall(k.positionLedger('SOLUSDT'))).last_known_amt !== '0';
      i++
    )
      await sleep(10);
    expect((await r.store.hgetall(k.positionLedger('SOLUSDT'))).last_known_amt).toBe('0');
    for (let i = 0; i < 100 && (await r.store.groups(k.planStream()))[0]!.pending > 0; i++) await sleep(10);
    expect((await r.store.groups(k.planStream()))[0]).toMatchObject({ name: 'p33', pending: 0 });
    await r.p33.stop();
    await r.store.close();
  });

  it('when a P3.3 consumer dies mid-entry then the next one reclaims it and writes no second permit', async () => {
    const r = await setup({ claimIdleMs: 0 });
    await r.p33.snapshots.refresh();
    const dead = r.make({ consumer: 'p33-dead', claimIdleMs: 0 });
    const next = r.make({ consumer: 'p33-next', claimIdleMs: 0 });
    await dead.consumer.ensureGroup();
    const p = plan();
    await r.store.xadd(r.store.keys.planStream(), p);
    const [entry] = await r.store.readGroup(r.store.keys.planStream(), 'p33', 'p33-dead', {
      count: 1,
      blockMs: 0,
    });
    expect((await dead.evaluate(entry!.fields)).kind).toBe('allowed');
    await r.store.del([r.store.keys.p33Permit(p.plan_id!)]); // consumed by the apply layer
    expect(await next.consumer.reclaim()).toBe(1);
    expect(await r.store.exists(r.store.keys.p33Permit(p.plan_id!))).toBe(false);
    expect((await r.store.groups(r.store.keys.planStream()))[0]!.pending).toBe(0);
    await r.store.close();
  });

  it('when Redis restarts under a running P3.3 then it waits, says so, and permits plans afterwards', async () => {
    const own = await startRedis();
    onTestFinished(() => own.stop()); // also when an assertion fails: never leak a server
    const store = await redisStoreOn(own);
    const r = p33Rig(store, { pollSec: 0.05, resultPollMs: 20 });
    r.p33.start();
    await r.p33.consumer.ensureGroup();
    await own.restart();
    await sleep(300);
    const p = plan({ symbol: 'SOLUSDT' });
    const k = store.keys;
    // Until a fresh snapshot is written again, plans are denied (no_exchange_snapshot): wait for it.
    for (let i = 0; i < 100 && !(await store.exists(k.positionSnapshot('SOLUSDT')).catch(() => false)); i++) {
      await sleep(100);
    }
    for (let i = 0; i < 100 && !(await store.exists(k.p33Permit(p.plan_id!)).catch(() => false)); i++) {
      await store.xadd(k.planStream(), p).catch(() => undefined);
      await sleep(100);
    }
    expect(JSON.parse((await store.get(k.p33Permit(p.plan_id!)))!)).toMatchObject({
      allow: true,
      symbol: 'SOLUSDT',
    });
    await r.p33.stop();
    expect(r.log.lines().some((l) => String(l.msg).startsWith('waiting for redis'))).toBe(true);
    await store.close();
    await own.stop();
  });
});
