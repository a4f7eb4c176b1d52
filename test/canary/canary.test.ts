/**
 * `quantum-apply canary` through the real chain: the real governor and P3.3 (in-process, their
 * own connections and paper-exchange adapters, with metrics), a running apply service in live
 * mode that answers the canary requests, all on a private Redis, against the paper exchange.
 * The canary command itself runs with a live-mode apply configuration pointed at the paper
 * exchange.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canaryCommand, type CanaryArgs } from '../../src/cli/commands/canary.js';
import { canaryRequestFields } from '../../src/domain/canary.js';
import { explainCommand, statusCommand } from '../../src/inspect/commands.js';
import type { GovernorLimits } from '../../src/domain/governor/gates.js';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { LIVE_CONFIRM_PHRASE } from '../../src/ops/config.js';
import { captureLogger } from '../../src/ops/logger.js';
import {
  createApplyMetrics,
  createGovernorMetrics,
  createP33Metrics,
  createRegistry,
} from '../../src/ops/metrics.js';
import { promSink } from '../../src/services/apply/metrics.js';
import type { ApplyOptions } from '../../src/services/apply/options.js';
import { aclSetUserArgs } from '../../src/ops/redis-acl.js';
import { createStore } from '../../src/store/index.js';
import { Redis } from 'ioredis';
import type { Store } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { startAuthorities } from '../reliability/authorities.js';
import { PAPER_KEYS, startReplica, type Replica } from '../reliability/rig.js';

const SYMBOL = 'BTCUSDT';

describe.skipIf(skipRedis)('canary through the live permit chain', () => {
  const server = usePrivateRedis();
  let paper: PaperExchange;
  let store: Store;
  let prefix: string;
  let apply: Replica | null = null;
  let stopAuthorities: (() => Promise<void>) | null = null;
  let govRegistry = createRegistry();
  let p33Registry = createRegistry();
  let applyRegistry = createRegistry();

  beforeAll(async () => {
    paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS });
  });
  afterEach(async () => {
    await apply?.stop();
    await stopAuthorities?.();
    await store?.close();
    apply = null;
    stopAuthorities = null;
  });
  afterAll(async () => {
    await paper?.close();
  });

  /** The running apply's canary settings (APPLY_CANARY_* defaults), named `instance`. */
  const canaryOpts = (instance: string): NonNullable<ApplyOptions['canary']> => ({
    minIntervalSec: 60,
    maxCount: 5,
    handler: { instance, host: 'test-host', pid: 4242 },
    blockMs: 200,
  });

  /** Another apply replica answering canary requests, on the chain's prefix (stopped by the caller). */
  const startApply = (instance: string, url = server.url) =>
    startReplica(instance, url, prefix, paper, {
      leases: false,
      opts: { mode: 'live', symbols: [SYMBOL], allowlist: [SYMBOL], canary: canaryOpts(instance) },
    });

  /** `o.urls`: each service's Redis URL (its ACL user), default the admin's; `o.prefix`: default a fresh one. */
  async function startChain(
    governor: Partial<GovernorLimits> = {},
    o: { urls?: { governor?: string; p33?: string; apply?: string }; prefix?: string } = {},
  ) {
    const urls = o.urls ?? {};
    prefix = o.prefix ?? server.prefix();
    store = await createStore({ url: server.url, prefix });
    paper.state.setPosition(SYMBOL, 0.5);
    govRegistry = createRegistry();
    p33Registry = createRegistry();
    applyRegistry = createRegistry();
    const authorities = await startAuthorities(urls.governor ?? server.url, prefix, paper, [SYMBOL], {
      governor: { maxReduceNotionalPerDayUsd: 1e9, ...governor },
      pollSec: 0.2,
      ...(urls.p33 ? { p33RedisUrl: urls.p33 } : {}),
      metrics: { governor: createGovernorMetrics(govRegistry), p33: createP33Metrics(p33Registry) },
    });
    stopAuthorities = () => authorities.stop();
    // The running apply layer in live mode, sending to the paper exchange: it answers the canary
    // requests, and must never order for one.
    apply = await startReplica('apply-a', urls.apply ?? server.url, prefix, paper, {
      leases: false,
      opts: { mode: 'live', symbols: [SYMBOL], allowlist: [SYMBOL], canary: canaryOpts('apply-a') },
      metrics: promSink(createApplyMetrics(applyRegistry), [SYMBOL]),
    });
    await until(
      async () => Object.keys(await store.hgetall(store.keys.positionSnapshot(SYMBOL))).length > 0,
      5000,
      'P3.3 snapshot',
    );
  }

  const env = (over: Record<string, string> = {}) => ({
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: prefix,
    APPLY_MODE: 'live',
    APPLY_LIVE_CONFIRM: LIVE_CONFIRM_PHRASE,
    BINANCE_API_KEY: PAPER_KEYS.apiKey,
    BINANCE_API_SECRET: PAPER_KEYS.apiSecret,
    BINANCE_FUTURES_BASE_URL: paper.url,
    SYMBOLS: SYMBOL,
    APPLY_ALLOWLIST: SYMBOL,
    APPLY_PERMIT_WAIT_MS: '2000',
    APPLY_LOG_LEVEL: 'silent',
    ...over,
  });

  const canary = (args: CanaryArgs = {}, over: Record<string, string> = {}) =>
    canaryCommand({ env: env(over), logger: captureLogger({ level: 'silent' }).logger }, args);

  const metric = async (registry: ReturnType<typeof createRegistry>, name: string) =>
    (await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? [];

  it('when the chain answers then the running apply passes the canary, consumes both permits at once, counts nothing and sends no order', async () => {
    await startChain();
    const r = await canary();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [rep] = r.reports;
    expect(rep).toMatchObject({
      symbol: SYMBOL,
      passed: true,
      consumed: true,
      reason: '',
      refused: false,
      handled_by: { instance: 'apply-a', host: 'test-host', pid: 4242 },
      governor: { verdict: 'granted', gates: ['kill_score', 'hourly', 'burst', 'daily'] },
      p33: { verdict: 'allow', safe_close_qty: 0.5 },
    });
    expect(rep!.plan_id).toMatch(/^canary-[0-9a-f]{16}$/);
    expect(rep!.permit_wait_line).toMatch(
      new RegExp(`^\\[PERMIT_WAIT\\] OK plan=${rep!.plan_id} symbol=BTCUSDT wait_ms=\\d+ safe_qty=0\\.5$`),
    );
    expect(rep!.authority_wait_ms.governor).toBeTypeOf('number');
    expect(rep!.authority_wait_ms.p33).toBeTypeOf('number');
    expect(r.stdout).toContain('summary: 1/1 canaries passed');
    expect(r.stdout).toContain(
      `handled by apply apply-a (host test-host, pid 4242), request ${rep!.request_id}`,
    );
    expect(rep!.request_id).toMatch(/^[0-9a-f]{16}$/);
    // The running apply logged the services' [PERMIT_WAIT] line for it, as for a real plan.
    expect(apply!.logs.lines().map((l) => l.msg)).toContain(rep!.permit_wait_line);
    // Apply's real-plan metrics did not move; its canary counter did.
    for (const name of [
      'quantum_apply_plan_total',
      'quantum_apply_consume_total',
      'quantum_apply_execute_total',
      'quantum_apply_order_outcome_total',
      'quantum_apply_result_total',
    ])
      expect(await metric(applyRegistry, name), name).toEqual([]);
    const waits = await metric(applyRegistry, 'quantum_apply_permit_wait_seconds');
    expect(waits.filter((v) => v.value > 0)).toEqual([]);
    expect(await metric(applyRegistry, 'quantum_apply_canary_total')).toMatchObject([
      { labels: { outcome: 'passed' }, value: 1 },
    ]);

    const k = store.keys;
    // Consumed in one step: both permits gone, the receipt holds both bodies.
    expect(await store.get(k.governorPermit(rep!.plan_id))).toBeNull();
    expect(await store.get(k.p33Permit(rep!.plan_id))).toBeNull();
    const receipt = JSON.parse((await store.get(k.permitReceipt(rep!.plan_id)))!) as { bodies: string[] };
    expect(receipt.bodies.map((b) => (JSON.parse(b) as { canary?: unknown }).canary !== undefined)).toEqual([
      true,
      true,
    ]);
    // Nothing counted: no execution, no daily amount, no reservation, no cooldown start.
    expect(await store.lrange(k.governorExec(SYMBOL), 0, -1)).toEqual([]);
    expect(await store.get(k.governorDaily(SYMBOL, new Date().toISOString().slice(0, 10)))).toBeNull();
    expect(await store.hgetall(k.p33Reserved(SYMBOL))).toEqual({});
    // The fleet's metrics did not move; the canary counters did.
    expect(await metric(govRegistry, 'quantum_govern_allow_total')).toEqual([]);
    expect(await metric(p33Registry, 'p33_permit_allow_total')).toEqual([]);
    expect((await metric(govRegistry, 'quantum_govern_canary_total'))[0]).toMatchObject({
      labels: { outcome: 'granted' },
      value: 1,
    });
    expect((await metric(p33Registry, 'p33_canary_total'))[0]).toMatchObject({
      labels: { outcome: 'allow' },
      value: 1,
    });
    // One entry on the canary stream, none on the fleet's result stream, no order anywhere.
    const entries = await store.xrange(k.canaryStream(), '-', '+');
    expect(
      entries.map((e) => [e.fields.plan_id, e.fields.canary, e.fields.executed, e.fields.passed]),
    ).toEqual([[rep!.plan_id, 'True', 'False', 'True']]);
    expect(await store.xrange(k.resultStream(), '-', '+')).toEqual([]);
    expect(paper.state.orders).toEqual([]);
    expect(paper.state.algoOrders).toEqual([]);
    expect(paper.state.requestCounts.get('POST /fapi/v1/order')).toBeUndefined();
    expect(paper.state.positionOf(SYMBOL)).toBe(0.5);

    // Visible to the operator views.
    const inspect = { env: env(), openStore: async () => store, closeStore: false };
    const x = await explainCommand(inspect, rep!.plan_id, true);
    expect(x.code).toBe(0);
    const verdict = (JSON.parse(x.stdout) as { verdict: { line: string } }).verdict.line;
    expect(verdict).toMatch(
      /^CANARY: passed the permit chain: permits consumed atomically after \d+ ms, P3\.3 would have permitted 0\.5; handled by apply apply-a \(host test-host, pid 4242\); no order/,
    );
    const story = (JSON.parse(x.stdout) as { timeline: { what: string; details: Record<string, string> }[] })
      .timeline;
    expect(story.find((e) => e.what.startsWith('canary requested'))).toMatchObject({
      what: 'canary requested: 1 × FULL_CLOSE_PROPOSED BTCUSDT',
      details: { request: rep!.request_id },
    });
    expect(story.find((e) => e.what.startsWith('canary report'))).toMatchObject({
      what: 'canary report: passed',
      details: { handled_by: 'apply-a (host test-host, pid 4242)' },
    });
    const st = await statusCommand(inspect, true);
    expect((JSON.parse(st.stdout) as { canary: unknown }).canary).toMatchObject({
      entries: 1,
      last: {
        plan_id: rep!.plan_id,
        symbol: SYMBOL,
        passed: true,
        error: '',
        refused: false,
        handled_by: { instance: 'apply-a', host: 'test-host', pid: 4242 },
      },
    });
    const text = (await statusCommand(inspect, false)).stdout;
    expect(text).toContain(`newest ${rep!.plan_id} BTCUSDT`);
    expect(text).toContain('handled by apply apply-a (host test-host, pid 4242)');
  });

  it('when the governor blocks for a burst then the canary fails with its reason, and nothing disarms', async () => {
    await startChain({ maxExecPer5Min: 0 });
    const r = await canary({ json: true }, { APPLY_PERMIT_WAIT_MS: '1000' });
    expect(r.code).toBe(1);
    const [rep] = r.reports;
    expect(rep).toMatchObject({
      passed: false,
      consumed: false,
      reason: 'permit_timeout_or_missing:missing_governor:burst_limit_exceeded',
      governor: {
        verdict: 'blocked',
        reason: 'burst_limit_exceeded',
        gates: ['kill_score', 'hourly', 'burst'],
      },
      p33: { verdict: 'allow', safe_close_qty: 0.5 },
    });
    expect(rep!.permit_wait_line).toMatch(
      /^\[PERMIT_WAIT\] BLOCK plan=canary-[0-9a-f]{16} symbol=BTCUSDT wait_ms=\d+ reason=missing_governor gov_ttl=-2 p33_ttl=\d+ governor_reason=burst_limit_exceeded$/,
    );
    expect((JSON.parse(r.stdout) as { passed: boolean }).passed).toBe(false);
    // A real burst block disarms apply; a canary's must not.
    expect(await store.hgetall(store.keys.armState())).toEqual({});
    expect(await store.xrange(store.keys.governorEvents(), '-', '+')).toEqual([]);
    expect(await metric(govRegistry, 'quantum_govern_block_total')).toEqual([]);
    expect(paper.state.algoOrders).toEqual([]);
  });

  it('when the authorities are down then the canary fails missing_both and its metrics file says neither answered', async () => {
    await startChain();
    await stopAuthorities?.();
    stopAuthorities = null;
    const dir = mkdtempSync(join(tmpdir(), 'canary-'));
    try {
      const file = join(dir, 'quantum_canary.prom');
      const r = await canary({ metricsFile: file }, { APPLY_PERMIT_WAIT_MS: '300' });
      expect(r.code).toBe(1);
      expect(r.reports[0]).toMatchObject({
        reason: 'permit_timeout_or_missing:missing_both',
        consumed: false,
        governor: { verdict: 'missing' },
        p33: { verdict: 'missing', safe_close_qty: null },
      });
      expect(r.stdout).toContain('FAIL permit_timeout_or_missing:missing_both');
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^quantum_canary_passed 0$/m);
      expect(text).toMatch(/^quantum_canary_authority_answered\{authority="governor"\} 0$/m);
      expect(text).toMatch(/^quantum_canary_authority_answered\{authority="p33"\} 0$/m);
      expect(text).toMatch(/^quantum_canary_last_run_timestamp_seconds \d{10}$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the governor, P3.3 and the canary each run as their ACL user then the canary still passes', async () => {
    const admin = new Redis(server.url);
    const url = (user: string) => `redis://${user}:pw-${user}-81x@127.0.0.1:${server.port}`;
    try {
      const users = ['apply', 'governor', 'p33'] as const;
      // The rules carry the key prefix: chosen here, and the chain started under it.
      const chosen = server.prefix();
      for (const u of users)
        await admin.call('ACL', 'SETUSER', ...aclSetUserArgs(u, `pw-${u}-81x`, u, { prefix: chosen }));
      await startChain(
        {},
        { urls: { governor: url('governor'), p33: url('p33'), apply: url('apply') }, prefix: chosen },
      );
      const r = await canary({}, { REDIS_URL: url('apply') });
      expect(r.stderr).toBe('');
      expect(r.reports[0]).toMatchObject({
        passed: true,
        consumed: true,
        handled_by: { instance: 'apply-a' },
      });
      // The command's own half, under the same user.
      await admin.del(`${chosen}quantum:apply:canary_run`);
      const local = await canary({ local: true }, { REDIS_URL: url('apply') });
      expect(local.stderr).toBe('');
      expect(local.reports[0]).toMatchObject({ passed: true, consumed: true, request_id: null });
      expect(local.reports[0]!.handled_by.instance).toBe(`local:${hostname()}-${process.pid}`);
    } finally {
      for (const u of ['apply', 'governor', 'p33']) await admin.call('ACL', 'DELUSER', u);
      admin.disconnect();
    }
  });

  it('when a run follows another within APPLY_CANARY_MIN_INTERVAL_SEC then it is refused before publishing', async () => {
    await startChain();
    expect((await canary()).code).toBe(0);
    const plans = (await store.xrange(store.keys.planStream(), '-', '+')).length;
    const again = await canary();
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused: rate_limited: .*APPLY_CANARY_MIN_INTERVAL_SEC=60 s/);
    expect((await store.xrange(store.keys.planStream(), '-', '+')).length).toBe(plans);
  });

  it('when usage is wrong then exit 2 and nothing is published', async () => {
    await startChain();
    expect((await canary({ count: '6' })).stderr).toContain('above APPLY_CANARY_MAX_COUNT=5');
    expect((await canary({ count: '0' })).code).toBe(2);
    expect((await canary({ symbol: 'btc/usdt' })).code).toBe(2);
    expect((await canary({ action: 'UPDATE_SL' })).code).toBe(2);
    expect((await canary({}, { APPLY_CANARY_MAX_COUNT: 'many' })).stderr).toContain('APPLY_CANARY_MAX_COUNT');
    expect(await store.xrange(store.keys.planStream(), '-', '+')).toEqual([]);
  });

  it('when a canary entry is replayed as EXECUTE, or a CANARY entry takes a real id, then no authority decides it', async () => {
    await startChain();
    const r = await canary();
    const entry = (await store.xrange(store.keys.planStream(), '-', '+'))[0]!.fields;
    const replayId = entry.plan_id!.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    await store.xadd(store.keys.planStream(), { ...entry, plan_id: replayId, decision: 'EXECUTE' });
    const realId = '0123456789abcdef';
    await store.xadd(store.keys.planStream(), { ...entry, plan_id: realId });
    await until(
      async () =>
        (await metric(govRegistry, 'quantum_govern_input_rejected_total')).length === 2 &&
        (await metric(p33Registry, 'p33_input_rejected_total')).length === 2,
      5000,
      'both entries refused by both authorities',
    );
    const reasons = (await metric(govRegistry, 'quantum_govern_input_rejected_total')).map(
      (v) => v.labels.reason,
    );
    expect(reasons.sort()).toEqual(['canary_plan_id_required', 'canary_plan_id_reserved']);
    for (const id of [replayId, realId]) {
      expect(await store.get(store.keys.governorPermit(id))).toBeNull();
      expect(await store.get(store.keys.p33Permit(id))).toBeNull();
      expect(await store.get(store.keys.authorityDecision('governor', id))).toBeNull();
      expect(await store.get(store.keys.authorityDecision('p33', id))).toBeNull();
    }
    expect(r.code).toBe(0);
    // A starting apply's recovery scan (plans left without a result) passes the replay by too.
    const restarted = await startApply('apply-c');
    await restarted.stop();
    expect(await store.xrange(store.keys.resultStream(), '-', '+')).toEqual([]);
    expect(paper.state.orders).toEqual([]);
    expect(paper.state.algoOrders).toEqual([]);
  });

  /** Canary stream entries answering `requestId` (the running apply's reports). */
  const answers = async (requestId: string) =>
    (await store.xrange(store.keys.canaryStream(), '-', '+')).filter(
      (e) => e.fields.request_id === requestId,
    );
  const planCanaries = async () =>
    (await store.xrange(store.keys.planStream(), '-', '+')).filter((e) => e.fields.decision === 'CANARY');
  /** A request as anyone with write access to Redis could add it, bypassing the command's checks. */
  const rawRequest = (over: Record<string, string> = {}) => {
    const requestId = over.request_id ?? randomBytes(8).toString('hex');
    return store
      .xadd(store.keys.canaryRequests(), {
        ...canaryRequestFields({
          requestId,
          symbol: SYMBOL,
          action: 'FULL_CLOSE_PROPOSED',
          count: 1,
          host: 'elsewhere',
          pid: '1',
          atMs: Date.now(),
        }),
        ...over,
      })
      .then(() => requestId);
  };

  it('when no apply service runs then the command fails within the bound, saying no apply picked the canary up', async () => {
    await startChain();
    await apply!.stop();
    apply = null;
    const dir = mkdtempSync(join(tmpdir(), 'canary-'));
    try {
      const file = join(dir, 'quantum_canary.prom');
      const r = await canary({ metricsFile: file }, { APPLY_PERMIT_WAIT_MS: '300' });
      expect(r.code).toBe(1);
      expect(r.reports).toEqual([]);
      expect(r.stderr).toMatch(
        /^quantum-apply canary: no apply service picked up the canary within 2300 ms \(request [0-9a-f]{16} on .*quantum:stream:apply\.canary_request\)/,
      );
      // Nothing reached the authorities; the gauges say apply did not answer (not the authorities).
      expect(await planCanaries()).toEqual([]);
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^quantum_canary_apply_answered 0$/m);
      expect(text).toMatch(/^quantum_canary_passed 0$/m);
      expect(text).not.toMatch(/^quantum_canary_authority_answered\{/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when two apply replicas run then exactly one of them handles each canary request', async () => {
    await startChain();
    const b = await startApply('apply-b');
    try {
      const handlers: string[] = [];
      for (let i = 0; i < 4; i++) {
        await store.del([store.keys.canaryRun()]);
        const r = await canary({ count: i === 0 ? '2' : '1' });
        expect(r.code, r.stderr).toBe(0);
        // Every canary of one request by the replica that took the request, and once.
        const byRequest = await answers(r.reports[0]!.request_id!);
        expect(byRequest.length).toBe(r.reports.length);
        expect(new Set(r.reports.map((x) => x.handled_by.instance)).size).toBe(1);
        handlers.push(r.reports[0]!.handled_by.instance);
      }
      expect(handlers.every((h) => h === 'apply-a' || h === 'apply-b')).toBe(true);
      // 5 canaries, each published once on the plan stream and answered once; no request left pending.
      expect((await planCanaries()).length).toBe(5);
      expect((await store.xrange(store.keys.canaryStream(), '-', '+')).length).toBe(5);
      const [group] = await store.groups(store.keys.canaryRequests());
      expect(group).toMatchObject({ name: 'apply', pending: 0 });
      expect(paper.state.orders).toEqual([]);
    } finally {
      await b.stop();
    }
  });

  it('when requests bypass the command then apply itself enforces the rate limit and the count, and publishes nothing for them', async () => {
    await startChain();
    expect((await canary()).code).toBe(0);
    const plans = (await planCanaries()).length;
    // Within APPLY_CANARY_MIN_INTERVAL_SEC of the last run: refused by apply.
    const limited = await rawRequest();
    await until(async () => (await answers(limited)).length > 0, 5000, 'the refusal');
    expect((await answers(limited)).map((e) => [e.fields.refused, e.fields.error, e.fields.passed])).toEqual([
      ['True', 'rate_limited', 'False'],
    ]);
    // Above APPLY_CANARY_MAX_COUNT (apply's own setting), even with the rate limit free.
    await store.del([store.keys.canaryRun()]);
    const many = await rawRequest({ count: '50' });
    await until(async () => (await answers(many)).length > 0, 5000, 'the count refusal');
    expect((await answers(many)).map((e) => e.fields.error)).toEqual(['count_above_max']);
    // A malformed request is refused by field, never run.
    const bad = await rawRequest({ symbol: 'btc/usdt' });
    await until(async () => (await answers(bad)).length > 0, 5000, 'the bad request refusal');
    expect((await answers(bad)).map((e) => e.fields.error)).toEqual(['bad_request_symbol']);
    expect((await planCanaries()).length).toBe(plans);
    expect(await metric(applyRegistry, 'quantum_apply_canary_total')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { outcome: 'rate_limited' }, value: 1 }),
        expect.objectContaining({ labels: { outcome: 'count_above_max' }, value: 1 }),
        expect.objectContaining({ labels: { outcome: 'bad_request' }, value: 1 }),
      ]),
    );
    // The command reads apply's refusal as one: exit 1, rate_limited.
    await store.set(store.keys.canaryRun(), 'x', { ttlSec: 60 });
    const again = await canary();
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused: rate_limited/);
  });

  it('when a canary request or a canary plan entry is re-fed as a proposal then apply orders nothing', async () => {
    await startChain();
    const r = await canary();
    expect(r.code).toBe(0);
    const entry = (await planCanaries())[0]!.fields;
    const request = (await store.xrange(store.keys.canaryRequests(), '-', '+'))[0]!.fields;
    // Every proposal apply reads ends as a plan or an input rejection: count both.
    const seen = async () => {
      let n = 0;
      for (const name of ['quantum_apply_plan_total', 'quantum_apply_input_rejected_total'])
        for (const v of await metric(applyRegistry, name)) n += v.value;
      return n;
    };
    for (const fields of [request, entry]) {
      const before = await seen();
      await store.hset(store.keys.proposal(SYMBOL), fields);
      await until(async () => (await seen()) > before, 5000, 'apply read the proposal');
      await store.del([store.keys.proposal(SYMBOL)]);
    }
    const decided = (await metric(applyRegistry, 'quantum_apply_plan_total')).map((v) => v.labels.decision);
    expect(decided).not.toContain('EXECUTE');
    expect(await metric(applyRegistry, 'quantum_apply_execute_total')).toEqual([]);
    expect(paper.state.orders).toEqual([]);
    expect(paper.state.requestCounts.get('POST /fapi/v1/order')).toBeUndefined();
  });
});
