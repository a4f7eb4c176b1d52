import { describe, expect, it } from 'vitest';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { counterValue } from '../governor/harness.js';
import { p33Rig, plan } from './harness.js';
import { redisStoreOn } from '../../helpers/redis-store.js';
import { T0 } from '../../helpers/clock.js';

describe.skipIf(skipRedis)('P3.3 against Redis', () => {
  const server = usePrivateRedis();
  const setup = async (over = {}) => {
    return p33Rig(await redisStoreOn(server), over);
  };
  const permit = async (r: Awaited<ReturnType<typeof setup>>, id: string) =>
    JSON.parse((await r.store.get(r.store.keys.p33Permit(id)))!) as Record<string, unknown>;

  it('when snapshots refresh then each symbol hash has the contract fields, TTL 3600, and a ledger seeded from the exchange', async () => {
    const r = await setup();
    expect(await r.p33.snapshots.refresh()).toBe(true);
    const k = r.store.keys;
    expect(await r.store.hgetall(k.positionSnapshot('ETHUSDT'))).toEqual({
      position_amt: '-2',
      side: 'SHORT',
      entry_price: '100',
      mark_price: '100',
      unrealized_pnl: '0',
      leverage: '10',
      ts_epoch: String(T0 / 1000),
      source: 'test',
    });
    expect(await r.store.pttl(k.positionSnapshot('ETHUSDT'))).toBeGreaterThan(3_599_000);
    expect(await r.store.hgetall(k.positionLedger('BTCUSDT'))).toMatchObject({
      last_known_amt: '0.015',
      updated_at: '0',
    });
    expect(await r.store.pttl(k.positionLedger('BTCUSDT'))).toBeGreaterThan(86_399_000);
    await r.store.close();
  });

  it('when the checks pass then the allow body carries safe_close_qty rounded down to each symbol step', async () => {
    const r = await setup();
    await r.p33.snapshots.refresh();
    const btc = plan({ action: 'PARTIAL_50' });
    const sol = plan({ symbol: 'SOLUSDT', action: 'PARTIAL_75' });
    expect(await r.p33.evaluate(btc)).toEqual({ kind: 'allowed', safeCloseQty: '0.007' });
    expect(await r.p33.evaluate(sol)).toEqual({ kind: 'allowed', safeCloseQty: '22' });
    expect(await permit(r, btc.plan_id!)).toEqual({
      allow: true,
      symbol: 'BTCUSDT',
      safe_close_qty: 0.007,
      exchange_position_amt: 0.015,
      ledger_amt: 0.015,
      created_at: T0 / 1000,
      reason: 'sanity_checks_passed',
    });
    const ttl = await r.store.pttl(r.store.keys.p33Permit(btc.plan_id!));
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await counterValue(r.metrics.permitAllow)).toBe(2);
    await r.store.close();
  });

  it('when there is no snapshot then deny no_exchange_snapshot with the contract deny body', async () => {
    const r = await setup();
    const p = plan();
    expect(await r.p33.evaluate(p)).toEqual({ kind: 'denied', reason: 'no_exchange_snapshot' });
    expect(await permit(r, p.plan_id!)).toEqual({
      allow: false,
      symbol: 'BTCUSDT',
      reason: 'no_exchange_snapshot',
      context: {},
      created_at: T0 / 1000,
    });
    expect(await counterValue(r.metrics.permitDeny, { reason: 'no_exchange_snapshot' })).toBe(1);
    await r.store.close();
  });

  it('when the exchange becomes unreachable then snapshots age and plans are denied stale, never allowed on old data', async () => {
    const r = await setup();
    await r.p33.snapshots.refresh();
    r.exchange.failWith.positions = 'exchange_unavailable';
    r.clock.advance(5_000);
    expect(await r.p33.snapshots.refresh()).toBe(false);
    expect((await r.p33.evaluate(plan())).kind).toBe('allowed'); // 5 s old: still fresh
    r.clock.advance(6_000);
    expect(await r.p33.snapshots.refresh()).toBe(false);
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'stale_exchange_state' });
    expect(r.log.lines().some((l) => String(l.msg).startsWith('waiting for the exchange'))).toBe(true);
    expect(await counterValue(r.metrics.snapshotAge, { symbol: 'BTCUSDT' })).toBe(11);
    await r.store.close();
  });

  it('when the position is flat then no_position', async () => {
    const r = await setup();
    r.exchange.setPosition('BTCUSDT', 0);
    await r.p33.snapshots.refresh();
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'no_position' });
    await r.store.close();
  });

  it('when an operator edits the ledger by hand then the next evaluation reads it (side, then quantity mismatch)', async () => {
    const r = await setup();
    await r.p33.snapshots.refresh();
    const led = r.store.keys.positionLedger('BTCUSDT');
    await r.store.hset(led, { last_known_amt: '-0.015' });
    expect(await r.p33.evaluate(plan())).toEqual({
      kind: 'denied',
      reason: 'reconcile_required_side_mismatch',
    });
    await r.store.hset(led, { last_known_amt: '0.02' });
    expect(await r.p33.evaluate(plan())).toEqual({
      kind: 'denied',
      reason: 'reconcile_required_qty_mismatch',
    });
    await r.store.hset(led, { last_known_amt: '0.0151' });
    expect((await r.p33.evaluate(plan())).kind).toBe('allowed');
    await r.store.hset(led, { last_known_amt: 'garbage' });
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'ledger_invalid' });
    await r.store.close();
  });

  it('when the ledger changed less than the cooldown ago then cooldown_in_flight', async () => {
    const r = await setup();
    await r.p33.snapshots.refresh();
    await r.store.hset(r.store.keys.positionLedger('BTCUSDT'), { updated_at: String(T0 / 1000 - 5) });
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'cooldown_in_flight' });
    r.clock.advance(10_000);
    await r.p33.snapshots.refresh();
    expect((await r.p33.evaluate(plan())).kind).toBe('allowed');
    await r.store.close();
  });

  it('when exchangeInfo cannot be read and no step is cached then deny, never a guessed step', async () => {
    const r = await setup();
    await r.p33.snapshots.refresh();
    r.exchange.failWith.symbolRules = 'exchange_unavailable';
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'symbol_rules_unavailable' });
    await r.store.close();
  });

  it('when a plan is not EXECUTE, not allowlisted, already decided or garbage then no second permit', async () => {
    const r = await setup({ allowlist: ['BTCUSDT'] });
    await r.p33.snapshots.refresh();
    expect(await r.p33.evaluate(plan({ decision: 'BLOCKED' }))).toEqual({
      kind: 'skipped',
      why: 'not_execute',
    });
    expect(await r.p33.evaluate(plan({ symbol: 'SOLUSDT' }))).toEqual({
      kind: 'skipped',
      why: 'not_in_allowlist',
    });
    const p = plan();
    expect((await r.p33.evaluate(p)).kind).toBe('allowed');
    await r.store.del([r.store.keys.p33Permit(p.plan_id!)]);
    expect(await r.p33.evaluate(p)).toEqual({ kind: 'already_decided' });
    expect(await r.p33.evaluate(plan({ plan_id: 'bad id with spaces' }))).toEqual({
      kind: 'garbage',
      reason: 'invalid_plan_id',
    });
    expect(await counterValue(r.metrics.inputRejected)).toBe(1);
    await r.store.close();
  });
});
