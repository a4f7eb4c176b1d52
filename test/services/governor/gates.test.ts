import { describe, expect, it } from 'vitest';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { TTL_RENEW_MS } from '../../../src/services/recent-symbols.js';
import { counterValue, plan, redisStore, rig } from './harness.js';
import { T0 } from '../../helpers/clock.js';

describe.skipIf(skipRedis)('governor gates against Redis', () => {
  const server = usePrivateRedis();
  const setup = (opts: Parameters<typeof rig>[1] = {}) => rig(() => redisStore(server), opts);

  it('when an EXECUTE plan passes every gate then a permit with the contract body and TTL 60 is written and counted', async () => {
    const r = await setup();
    const p = plan({ action: 'PARTIAL_50' });
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'granted', qty: 0.005, notional: 500 });
    const k = r.store.keys;
    const body = JSON.parse((await r.store.get(k.governorPermit(p.plan_id!)))!);
    expect(body).toEqual({
      granted: true,
      symbol: 'BTCUSDT',
      decision: 'EXECUTE',
      computed_qty: 0.005,
      computed_notional: 500,
      created_at: T0 / 1000,
      consumed: false,
    });
    const ttl = await r.store.pttl(k.governorPermit(p.plan_id!));
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await r.store.lrange(k.governorExec('BTCUSDT'), 0, -1)).toEqual([String(T0 / 1000)]);
    expect(await r.store.get(k.governorDaily('BTCUSDT', '2026-01-25'))).toBe('500');
    expect(await r.store.get(k.governorBlock(p.plan_id!))).toBeNull();
    expect(await counterValue(r.metrics.allow, { symbol: 'BTCUSDT' })).toBe(1);
    const decisions = await r.store.xrange(k.governorDecisions(), '-', '+');
    expect(decisions.map((d) => d.fields)).toEqual([
      {
        plan_id: p.plan_id,
        symbol: 'BTCUSDT',
        decision: 'GRANTED',
        reason: '',
        timestamp: (T0 / 1000).toFixed(3),
      },
    ]);
    await r.store.close();
  });

  it('when the plan is not EXECUTE then nothing is written', async () => {
    const r = await setup();
    const p = plan({ decision: 'SKIP' });
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'skipped', decision: 'SKIP' });
    expect(await r.store.exists(r.store.keys.governorPermit(p.plan_id!))).toBe(false);
    expect(r.exchange.calls).toHaveLength(0);
    await r.store.close();
  });

  it('when the kill score is critical on a non-close action then a block record (TTL 3600) and a decision entry, no permit', async () => {
    const r = await setup();
    const p = plan({ action: 'UPDATE_SL', kill_score: '0.85', new_sl_proposed: '99000' });
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'blocked', reason: 'kill_score_critical_non_close' });
    const k = r.store.keys;
    expect(JSON.parse((await r.store.get(k.governorBlock(p.plan_id!)))!)).toEqual({
      reason: 'kill_score_critical_non_close',
      timestamp: T0 / 1000,
      symbol: 'BTCUSDT',
    });
    const ttl = await r.store.pttl(k.governorBlock(p.plan_id!));
    expect(ttl).toBeGreaterThan(3_599_000);
    expect(await r.store.exists(k.governorPermit(p.plan_id!))).toBe(false);
    const [d] = await r.store.xrevrange(k.governorDecisions(), '+', '-', 1);
    expect(d!.fields).toEqual({
      plan_id: p.plan_id,
      symbol: 'BTCUSDT',
      decision: 'BLOCKED',
      reason: 'kill_score_critical_non_close',
      timestamp: (T0 / 1000).toFixed(3),
    });
    // the fleet's events stream carries AUTO_DISARM alone
    expect(await r.store.xlen(k.governorEvents())).toBe(0);
    expect(await counterValue(r.metrics.block, { reason: 'kill_score_critical_non_close' })).toBe(1);
    expect(r.exchange.calls).toHaveLength(0);
    await r.store.close();
  });

  it('when three executions happened in the last hour then the fourth is blocked hourly_limit_exceeded', async () => {
    const r = await setup();
    for (let i = 0; i < 3; i++) {
      expect((await r.gov.evaluate(plan({ action: 'PARTIAL_50' }))).kind).toBe('granted');
      r.clock.advance(301_000); // outside the burst window
    }
    const p = plan();
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'blocked', reason: 'hourly_limit_exceeded' });
    expect(JSON.parse((await r.store.get(r.store.keys.governorBlock(p.plan_id!)))!).reason).toBe(
      'hourly_limit_exceeded',
    );
    expect(await r.store.lrange(r.store.keys.governorExec('BTCUSDT'), 0, -1)).toHaveLength(3);
    r.clock.advance(3600_000);
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    await r.store.close();
  });

  it('when two executions happened within 5 minutes then the third is blocked burst_limit_exceeded (without auto-disarm here)', async () => {
    const r = await setup({ disarmOnBurst: false });
    await r.gov.evaluate(plan());
    r.clock.advance(10_000);
    await r.gov.evaluate(plan());
    r.clock.advance(10_000);
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'burst_limit_exceeded' });
    expect(await counterValue(r.metrics.block, { reason: 'burst_limit_exceeded' })).toBe(1);
    expect(await counterValue(r.metrics.execCount5Min, { symbol: 'BTCUSDT' })).toBe(2);
    await r.store.close();
  });

  it('when today plus this notional exceeds the cap then daily_limit_exceeded, and the blocked plan counts for nothing', async () => {
    const r = await setup({
      limits: { maxReduceNotionalPerDayUsd: 1200, maxExecPer5Min: 100, maxExecPerHour: 100 },
    });
    expect((await r.gov.evaluate(plan({ action: 'PARTIAL_50' }))).kind).toBe('granted'); // 500
    expect((await r.gov.evaluate(plan({ action: 'PARTIAL_50' }))).kind).toBe('granted'); // 1000
    expect(await r.gov.evaluate(plan({ action: 'PARTIAL_50' }))).toEqual({
      kind: 'blocked',
      reason: 'daily_limit_exceeded',
    });
    const k = r.store.keys;
    expect(await r.store.get(k.governorDaily('BTCUSDT', '2026-01-25'))).toBe('1000');
    expect(await r.store.lrange(k.governorExec('BTCUSDT'), 0, -1)).toHaveLength(2);
    await r.store.close();
  });

  it('when the UTC day rolls over then the daily total starts again under a new key', async () => {
    const r = await setup({
      limits: { maxReduceNotionalPerDayUsd: 600, maxExecPer5Min: 100, maxExecPerHour: 100 },
    });
    r.clock.set(Date.UTC(2026, 0, 25, 23, 59, 50));
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'daily_limit_exceeded' });
    r.clock.set(Date.UTC(2026, 0, 26, 0, 0, 5));
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    const k = r.store.keys;
    expect(await r.store.get(k.governorDaily('BTCUSDT', '2026-01-25'))).toBe('500');
    expect(await r.store.get(k.governorDaily('BTCUSDT', '2026-01-26'))).toBe('500');
    expect(await r.store.pttl(k.governorDaily('BTCUSDT', '2026-01-26'))).toBeGreaterThan(86_000_000);
    await r.store.close();
  });

  it('when no mark price is known then the quantity cap applies', async () => {
    const r = await setup({ limits: { maxExecPer5Min: 100, maxExecPerHour: 100 } });
    r.exchange.setMark('BTCUSDT', 0);
    r.exchange.failWith.markPrice = 'exchange_unavailable';
    expect(await r.gov.evaluate(plan({ action: 'FULL_CLOSE_PROPOSED' }))).toEqual({
      kind: 'granted',
      qty: 0.01,
      notional: null,
    });
    expect((await r.gov.evaluate(plan({ action: 'FULL_CLOSE_PROPOSED' }))).kind).toBe('granted'); // 0.02: not above
    expect(await r.gov.evaluate(plan({ action: 'FULL_CLOSE_PROPOSED' }))).toEqual({
      kind: 'blocked',
      reason: 'daily_limit_exceeded',
    });
    expect(await r.store.get(r.store.keys.governorDaily('BTCUSDT', '2026-01-25'))).toBe('0.02');
    await r.store.close();
  });

  it('when the position cannot be fetched then it fails closed with position_fetch_failed', async () => {
    const r = await setup();
    r.exchange.failWith.position = 'exchange_unavailable';
    const p = plan();
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'blocked', reason: 'position_fetch_failed' });
    expect(JSON.parse((await r.store.get(r.store.keys.governorBlock(p.plan_id!)))!).reason).toBe(
      'position_fetch_failed',
    );
    expect(await r.store.exists(r.store.keys.governorPermit(p.plan_id!))).toBe(false);
    await r.store.close();
  });

  it('when a symbol was blocked for a rate limit lately then its next plans are blocked before any exchange read', async () => {
    const r = await setup({ limits: { maxExecPer5Min: 100 } });
    for (let i = 0; i < 3; i++) expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    r.clock.advance(2_000); // past the position cache
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'hourly_limit_exceeded' }); // by the script
    const reads = () => r.exchange.calls.filter((c) => c.method === 'position').length;
    const before = reads();
    r.clock.advance(2_000);
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'hourly_limit_exceeded' });
    expect(reads()).toBe(before);
    r.clock.advance(3_600_000); // the executions left the window, and the memory of the block ended
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    expect(reads()).toBe(before + 1);
    await r.store.close();
  });

  it('when a symbol is over its hourly limit then that is the reason, before a failed position fetch or a garbage total', async () => {
    const r = await setup({ limits: { maxExecPer5Min: 100 } });
    for (let i = 0; i < 3; i++) expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    r.exchange.failWith.position = 'exchange_unavailable';
    r.clock.advance(2_000); // past the position cache
    const p = plan();
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'blocked', reason: 'hourly_limit_exceeded' });
    expect(JSON.parse((await r.store.get(r.store.keys.governorBlock(p.plan_id!)))!).reason).toBe(
      'hourly_limit_exceeded',
    );
    delete r.exchange.failWith.position;
    await r.store.set(r.store.keys.governorDaily('BTCUSDT', '2026-01-25'), 'not-a-number');
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'hourly_limit_exceeded' });
    expect(await counterValue(r.metrics.execCountHour, { symbol: 'BTCUSDT' })).toBe(3);
    await r.store.close();
  });

  it('when the stored daily total is garbage then limit_computation_error, never a permit', async () => {
    const r = await setup();
    await r.store.set(r.store.keys.governorDaily('BTCUSDT', '2026-01-25'), 'not-a-number');
    const p = plan();
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'blocked', reason: 'limit_computation_error' });
    expect(await r.store.exists(r.store.keys.governorPermit(p.plan_id!))).toBe(false);
    await r.store.close();
  });

  it('when a plan id was already decided then it is never decided again, even after its permit was consumed', async () => {
    const r = await setup();
    const p = plan();
    expect((await r.gov.evaluate(p)).kind).toBe('granted');
    await r.store.del([r.store.keys.governorPermit(p.plan_id!)]); // the apply layer consumed it
    expect(await r.gov.evaluate(p)).toEqual({ kind: 'already_decided' });
    expect(await r.store.lrange(r.store.keys.governorExec('BTCUSDT'), 0, -1)).toHaveLength(1);
    const blocked = plan({ action: 'UPDATE_SL', kill_score: '0.9' });
    await r.gov.evaluate(blocked);
    expect(await r.gov.evaluate({ ...blocked, action: 'FULL_CLOSE_PROPOSED' })).toEqual({
      kind: 'already_decided',
    });
    await r.store.close();
  });

  it('when GOV_AUTO_APPROVE is on then plans over every limit are still granted (tests only)', async () => {
    const r = await setup({
      autoApprove: true,
      limits: { maxExecPerHour: 0, maxExecPer5Min: 0, maxReduceNotionalPerDayUsd: 0 },
    });
    expect((await r.gov.evaluate(plan({ action: 'UPDATE_SL', kill_score: '0.99' }))).kind).toBe('granted');
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    await r.store.close();
  });

  it('when limits are not auto-approved then they apply whatever APPLY_MODE says (no mode bypass exists)', async () => {
    const r = await setup({ limits: { maxExecPerHour: 0 } });
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'hourly_limit_exceeded' });
    await r.store.close();
  });

  it('when a symbol keeps being granted then its execution list TTL is renewed once a minute, not by every grant', async () => {
    const r = await setup({ limits: { maxExecPerHour: 100, maxExecPer5Min: 100 } });
    const list = r.store.keys.governorExec('BTCUSDT');
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    expect(await r.store.pttl(list)).toBeGreaterThan(86_390_000);
    await r.store.hset(list, {}, 100); // an EXPIRE by hand: a grant that renewed would undo it
    r.clock.advance(10_000);
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    expect(await r.store.pttl(list)).toBeLessThanOrEqual(100_000);
    r.clock.advance(TTL_RENEW_MS);
    expect((await r.gov.evaluate(plan())).kind).toBe('granted');
    expect(await r.store.pttl(list)).toBeGreaterThan(86_390_000);
    expect(await r.store.lrange(list, 0, -1)).toHaveLength(3);
    await r.store.close();
  });

  it('when entries are garbage then they are rejected with a reason and a metric, never a permit', async () => {
    const r = await setup();
    const bad = [
      plan({ plan_id: '' }),
      plan({ kill_score: 'nan' }),
      plan({ kill_score: '9'.repeat(400) }),
      plan({ symbol: '\u0000\u00ff\u0001' }),
      { random: 'x' },
    ];
    for (const b of bad) expect((await r.gov.evaluate(b)).kind).toBe('garbage');
    expect(await counterValue(r.metrics.inputRejected)).toBe(5);
    expect(await r.store.lrange(r.store.keys.governorExec('BTCUSDT'), 0, -1)).toHaveLength(0);
    await r.store.close();
  });
});

