/**
 * What the fleet's readers read from our apply layer: for the fleet's recorded run replayed
 * through ours (replay.ts), the plan entries are the fleet's field for field, and each plan's
 * one result is the fleet's first result for it, but for the differences PROTOCOL.md states.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { fleet } from './fixtures.js';
import { replayThroughApply, type Replay } from './replay.js';

/**
 * A step result as a fleet reader uses it: quantities through float() ("0.250" and "0.25" are one
 * number to it); order ids and prose details differ by nature.
 */
function readerView(stepsJson: string): Record<string, unknown>[] {
  return (JSON.parse(stepsJson) as Record<string, unknown>[]).map((s) => {
    const { details: _details, order_id: orderId, ...rest } = s;
    for (const k of ['quantity', 'executed_qty'] as const)
      if (rest[k] !== undefined) rest[k] = Number(rest[k]);
    return { ...rest, has_order_id: orderId !== undefined };
  });
}

describe.skipIf(skipRedis)("our apply's entries as the fleet's readers read them", () => {
  const server = usePrivateRedis();
  let run: Replay;
  beforeAll(async () => {
    run = await replayThroughApply(server);
  });

  it("when the fleet's proposals are replayed then every plan entry is the fleet's, field for field, in order", () => {
    const theirs = fleet.planEntries();
    expect(run.plans.map((e) => e.fields.plan_id)).toEqual(theirs.map((e) => e.fields.plan_id));
    run.plans.forEach((ours, i) => {
      const { timestamp: _ours, ...o } = ours.fields;
      const { timestamp: _theirs, ...t } = theirs[i]!.fields;
      expect(Object.keys(ours.fields), t.plan_id).toEqual(Object.keys(theirs[i]!.fields));
      expect(o, t.plan_id).toEqual(t);
    });
  });

  it("when the fleet's own permit bodies are consumed then ours acts on them as the fleet's apply did", () => {
    // Its Governor permit and P3.3 allow of the first plan, and its P3.3 no_position deny.
    expect(run.recordedPermits).toEqual(['c8a309ee914f4656', '956df46d51855f56']);
    const theirs = new Map(fleet.results().map((r) => [r.fields.plan_id!, r.fields]));
    for (const id of run.recordedPermits) {
      const ours = run.results.find((r) => r.fields.plan_id === id)!.fields;
      const t = theirs.get(id)!;
      expect([ours.decision, ours.error], id).toEqual([t.decision, t.error]);
      expect(readerView(ours.steps_results!), id).toEqual(readerView(t.steps_results!));
    }
  });

  it('when each plan has its one result then it is the fleet result a reader expects, but for the stated differences', () => {
    const theirs = new Map(fleet.results().map((r) => [r.fields.plan_id!, r.fields]));
    const decisions = new Map(fleet.planEntries().map((e) => [e.fields.plan_id!, e.fields]));
    expect(run.results.map((r) => r.fields.plan_id).sort()).toEqual([...theirs.keys()].sort());
    for (const ours of run.results) {
      const id = ours.fields.plan_id!;
      const t = theirs.get(id)!;
      expect(Object.keys(ours.fields), id).toEqual(Object.keys(t));
      const { timestamp: _a, steps_results: oursSteps, ...o } = ours.fields;
      const { timestamp: _b, steps_results: theirSteps, ...f } = t;
      const plan = decisions.get(id)!;
      // A plan apply's own gates stopped: ours names its reasons in `error`, the fleet leaves it "".
      const error = plan.decision === 'EXECUTE' ? f.error : plan.reason_codes;
      expect(o, id).toEqual({ ...f, error });
      expect(readerView(oursSteps!), id).toEqual(STEP_DIFFERENCES[id] ?? readerView(theirSteps!));
    }
  });
});

const close = (step: string, side: string, qty: number) => ({
  step,
  status: 'success',
  side,
  quantity: qty,
  executed_qty: qty,
  reduce_only: true,
  has_order_id: true,
});
const stop = (side: string) => ({
  step: 'UPDATE_SL',
  status: 'success',
  side,
  reduce_only: true,
  has_order_id: true,
});

/** Where our step results differ from the fleet's on purpose (PROTOCOL.md, differences from the fleet). */
const STEP_DIFFERENCES: Record<string, Record<string, unknown>[]> = {
  // UPDATE_SL: the fleet answers not_implemented and places nothing; ours places the stop.
  '91d9df14297938d4': [stop('SELL')],
  '276ec675c21452a7': [stop('BUY')],
  // PARTIAL_75 of 0.25 is 0.1875: ours rounds down to the step (0.187); the fleet sent 0.188,
  // more than its plan asked.
  '9d7ffcbdce336346': [close('CLOSE_PARTIAL_75', 'SELL', 0.187)],
  // The full close then takes what that left: 0.063 where the fleet's took 0.062.
  '6a2585488abac740': [close('CLOSE_FULL', 'SELL', 0.063)],
};
