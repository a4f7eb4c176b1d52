/**
 * Signed plan entries at the authorities (SECURITY.md "Signed plan entries"). The attack: a
 * forged entry with the id of an upcoming PARTIAL_50 plan but action FULL_CLOSE_PROPOSED. With
 * the requirement on it is refused without deciding the plan id, so the real, signed entry that
 * comes later is evaluated normally; with it off, entries are handled as the fleet's.
 */
import { describe, expect, it } from 'vitest';
import type { PlanSignaturePolicy } from '../../src/domain/governor/plan-input.js';
import { PermitKey } from '../../src/domain/permit-signing.js';
import { signPlanFields } from '../../src/domain/plan-signing.js';
import { ManualClock } from '../../src/ops/clock.js';
import type { Store, StreamEntry } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { redisStoreOn } from '../helpers/redis-store.js';
import { counterValue, memoryStore, plan as govPlan, rig } from '../services/governor/harness.js';
import { p33Rig, plan as p33Plan } from '../services/position-brain/harness.js';
import { T0 } from '../helpers/clock.js';

const PLAN_KEY = new PermitKey('plan-secret-0123456789abcdef-current');
const PLAN_OLD = new PermitKey('plan-secret-0123456789abcdef-previous');
const FORGER = new PermitKey('forger-secret-0123456789abcdef-xyzw');
const REQUIRED: PlanSignaturePolicy = { keys: [PLAN_KEY, PLAN_OLD], required: true };
const OPTIONAL: PlanSignaturePolicy = { keys: [PLAN_KEY, PLAN_OLD], required: false };

/** The forgeries of a real PARTIAL_50 entry, each with the refusal it must get. */
function forgeries(real: Record<string, string>): [string, Record<string, string>][] {
  const full = { ...real, action: 'FULL_CLOSE_PROPOSED' };
  return [
    ['plan_unsigned', full],
    ['plan_bad_signature', signPlanFields(full, FORGER)],
    ['plan_bad_signature', { ...full, sig: 'v1:deadbeef:not-hex' }],
    ['plan_tampered', { ...signPlanFields(real, PLAN_KEY), action: 'FULL_CLOSE_PROPOSED' }],
  ];
}

async function nothingDecided(store: Store, authority: 'governor' | 'p33', planId: string, symbol: string) {
  const k = store.keys;
  const keys =
    authority === 'governor'
      ? [k.governorPermit(planId), k.governorBlock(planId), k.authorityDecision('governor', planId, symbol)]
      : [k.p33Permit(planId), k.authorityDecision('p33', planId, symbol)];
  for (const key of keys) expect(await store.exists(key), key).toBe(false);
}

const warnings = (lines: Record<string, unknown>[], msg: string) =>
  lines.filter((l) => l.msg === msg && l.level === 'warn');

