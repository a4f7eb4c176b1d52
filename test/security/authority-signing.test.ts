import { describe, expect, it } from 'vitest';
import { PermitKey, verifyPermitSignature } from '../../src/domain/permit-signing.js';
import { ManualClock } from '../../src/ops/clock.js';
import { memoryStore, plan as govPlan, rig } from '../services/governor/harness.js';
import { p33Rig, plan as p33Plan } from '../services/position-brain/harness.js';
import { T0 } from '../helpers/clock.js';

const GOV_KEY = new PermitKey('governor-test-secret-0123456789abcdef');
const P33_KEY = new PermitKey('p33-test-secret-0123456789abcdef-xyz');

const verify = (body: string, authority: 'governor' | 'p33', planId: string, key: PermitKey) => {
  const r = verifyPermitSignature(
    body,
    { authority, planId, nowSec: T0 / 1000, maxSkewSec: 0, permitTtlSec: 60 },
    [key],
  );
  return r.ok ? 'ok' : r.reason;
};

describe('authorities sign their permits when a secret is configured', () => {
  it('when the governor has a signing key then its permit verifies, expires with its TTL and keeps the contract fields', async () => {
    const r = await rig(memoryStore(new ManualClock(T0)), { signingKey: GOV_KEY });
    r.clock.set(T0);
    const p = govPlan();
    expect(await r.gov.evaluate(p)).toMatchObject({ kind: 'granted' });
    const body = (await r.store.get(r.store.keys.governorPermit(p.plan_id!)))!;
    const parsed = JSON.parse(body) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      granted: true,
      symbol: 'BTCUSDT',
      decision: 'EXECUTE',
      consumed: false,
      plan_id: p.plan_id,
      expires_at: T0 / 1000 + 60,
    });
    expect(verify(body, 'governor', p.plan_id!, GOV_KEY)).toBe('ok');
    expect(verify(body, 'governor', p.plan_id!, P33_KEY)).toBe('permit_bad_signature');
  });

  it('when the governor has no signing key then its permit is the fleet body without sig', async () => {
    const r = await rig(memoryStore(new ManualClock(T0)));
    const p = govPlan();
    await r.gov.evaluate(p);
    const parsed = JSON.parse((await r.store.get(r.store.keys.governorPermit(p.plan_id!)))!) as object;
    expect(Object.keys(parsed).sort()).toEqual(
      ['computed_notional', 'computed_qty', 'consumed', 'created_at', 'decision', 'granted', 'symbol'].sort(),
    );
  });

  it('when P3.3 has a signing key then allow and deny permits both verify', async () => {
    const clock = new ManualClock(T0);
    const r = p33Rig(memoryStore(clock), { signingKey: P33_KEY }, clock);
    await r.p33.snapshots.refresh();
    const allow = p33Plan();
    expect(await r.p33.evaluate(allow)).toMatchObject({ kind: 'allowed' });
    const allowBody = (await r.store.get(r.store.keys.p33Permit(allow.plan_id!)))!;
    expect(JSON.parse(allowBody)).toMatchObject({
      allow: true,
      plan_id: allow.plan_id,
      expires_at: T0 / 1000 + 60,
    });
    expect(verify(allowBody, 'p33', allow.plan_id!, P33_KEY)).toBe('ok');

    clock.advance(60_000); // the snapshot is now stale: a deny
    const deny = p33Plan();
    expect(await r.p33.evaluate(deny)).toMatchObject({ kind: 'denied' });
    const denyBody = (await r.store.get(r.store.keys.p33Permit(deny.plan_id!)))!;
    const v = verifyPermitSignature(
      denyBody,
      {
        authority: 'p33',
        planId: deny.plan_id!,
        nowSec: clock.now() / 1000,
        maxSkewSec: 0,
        permitTtlSec: 60,
      },
      [P33_KEY],
    );
    expect(v.ok).toBe(true);
    expect(JSON.parse(denyBody)).toMatchObject({ allow: false, reason: 'stale_exchange_state' });
  });
});
