/**
 * status against state written the way the services write it (grantPermit / decideOnce scripts,
 * setArmState, plan and result entries, consumer groups), on both adapters.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { utcDay } from '../../src/domain/governor/gates.js';
import { EXIT_FOUND, statusCommand } from '../../src/inspect/commands.js';
import { setArmState } from '../../src/services/arm-state.js';
import { autoDisarmEventFields } from '../../src/services/governor/auto-disarm.js';
import { Heartbeat } from '../../src/services/heartbeat.js';
import { PLAN_GROUPS } from '../../src/store/keys.js';
import { until } from '../helpers/wait.js';
import type { InspectUnderTest } from './explain-suite.js';
import { planOf, proposalFields, TraceWriter } from './fixtures.js';

const SECRETS = { key: 'AKIA-SECRET-KEY-0042', secret: 'S3CRET-0042-xyz', pw: 'hunter2' };
const ENV = {
  APPLY_MODE: 'testnet',
  REDIS_URL: `redis://ops:${SECRETS.pw}@10.9.9.9:6379/0`,
  BINANCE_FUTURES_BASE_URL: 'https://demo-fapi.binance.com',
  BINANCE_TESTNET_API_KEY: SECRETS.key,
  BINANCE_TESTNET_API_SECRET: SECRETS.secret,
  SYMBOLS: 'BTCUSDT,ETHUSDT',
};

let seq = 0;
const fresh = () => planOf(proposalFields(`2026-01-25T01:00:00.${String(++seq).padStart(6, '0')}Z`));

interface StatusJson {
  mode: string;
  exchange_base_url: string;
  redis_url: string;
  arm: { armed: boolean; reason: string; by: string; at: string | null; stored: boolean };
  streams: Record<string, { key: string; length: number }>;
  groups: {
    stream: string;
    group: string;
    consumers: number;
    pending: number;
    lag: number | null;
    consumer_list: { name: string; pending: number; idle_ms: number }[];
  }[];
  ledger_cursor: { id: string | null; behind: number | null };
  permits: { scanned: number; complete: boolean; by_authority: Record<string, unknown>[] };
  last_executions: {
    symbol: string;
    plan_id: string;
    side: string;
    executed_qty: string;
    order_id: string;
  }[];
  governor: {
    day: string;
    symbols: { symbol: string; exec_today: number; exec_last_hour: number; daily_total: string | null }[];
    auto_disarm: { fired: boolean; reason: string | null; at: string | null };
  };
}

export function statusSuite(name: string, factory: () => Promise<InspectUnderTest>): void {
  describe(`status: ${name}`, () => {
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
    const run = (json: boolean) =>
      statusCommand({ env: ENV, openStore: async () => t.store, closeStore: false }, json);

    /** A busy morning: one execution, one P3.3 deny, a pending plan, a burst and an auto-disarm. */
    async function busyMorning() {
      const s = t.store;
      const k = s.keys;
      await s.createGroup(k.planStream(), PLAN_GROUPS.governor, '$');
      await s.createGroup(k.planStream(), PLAN_GROUPS.p33, '$');
      const done = fresh();
      await w.executed(done);
      const nowSec = t.clock.now() / 1000;
      const granted = await s.grantPermit({
        decisionKey: k.authorityDecision('governor', 'aaaaaaaaaaaaaaaa'),
        permitKey: k.governorPermit('aaaaaaaaaaaaaaaa'),
        blockKey: k.governorBlock('aaaaaaaaaaaaaaaa'),
        execKey: k.governorExec('BTCUSDT'),
        dailyKey: k.governorDaily('BTCUSDT', utcDay(t.clock.now())),
        nowSec,
        enforce: true,
        maxPerHour: 3,
        maxPer5Min: 2,
        amount: 1250.5,
        cap: 5000,
        permitBody: w.governorBody(done),
        permitTtlSec: 60,
        blockTtlSec: 3600,
        symbol: 'BTCUSDT',
        execKeep: 100,
        historyTtlSec: 86_400,
        renewHistoryTtl: true,
      });
      expect(granted.code).toBe('granted');
      const denied = fresh();
      await w.publishPlan(denied);
      await w.p33Deny(denied, 'stale_exchange_state');
      const pending = fresh();
      await w.publishPlan(pending);
      await w.p33Allow(pending);
      await s.readGroup(k.planStream(), PLAN_GROUPS.governor, 'gov-host-1', { count: 1, blockMs: 0 });
      await s.set(k.ledgerCursor(), (await s.xrange(k.resultStream(), '-', '+'))[0]!.id);
      await w.result(denied, { decision: 'BLOCKED', error: 'p33_permit_denied' });
      await s.set(
        k.governorDisarm(utcDay(t.clock.now())),
        JSON.stringify({ reason: 'burst_limit_breach', context: {}, timestamp: t.clock.now() / 1000 }),
        { ttlSec: 86_400 },
      );
      await setArmState(s, {
        armed: false,
        reason: 'burst_limit_breach',
        by: 'governor',
        atMs: t.clock.now(),
      });
      await s.xadd(
        k.governorEvents(),
        autoDisarmEventFields('burst_limit_breach', { symbol: 'BTCUSDT' }, t.clock.now(), 'disarmed'),
      );
      return { done };
    }

    it('when the system is busy then JSON shows arm, streams, groups, permits, executions and counts', async () => {
      const { done } = await busyMorning();
      const r = await run(true);
      expect(r.code).toBe(EXIT_FOUND);
      const j = JSON.parse(r.stdout) as StatusJson;
      expect(j.mode).toBe('testnet');
      expect(j.exchange_base_url).toBe('https://demo-fapi.binance.com');
      expect(j.arm).toMatchObject({
        armed: false,
        reason: 'burst_limit_breach',
        by: 'governor',
        stored: true,
      });
      expect(j.streams.plan?.length).toBe(3);
      expect(j.streams.result?.length).toBe(2);
      expect(j.streams.governor_events?.length).toBe(1);
      // the arm change went to our decisions stream, not to the fleet's events stream
      expect(j.streams.governor_decisions?.length).toBe(1);
      const gov = j.groups.find((g) => g.group === 'governor');
      expect(gov).toMatchObject({ consumers: 1, pending: 1, lag: 2 });
      expect(gov?.consumer_list).toEqual([{ name: 'gov-host-1', pending: 1, idle_ms: expect.any(Number) }]);
      expect(j.groups.find((g) => g.group === 'p33')).toMatchObject({ consumers: 0, pending: 0, lag: 3 });
      expect(j.ledger_cursor.behind).toBe(1);
      const by = Object.fromEntries(j.permits.by_authority.map((a) => [a.authority, a]));
      expect(by.governor).toMatchObject({ count: 1 });
      expect(by.p33).toMatchObject({ count: 2, allow: 1, deny: 1 });
      expect(j.permits).toMatchObject({ scanned: 3, complete: true });
      expect(j.last_executions).toEqual([
        expect.objectContaining({
          symbol: 'BTCUSDT',
          plan_id: done.planId,
          side: 'SELL',
          executed_qty: '0.375',
          order_id: '123',
        }),
      ]);
      const btc = j.governor.symbols.find((s) => s.symbol === 'BTCUSDT');
      expect(btc).toMatchObject({ exec_today: 1, exec_last_hour: 1 });
      expect(Number(btc?.daily_total)).toBe(1250.5);
      expect(j.governor.symbols.find((s) => s.symbol === 'ETHUSDT')).toMatchObject({
        exec_today: 0,
        daily_total: null,
      });
      expect(j.governor.auto_disarm).toMatchObject({ fired: true, reason: 'burst_limit_breach' });
    });

    it('when printed as text then it reads as tables and never shows a credential', async () => {
      await busyMorning();
      const r = await run(false);
      expect(r.code).toBe(EXIT_FOUND);
      expect(r.stdout).toMatch(/arm state\s+DISARMED by governor at .*: burst_limit_breach/);
      expect(r.stdout).toMatch(/mode \(this shell\)\s+testnet/);
      expect(r.stdout).toMatch(/governor\s+1\s+1\s+2\s+/); // group: consumers, pending, lag
      expect(r.stdout).toMatch(/governor\s+gov-host-1\s+1\s+\d+ ms/);
      expect(r.stdout).toMatch(/BTCUSDT .*SELL 0\.375 filled 0\.375, order 123/);
      expect(r.stdout).toMatch(/ETHUSDT\s+-\s+-\s+-\s+none found/);
      expect(r.stdout).toContain('auto-disarm today: FIRED');
      for (const s of Object.values(SECRETS)) expect(r.stdout + r.stderr).not.toContain(s);
      const j = await run(true);
      for (const s of Object.values(SECRETS)) expect(j.stdout).not.toContain(s);
    });

    it('when the failover reconciliation recorded lost writes then status counts them and names the newest', async () => {
      const none = await run(false);
      expect(none.stdout).toContain('failover lost writes: none recorded');
      const planId = fresh().planId;
      for (const kind of ['plan_entry', 'result'])
        await t.store.xadd(t.store.keys.failoverAudit(), {
          plan_id: planId,
          symbol: 'BTCUSDT',
          kind,
          action: kind === 'result' ? 'result_published' : 'recorded',
        });
      const text = await run(false);
      expect(text.stdout).toContain(
        `failover lost writes: 2 in the last hour, 2 on the audit stream; newest result of ${planId} BTCUSDT`,
      );
      expect(text.stdout).toContain(`: result_published (explain ${planId})`);
      const json = JSON.parse((await run(true)).stdout) as { failover_audit: unknown };
      expect(json.failover_audit).toMatchObject({
        entries: 2,
        last_hour: 2,
        last: { kind: 'result', plan_id: planId, symbol: 'BTCUSDT', action: 'result_published' },
      });
    });

    it('when Redis is empty then status still answers with defaults', async () => {
      const j = JSON.parse((await run(true)).stdout) as StatusJson;
      expect(j.arm).toMatchObject({ armed: true, stored: false });
      expect(j.streams.plan?.length).toBe(0);
      expect(j.groups).toEqual([]);
      expect(j.permits).toEqual({ scanned: 0, complete: true, by_authority: [] });
      expect(j.last_executions).toEqual([]);
      expect(j.governor.auto_disarm).toEqual({ fired: false, reason: null, at: null });
      const text = (await run(false)).stdout;
      expect(text).toContain('ARMED (no arm state stored: the default)');
      expect(text).toContain('auto-disarm today: not fired');
    });

    it("when services beat then status shows their own mode and exchange host, not the shell's", async () => {
      const hb = new Heartbeat({
        store: t.store,
        clock: t.clock,
        logger: { warn: () => {}, info: () => {} },
        periodMs: 5000,
        identity: {
          service: 'apply',
          namespace: 'apply',
          mode: 'live',
          exchangeHost: 'fapi.binance.com',
          version: '9.9.9',
          pid: 4242,
          host: 'box',
          startedAtMs: t.clock.now(),
          configHash: 'abcdef0123456789',
        },
        probeExchange: async () => 1,
      });
      hb.start();
      await until(async () => Object.keys(await t.store.hgetall(hb.key)).length > 0);
      await hb.stop();
      const j = JSON.parse((await run(true)).stdout) as StatusJson & { services: Record<string, unknown>[] };
      expect(j.mode).toBe('testnet');
      expect(j.services).toEqual([
        expect.objectContaining({
          service: 'apply',
          instance: 'box-4242',
          mode: 'live',
          exchange_host: 'fapi.binance.com',
          version: '9.9.9',
          pid: 4242,
          config_hash: 'abcdef0123456789',
        }),
      ]);
      const text = (await run(false)).stdout;
      expect(text).toMatch(/apply\s+box-4242\s+live\s+fapi\.binance\.com\s+9\.9\.9/);
      expect(text).toContain("note: the services run in live; this shell's APPLY_MODE is testnet");
    });

    it('when no service beats then status says none runs', async () => {
      const text = (await run(false)).stdout;
      expect(text).toContain('(none: no service of ours has written a heartbeat lately');
    });
  });
}