describe('governor with signed plans required', () => {
  it('when forged entries carry the id of a real PARTIAL_50 plan then each is refused by reason and decides nothing', async () => {
    const r = await rig(memoryStore(new ManualClock(T0)), { planSignatures: REQUIRED });
    const real = govPlan();
    for (const [reason, forged] of forgeries(real)) {
      expect(await r.gov.evaluate(forged)).toEqual({ kind: 'garbage', reason });
      await nothingDecided(r.store, 'governor', real.plan_id!, 'BTCUSDT');
    }
    expect(await r.store.lrange(r.store.keys.governorExec('BTCUSDT'), 0, -1)).toEqual([]);
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_unsigned' })).toBe(1);
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_bad_signature' })).toBe(2);
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_tampered' })).toBe(1);
    expect(warnings(r.log.lines(), 'plan entry rejected').map((l) => l.reason)).toEqual([
      'plan_unsigned',
      'plan_bad_signature',
      'plan_bad_signature',
      'plan_tampered',
    ]);

    // The real entry, added after the forgeries, is granted for its own action (half of 0.01).
    expect(await r.gov.evaluate(signPlanFields(real, PLAN_KEY))).toMatchObject({
      kind: 'granted',
      qty: 0.005,
    });
    expect(JSON.parse((await r.store.get(r.store.keys.governorPermit(real.plan_id!)))!)).toMatchObject({
      computed_qty: 0.005,
    });
  });

  it('when the real entry is signed with the previous key then it is granted (rotation)', async () => {
    const r = await rig(memoryStore(new ManualClock(T0)), { planSignatures: REQUIRED });
    expect(await r.gov.evaluate(signPlanFields(govPlan(), PLAN_OLD))).toMatchObject({ kind: 'granted' });
  });

  it('when a forged entry keeps failing then giving up on it blocks nothing', async () => {
    const r = await rig(memoryStore(new ManualClock(T0)), { planSignatures: REQUIRED });
    const real = govPlan();
    const giveUp = (r.gov as unknown as { giveUp(e: StreamEntry): Promise<void> }).giveUp.bind(r.gov);
    await giveUp({ id: '1-0', fields: { ...real, action: 'FULL_CLOSE_PROPOSED' } });
    await nothingDecided(r.store, 'governor', real.plan_id!, 'BTCUSDT');
    await giveUp({ id: '2-0', fields: signPlanFields(real, PLAN_KEY) });
    expect(await r.store.exists(r.store.keys.governorBlock(real.plan_id!))).toBe(true);
  });
});

describe('governor with signed plans not required', () => {
  it('when entries are unsigned then they are granted as today, without a signature warning', async () => {
    for (const policy of [null, OPTIONAL]) {
      const r = await rig(memoryStore(new ManualClock(T0)), { planSignatures: policy });
      expect(await r.gov.evaluate(govPlan())).toMatchObject({ kind: 'granted' });
      expect(await counterValue(r.metrics.inputRejected)).toBe(0);
    }
  });

  it('when a present signature is invalid then the entry is still handled, counted and warned about', async () => {
    const r = await rig(memoryStore(new ManualClock(T0)), { planSignatures: OPTIONAL });
    const tampered: Record<string, string> = {
      ...signPlanFields(govPlan(), PLAN_KEY),
      action: 'FULL_CLOSE_PROPOSED',
    };
    expect(await r.gov.evaluate(tampered)).toMatchObject({ kind: 'granted', qty: 0.01 });
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_tampered' })).toBe(1);
    expect(
      warnings(r.log.lines(), 'plan entry signature invalid; handled anyway (signed plans not required)'),
    ).toMatchObject([{ reason: 'plan_tampered', plan: tampered.plan_id, key_id: PLAN_KEY.keyId }]);
  });
});

describe('P3.3 with signed plans required', () => {
  it('when forged entries carry the id of a real PARTIAL_50 plan then each is refused and the real one is allowed for half', async () => {
    const clock = new ManualClock(T0);
    const r = p33Rig(memoryStore(clock), { planSignatures: REQUIRED }, clock);
    await r.p33.snapshots.refresh();
    const real = p33Plan({ symbol: 'SOLUSDT' });
    for (const [reason, forged] of forgeries(real)) {
      expect(await r.p33.evaluate(forged)).toEqual({ kind: 'garbage', reason });
      await nothingDecided(r.store, 'p33', real.plan_id!, 'SOLUSDT');
    }
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_unsigned' })).toBe(1);
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_bad_signature' })).toBe(2);
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_tampered' })).toBe(1);

    expect(await r.p33.evaluate(signPlanFields(real, PLAN_KEY))).toEqual({
      kind: 'allowed',
      safeCloseQty: '15',
    });
    expect(JSON.parse((await r.store.get(r.store.keys.p33Permit(real.plan_id!)))!)).toMatchObject({
      allow: true,
      safe_close_qty: 15,
    });
  });

  it('when a forged entry keeps failing then giving up on it writes no deny', async () => {
    const clock = new ManualClock(T0);
    const r = p33Rig(memoryStore(clock), { planSignatures: REQUIRED }, clock);
    const real = p33Plan();
    const giveUp = (r.p33 as unknown as { giveUp(e: StreamEntry): Promise<void> }).giveUp.bind(r.p33);
    await giveUp({ id: '1-0', fields: { ...real, action: 'FULL_CLOSE_PROPOSED' } });
    await nothingDecided(r.store, 'p33', real.plan_id!, 'BTCUSDT');
  });
});

