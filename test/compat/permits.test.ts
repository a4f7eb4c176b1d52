/**
 * The fleet's plan entries into our authorities, our permit bodies into the fleet's apply: for
 * the recorded run's first plan, our Governor and P3.3 write bodies with every field the fleet's
 * do, of the same JSON type, and the same verdicts; the deny for a flat position is the fleet's.
 */
import { describe, expect, it } from 'vitest';
import { rig } from '../services/governor/harness.js';
import { onRedisAndMemory, p33Rig } from '../services/position-brain/harness.js';
import { fleet, RECORDED_POSITIONS, type PermitSample } from './fixtures.js';
import { entryMs } from './replay.js';

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Each field of the fleet's body, with its JSON type, is in ours with that type. */
function expectFleetShape(ours: Record<string, unknown>, theirs: PermitSample['body']): void {
  const shape = (b: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.map((k) => [k, jsonType(b[k])]));
  expect(shape(ours, Object.keys(theirs))).toEqual(shape(theirs, Object.keys(theirs)));
}

const recorded = (key: string) => fleet.permits().find((p) => p.key === key)!;
const firstPlan = () => fleet.planEntries()[0]!; // c8a309ee914f4656, BTCUSDT PARTIAL_50
const flatPlan = () => fleet.planEntries().find((e) => e.fields.plan_id === '956df46d51855f56')!;

onRedisAndMemory((name, newStore) => {
  describe(`our authorities on the fleet's plan entries (${name})`, () => {
    it("when our Governor grants the fleet's plan entry then its permit has the fleet's fields and verdict", async () => {
      const r = await rig(await newStore(), { autoApprove: true });
      r.exchange.setPosition('BTCUSDT', RECORDED_POSITIONS.BTCUSDT);
      const e = firstPlan();
      r.clock.set(entryMs(e));
      await r.gov.evaluate(e.fields);
      const body = JSON.parse((await r.store.get(r.store.keys.governorPermit(e.fields.plan_id!)))!);
      const theirs = recorded('quantum:permit:c8a309ee914f4656').body;
      expectFleetShape(body, theirs);
      expect(body).toMatchObject({ granted: true, symbol: 'BTCUSDT', decision: 'EXECUTE', consumed: false });
      await r.store.close();
    });

    it("when our P3.3 judges the fleet's plan entries then its allow and its no_position deny are the fleet's", async () => {
      const r = p33Rig(await newStore());
      r.exchange.setPosition('BTCUSDT', RECORDED_POSITIONS.BTCUSDT);
      r.exchange.setPosition('ETHUSDT', 0);
      await r.p33.snapshots.refresh();
      const e = firstPlan();
      expect(await r.p33.evaluate(e.fields)).toEqual({ kind: 'allowed', safeCloseQty: '0.25' });
      const allow = JSON.parse((await r.store.get(r.store.keys.p33Permit(e.fields.plan_id!, 'BTCUSDT')))!);
      const theirAllow = recorded('quantum:permit:p33:c8a309ee914f4656').body;
      expectFleetShape(allow, theirAllow);
      // The fleet's ledger_amt was its stuck 0.0; ours is seeded from the exchange.
      expect(allow).toMatchObject({ ...theirAllow, ledger_amt: 0.5, created_at: allow.created_at });

      const flat = flatPlan();
      expect(await r.p33.evaluate(flat.fields)).toEqual({ kind: 'denied', reason: 'no_position' });
      const deny = JSON.parse((await r.store.get(r.store.keys.p33Permit('956df46d51855f56', 'ETHUSDT')))!);
      const theirDeny = recorded('quantum:permit:p33:956df46d51855f56').body;
      expect({ ...deny, created_at: 0 }).toEqual({ ...theirDeny, created_at: 0 });
      await r.store.close();
    });
  });
});