describe.skipIf(skipRedis)('governor position reads', () => {
  const server = usePrivateRedis();

  it('when plans of one symbol arrive within a second then they share one position read; later ones read again', async () => {
    const r = await rig(() => redisStore(server), { limits: { maxExecPer5Min: 100, maxExecPerHour: 100 } });
    await Promise.all([r.gov.evaluate(plan()), r.gov.evaluate(plan())]);
    r.clock.advance(500);
    await r.gov.evaluate(plan());
    expect(r.exchange.calls.filter((c) => c.method === 'position')).toHaveLength(1);
    r.clock.advance(600);
    r.exchange.setPosition('BTCUSDT', 0.002);
    expect(await r.gov.evaluate(plan({ action: 'FULL_CLOSE_PROPOSED' }))).toMatchObject({ qty: 0.002 });
    expect(r.exchange.calls.filter((c) => c.method === 'position')).toHaveLength(2);
    await r.store.close();
  });

  it('when plans of several symbols arrive then each symbol is read once within a second, and the metric counts the reads', async () => {
    const r = await rig(() => redisStore(server), {
      limits: { maxExecPer5Min: 100, maxExecPerHour: 100, maxReduceNotionalPerDayUsd: 1e9 },
    });
    for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BTCUSDT']) {
      expect((await r.gov.evaluate(plan({ symbol }))).kind).toBe('granted');
    }
    expect(r.exchange.calls.filter((c) => c.method === 'position')).toHaveLength(3);
    expect(await counterValue(r.metrics.positionReads)).toBe(3);
    await r.store.close();
  });
});