describe('P3.3 with signed plans not required', () => {
  it('when entries are unsigned or carry a bad signature then they are handled as today', async () => {
    const clock = new ManualClock(T0);
    const r = p33Rig(memoryStore(clock), { planSignatures: OPTIONAL }, clock);
    await r.p33.snapshots.refresh();
    expect(await r.p33.evaluate(p33Plan({ symbol: 'SOLUSDT' }))).toEqual({
      kind: 'allowed',
      safeCloseQty: '15',
    });
    const forged = signPlanFields(p33Plan({ symbol: 'BTCUSDT', action: 'FULL_CLOSE_PROPOSED' }), FORGER);
    expect(await r.p33.evaluate(forged)).toEqual({ kind: 'allowed', safeCloseQty: '0.015' });
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_bad_signature' })).toBe(1);
    expect(await counterValue(r.metrics.inputRejected)).toBe(1);
  });
});

describe.skipIf(skipRedis)('authorities reading the plan stream on Redis with signed plans required', () => {
  const server = usePrivateRedis();

  it('when a forged entry is read before the real one then the governor refuses it, acks it and grants the real one', async () => {
    const r = await rig(() => redisStoreOn(server), { planSignatures: REQUIRED });
    const k = r.store.keys;
    await r.gov.consumer.ensureGroup();
    const real = govPlan();
    await r.store.xadd(k.planStream(), { ...real, action: 'FULL_CLOSE_PROPOSED' });
    expect(await r.gov.consumer.pollOnce(2000)).toBe(1);
    await nothingDecided(r.store, 'governor', real.plan_id!, 'BTCUSDT');
    expect((await r.store.groups(k.planStream()))[0]).toMatchObject({ pending: 0 });

    await r.store.xadd(k.planStream(), signPlanFields(real, PLAN_KEY));
    expect(await r.gov.consumer.pollOnce(2000)).toBe(1);
    expect(JSON.parse((await r.store.get(k.governorPermit(real.plan_id!)))!)).toMatchObject({
      granted: true,
      computed_qty: 0.005,
    });
    expect((await r.store.groups(k.planStream()))[0]).toMatchObject({ pending: 0 });
    expect(await counterValue(r.metrics.inputRejected, { reason: 'plan_unsigned' })).toBe(1);
    await r.store.close();
  });

  it('when a forged entry is read before the real one then P3.3 refuses it, acks it and allows the real one', async () => {
    const clock = new ManualClock(T0);
    const r = p33Rig(await redisStoreOn(server), { planSignatures: REQUIRED }, clock);
    const k = r.store.keys;
    await r.p33.snapshots.refresh();
    await r.p33.consumer.ensureGroup();
    const real = p33Plan({ symbol: 'SOLUSDT' });
    await r.store.xadd(k.planStream(), { ...signPlanFields(real, FORGER), action: 'FULL_CLOSE_PROPOSED' });
    await r.store.xadd(k.planStream(), { ...signPlanFields(real, PLAN_KEY), action: 'FULL_CLOSE_PROPOSED' });
    expect(await r.p33.consumer.pollOnce(2000)).toBe(2);
    await nothingDecided(r.store, 'p33', real.plan_id!, 'SOLUSDT');

    await r.store.xadd(k.planStream(), signPlanFields(real, PLAN_KEY));
    expect(await r.p33.consumer.pollOnce(2000)).toBe(1);
    expect(JSON.parse((await r.store.get(k.p33Permit(real.plan_id!)))!)).toMatchObject({
      allow: true,
      safe_close_qty: 15,
    });
    expect((await r.store.groups(k.planStream())).find((g) => g.name === 'p33')).toMatchObject({
      pending: 0,
    });
    await r.store.close();
  });
});
