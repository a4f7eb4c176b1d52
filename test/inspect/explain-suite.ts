/**
 * explain against realistic traces, one suite run on both adapters (explain.memory.test.ts,
 * explain.redis.test.ts). The command runs in-process and returns its text / JSON and exit code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { explainCommand, EXIT_FOUND, EXIT_NOT_FOUND } from '../../src/inspect/commands.js';
import type { Clock } from '../../src/ops/clock.js';
import type { ExplainJson } from '../../src/inspect/render.js';
import type { Store } from '../../src/store/port.js';
import { planOf, proposalFields, TraceWriter } from './fixtures.js';

export interface InspectUnderTest {
  store: Store;
  clock: Clock & { advance?(ms: number): void };
  /** Whether entry ids follow `clock` exactly (memory), so offsets can be asserted. */
  exactTimes: boolean;
  cleanup(): Promise<void>;
}

const ENV = { APPLY_MODE: 'testnet', REDIS_URL: 'redis://:hunter2@10.9.9.9:6379/0' };

let seq = 0;
const fresh = (action = 'PARTIAL_75', kill = '0.539') =>
  planOf(proposalFields(`2026-01-25T00:43:45.${String(++seq).padStart(6, '0')}Z`, action, kill));

export function explainSuite(name: string, factory: () => Promise<InspectUnderTest>): void {
  describe(`explain: ${name}`, () => {
    let t: InspectUnderTest;
    let w: TraceWriter;
    beforeEach(async () => {
      t = await factory();
      w = new TraceWriter(t.store, t.clock);
    });
    afterEach(async () => {
      await t.store.close();
      await t.cleanup();
    });
    const run = (planId: string, json = false) =>
      explainCommand({ env: ENV, openStore: async () => t.store, closeStore: false }, planId, json);
    const runJson = async (planId: string) => {
      const r = await run(planId, true);
      return { code: r.code, body: JSON.parse(r.stdout) as ExplainJson };
    };

    it('when a failover lost a record of a plan then explain shows the audit entry and its action', async () => {
      const plan = fresh();
      await w.executed(plan);
      await t.store.xadd(t.store.keys.failoverAudit(), {
        plan_id: plan.planId,
        symbol: plan.symbol,
        kind: 'consume_receipt',
        client_order_id: `qa-${plan.planId}-CLOSE_PARTIAL_75`,
        order_id: '123',
        order_status: 'FILLED',
        executed_qty: '0.375',
        order_time: String(t.clock.now()),
        action: 'recorded',
        trigger: 'switch',
        timestamp: String(t.clock.now()),
      });
      const r = await run(plan.planId);
      expect(r.stdout).toContain("failover reconciliation: Redis lost this plan's consume_receipt; recorded");
      expect(r.stdout).toContain('order_id=123');
      const { body } = await runJson(plan.planId);
      expect(body.timeline.some((e) => e.what.startsWith('failover reconciliation'))).toBe(true);
    });

    it('when a plan executed then the verdict names side, qty, order and fill', async () => {
      const plan = fresh();
      await w.executed(plan);
      const r = await run(plan.planId);
      expect(r.code).toBe(EXIT_FOUND);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines.at(-1)).toBe('EXECUTED: SELL 0.375 BTCUSDT reduceOnly, order 123, filled 0.375');
      expect(r.stdout).toContain('current BTCUSDT proposal: still yields this plan id');
      for (const what of [
        'plan published: EXECUTE PARTIAL_75',
        'permit granted (consumed later)',
        'ALLOW (consumed later)',
        'permits consumed atomically (governor + p33)',
        'exchange answered: filled',
        'result: EXECUTE executed=True',
      ])
        expect(r.stdout).toContain(what);
      expect(r.stdout).toContain('safe_close_qty=0.375');
      expect(r.stdout).not.toMatch(/\{"/); // bodies summarised, never raw JSON
      expect(r.stdout).not.toContain('hunter2');
    });

    it('when a plan executed then --json gives the timeline in time order and the verdict', async () => {
      const plan = fresh();
      await w.executed(plan);
      const { code, body } = await runJson(plan.planId);
      expect(code).toBe(EXIT_FOUND);
      expect(body).toMatchObject({
        plan_id: plan.planId,
        symbol: 'BTCUSDT',
        found: true,
        verdict: {
          kind: 'EXECUTED',
          line: 'EXECUTED: SELL 0.375 BTCUSDT reduceOnly, order 123, filled 0.375',
        },
        proposal: { symbol: 'BTCUSDT', present: true, current_plan_id: plan.planId, yields_this_plan: true },
      });
      const sources = (body.timeline as { source: string }[]).map((e) => e.source);
      for (const s of ['proposal', 'apply', 'governor', 'p33', 'consume', 'order', 'result'])
        expect(sources).toContain(s);
      expect(sources.at(-1)).toBe('result');
      const dated = (body.timeline as { at_ms: number | null }[])
        .filter((e) => e.at_ms !== null)
        .map((e) => e.at_ms!);
      expect(dated).toEqual([...dated].sort((a, b) => a - b));
      const plan0 = body.timeline.find((e) => e.what.startsWith('plan published'));
      expect(plan0?.offset_ms).toBe(0);
      if (t.exactTimes) {
        const offsets = Object.fromEntries(body.timeline.map((e) => [e.what, e.offset_ms]));
        expect(offsets['permit granted (consumed later)']).toBe(40);
        expect(offsets['ALLOW (consumed later)']).toBe(65);
        expect(offsets['permits consumed atomically (governor + p33)']).toBe(73);
        expect(offsets['result: EXECUTE executed=True']).toBe(113);
      }
    });

    it('when P3.3 denied then the verdict quotes the deny reason from the consume receipt', async () => {
      const plan = fresh();
      await w.deniedByP33(plan, 'reconcile_required_qty_mismatch');
      const r = await run(plan.planId);
      expect(r.code).toBe(EXIT_FOUND);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
        'BLOCKED: P3.3 denied (reconcile_required_qty_mismatch)',
      );
      expect(r.stdout).toContain('DENY (consumed later)');
      expect(r.stdout).toContain('reason=reconcile_required_qty_mismatch');
      const { body } = await runJson(plan.planId);
      expect(body.verdict).toEqual({
        kind: 'BLOCKED',
        line: 'BLOCKED: P3.3 denied (reconcile_required_qty_mismatch)',
        reason: 'p33_permit_denied',
      });
    });

    it('when permits timed out then the verdict says which was missing and what is still live', async () => {
      const plan = fresh();
      await w.permitTimeout(plan);
      const { code, body } = await runJson(plan.planId);
      expect(code).toBe(EXIT_FOUND);
      expect(body.verdict.kind).toBe('BLOCKED');
      expect(body.verdict.reason).toBe('missing_p33');
      expect(body.verdict.line).toMatch(
        /^BLOCKED: permits missing after 1200 ms \(missing_p33; no P3\.3 decision found.*; governor permit still live for \d+(\.\d)? s\)$/,
      );
      expect(body.timeline.some((e) => e.what === 'permit granted, NOT consumed (still in Redis)')).toBe(
        true,
      );
    });

    it('when the governor blocked the plan then the timeout verdict says so and shows the decision', async () => {
      const plan = fresh();
      const other = fresh();
      await w.publishPlan(other);
      await w.governorBlock(other, 'burst_limit_exceeded');
      await w.publishPlan(plan);
      await w.governorBlock(plan, 'hourly_limit_exceeded');
      await w.p33Allow(plan);
      await w.result(plan, { decision: 'BLOCKED', error: 'permit_timeout_or_missing:missing_governor' });
      const { body } = await runJson(plan.planId);
      expect(body.verdict.line).toMatch(
        /^BLOCKED: permits missing after 1200 ms \(missing_governor; the governor blocked it: hourly_limit_exceeded; P3\.3 permit still live for \d/,
      );
      const decisions = body.timeline.filter((e) => e.what.startsWith('decision '));
      expect(decisions).toHaveLength(1); // the other plan's decision is not part of this story
      expect(decisions[0]).toMatchObject({
        source: 'governor',
        what: 'decision BLOCKED: hourly_limit_exceeded',
      });
      expect(body.scanned).toMatchObject({ decision_entries: 2, event_entries: 0 });
    });

    it('when the plan was a duplicate then the verdict dates the dedupe key', async () => {
      const plan = fresh();
      const firstSec = Math.floor(t.clock.now() / 1000);
      await w.duplicate(plan);
      const r = await run(plan.planId);
      expect(r.code).toBe(EXIT_FOUND);
      const last = r.stdout.trimEnd().split('\n').at(-1)!;
      expect(last).toMatch(
        /^SKIP: duplicate of an earlier plan \(dedupe key set at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/,
      );
      if (t.exactTimes) expect(last).toContain(new Date(firstSec * 1000).toISOString().slice(0, 19));
    });

    it('when only the plan entry exists then the plan is in flight', async () => {
      const plan = fresh();
      await w.publishPlan(plan);
      const { code, body } = await runJson(plan.planId);
      expect(code).toBe(EXIT_FOUND);
      expect(body.verdict.kind).toBe('IN_FLIGHT');
      expect(body.verdict.line).toMatch(/^IN FLIGHT: plan published (\d+ ms|[\d.]+ s) ago, no result yet$/);
    });

    it('when the plan id is nowhere then it exits 1 with the UNKNOWN verdict', async () => {
      await w.executed(fresh());
      const r = await run('00000000deadbeef');
      expect(r.code).toBe(EXIT_NOT_FOUND);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
        'UNKNOWN: no trace of this plan id in Redis (streams are capped near 10,000 entries)',
      );
      const { body } = await runJson('00000000DEADBEEF');
      expect(body).toMatchObject({ plan_id: '00000000deadbeef', found: false, symbol: null, timeline: [] });
    });

    it('when the proposal changed after the plan then explain says it has moved on', async () => {
      const plan = fresh();
      await w.executed(plan);
      const next = fresh('FULL_CLOSE_PROPOSED', '0.7');
      await w.proposal(next);
      const { body } = await runJson(plan.planId);
      expect(body.proposal).toEqual({
        symbol: 'BTCUSDT',
        present: true,
        current_plan_id: next.planId,
        yields_this_plan: false,
      });
      expect(body.verdict.kind).toBe('EXECUTED');
    });

    it('when a proposal yields the id but apply never published it then it is NOT PUBLISHED', async () => {
      const plan = fresh();
      await w.proposal(plan);
      const { code, body } = await runJson(plan.planId);
      expect(code).toBe(EXIT_FOUND);
      expect(body.verdict.kind).toBe('NOT_PUBLISHED');
      expect(body.symbol).toBe('BTCUSDT');
    });
  });
}
