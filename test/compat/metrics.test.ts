/**
 * Our /metrics against the fleet's (fixtures/metrics-*.txt, the fleet's three services after the
 * recorded run): every `quantum_*` / `p33_*` family the fleet exports is in our registry for that
 * service with the same type and label names, a fleet counter has its `<base>_created` gauge, and
 * our services, driven through the fleet's recorded run (fixtures/*.json), produce the fleet's
 * label values. Families only we have are fine. The runtimes' own families (`process_*`,
 * `python_*` there, `process_*` / `nodejs_*` here) are out of scope.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { Registry } from 'prom-client';
import {
  createApplyMetrics,
  createGovernorMetrics,
  createP33Metrics,
  createRegistry,
} from '../../src/ops/metrics.js';
import { ManualClock } from '../../src/ops/clock.js';
import {
  fleetStatus,
  promSink,
  RecordingMetrics,
  type SentOutcome,
} from '../../src/services/apply/metrics.js';
import { FakeExchange } from '../helpers/fake-exchange.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { redisStoreOn } from '../helpers/redis-store.js';
import { govBody, makeHarness, p33Body, planIdFor, proposal } from '../services/apply/harness.js';
import { rig, type RigOptions } from '../services/governor/harness.js';
import { p33Rig } from '../services/position-brain/harness.js';
import { ackedOrder, fleet as fleetSamples } from './fixtures.js';
import {
  ALLOWLIST,
  applyFleetFill,
  entryMs,
  MARKS,
  replayThroughApply,
  START_POSITIONS,
  SYMBOLS,
} from './replay.js';

// ---------------------------------------------------------------- exposition text

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  samples: Sample[];
}

/** Prometheus text format 0.0.4: `# TYPE` lines and their samples (histogram samples by base name). */
function parseExposition(body: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of body.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) out.set(type[1]!, { type: type[2]!, samples: [] });
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]!] = kv[2]!;
    const name = m[1]!;
    const family = out.get(name) ?? out.get(name.replace(/_(bucket|sum|count)$/, ''));
    family?.samples.push({ name, labels, value: Number(m[3]) });
  }
  return out;
}

const fleetFamily = (name: string) => /^(quantum|p33)_/.test(name);

/** A series as `name{k="v",...}` with its labels sorted: label order is not part of a series. */
const seriesKey = (s: { name: string; labels: Record<string, string> }) =>
  `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

/** Series → value of one family. */
function seriesOf(families: Map<string, Family>, name: string): Map<string, number> {
  return new Map((families.get(name)?.samples ?? []).map((s) => [seriesKey(s), s.value]));
}

const labelNamesOf = (family: Family) =>
  [...new Set(family.samples.flatMap((s) => Object.keys(s.labels)))].sort();

/**
 * Label names of the fleet's families that the recorded run left without a sample, as the fleet
 * declares them (its Counter/Gauge definitions); every other family's come from its samples.
 */
const DECLARED_WITHOUT_SAMPLES: Record<string, string[]> = {
  quantum_govern_block_total: ['reason', 'symbol'],
  quantum_govern_disarm_total: ['reason'],
  p33_snapshot_age_seconds: ['symbol'],
};

/** The fleet's label values where they are a closed set (the brief of each service). */
const FLEET_GOVERNOR_BLOCK_REASONS = [
  'kill_score_critical_non_close',
  'hourly_limit_exceeded',
  'burst_limit_exceeded',
  'daily_limit_exceeded',
  'position_fetch_failed',
  'limit_computation_error',
  'evaluation_error',
];
const FLEET_DISARM_REASONS = ['burst_limit_breach', 'repeated_errors'];
const FLEET_P33_DENY_REASONS = [
  'no_exchange_snapshot',
  'stale_exchange_state',
  'no_position',
  'reconcile_required_side_mismatch',
  'reconcile_required_qty_mismatch',
  'cooldown_in_flight',
];

/** Each service's metrics, registered on a registry of its own. */
const SERVICES = {
  apply: (r: Registry) => void promSink(createApplyMetrics(r), SYMBOLS),
  governor: (r: Registry) => void createGovernorMetrics(r),
  p33: (r: Registry) => void createP33Metrics(r),
};
type Service = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as Service[];

function registryOf(service: Service): Registry {
  const registry = createRegistry();
  SERVICES[service](registry);
  return registry;
}

const fleet = Object.fromEntries(
  SERVICE_NAMES.map((service) => [service, parseExposition(fleetSamples.metrics(service))]),
) as Record<Service, Map<string, Family>>;

/** The fleet's families of one service, in scope. */
const fleetFamilies = (service: Service) => [...fleet[service]].filter(([name]) => fleetFamily(name));

// ---------------------------------------------------------------- names, types, label names

describe('fleet metric families: names, types and label names', () => {
  it('when the fixtures are read then each service has fleet families, and only runtime ones are left out', () => {
    for (const service of SERVICE_NAMES) {
      expect(fleetFamilies(service).length, service).toBeGreaterThanOrEqual(4);
      const other = [...fleet[service].keys()].filter((n) => !fleetFamily(n));
      expect(
        other.filter((n) => !/^(process|python)_/.test(n)),
        service,
      ).toEqual([]);
    }
  });

  for (const service of SERVICE_NAMES) {
    it(`when the ${service} registry is built then every fleet family is in it with the fleet's type and label names`, () => {
      const registry = registryOf(service);
      for (const [name, family] of fleetFamilies(service)) {
        const ours = registry.getSingleMetric(name) as unknown as
          { type: string; labelNames: readonly string[] } | undefined;
        expect(ours, `${service}: ${name}`).toBeDefined();
        expect(ours?.type, `${service}: ${name} type`).toBe(family.type);
        const expected = family.samples.length > 0 ? labelNamesOf(family) : DECLARED_WITHOUT_SAMPLES[name];
        expect(expected, `${service}: ${name} has label names to compare`).toBeDefined();
        expect([...(ours?.labelNames ?? [])].sort(), `${service}: ${name} label names`).toEqual(expected);
      }
    });

    it(`when a ${service} fleet counter is registered then its <base>_created gauge is too, with the same label names`, () => {
      const registry = registryOf(service);
      const counters = fleetFamilies(service).filter(([, f]) => f.type === 'counter');
      expect(counters.length).toBeGreaterThanOrEqual(1);
      for (const [name] of counters) {
        const base = name.replace(/_total$/, '');
        const counter = registry.getSingleMetric(name) as unknown as { labelNames: string[] };
        const created = registry.getSingleMetric(`${base}_created`) as unknown as
          { type: string; labelNames: string[] } | undefined;
        expect(created?.type, `${base}_created`).toBe('gauge');
        expect(created?.labelNames, `${base}_created`).toEqual(counter.labelNames);
        // The fleet's own _created family, where the run recorded one, agrees.
        const recorded = fleet[service].get(`${base}_created`);
        if (recorded) expect(recorded.type).toBe('gauge');
      }
    });
  }

  it("when our reasons are listed then every fleet reason is among them under its fleet's name", () => {
    const union = (path: string, type: string) => {
      const src = readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
      const m = new RegExp(`export type ${type} =([^;]+);`).exec(src);
      return new Set([...(m?.[1] ?? '').matchAll(/'([a-z0-9_]+)'/g)].map((x) => x[1]));
    };
    const block = union('src/domain/governor/gates.ts', 'GovernorBlockReason');
    const deny = union('src/domain/position/checks.ts', 'P33DenyReason');
    const disarm = union('src/services/governor/auto-disarm.ts', 'DisarmReason');
    expect(FLEET_GOVERNOR_BLOCK_REASONS.filter((r) => !block.has(r))).toEqual([]);
    expect(FLEET_P33_DENY_REASONS.filter((r) => !deny.has(r))).toEqual([]);
    expect(FLEET_DISARM_REASONS.filter((r) => !disarm.has(r))).toEqual([]);
  });
});

// ---------------------------------------------------------------- execute status

describe("quantum_apply_execute_total: the fleet's status", () => {
  const OUTCOMES: [SentOutcome, 'success' | 'error'][] = [
    ['filled', 'success'],
    ['accepted', 'success'], // Binance's ACK answer: the fleet recorded success (result-entries-ack-response.json)
    ['placed', 'success'],
    ['rejected', 'error'],
    ['unknown', 'error'],
  ];

  it('when an order outcome is reported then execute_total carries success or error and order_outcome the outcome', async () => {
    const registry = createRegistry();
    const sink = promSink(createApplyMetrics(registry), SYMBOLS);
    for (const [outcome] of OUTCOMES) sink.execute('BTCUSDT', 'CLOSE_FULL', outcome);
    const ours = parseExposition(await registry.metrics());
    expect(seriesOf(ours, 'quantum_apply_execute_total')).toEqual(
      new Map([
        ['quantum_apply_execute_total{status="success",step="CLOSE_FULL",symbol="BTCUSDT"}', 3],
        ['quantum_apply_execute_total{status="error",step="CLOSE_FULL",symbol="BTCUSDT"}', 2],
      ]),
    );
    for (const [outcome, status] of OUTCOMES) expect(fleetStatus(outcome), outcome).toBe(status);
    expect(seriesOf(ours, 'quantum_apply_order_outcome_total')).toEqual(
      new Map(
        OUTCOMES.map(([o]) => [
          `quantum_apply_order_outcome_total{outcome="${o}",step="CLOSE_FULL",symbol="BTCUSDT"}`,
          1,
        ]),
      ),
    );
  });
});

// ---------------------------------------------------------------- the recorded run, replayed

const planEntries = fleetSamples.planEntries();
const fleetResults = new Map(fleetSamples.results().map((r) => [r.fields.plan_id!, r.fields]));

function expectCreatedForEveryCounterSeries(
  ours: Map<string, Family>,
  service: Service,
  inRange: (v: number) => boolean,
): void {
  for (const [name, family] of fleetFamilies(service)) {
    if (family.type !== 'counter') continue;
    const base = name.replace(/_total$/, '');
    const created = seriesOf(ours, `${base}_created`);
    for (const s of ours.get(name)?.samples ?? []) {
      const key = seriesKey({ name: `${base}_created`, labels: s.labels });
      expect(created.has(key), key).toBe(true);
      expect(inRange(created.get(key)!), `${key} = ${created.get(key)}`).toBe(true);
    }
  }
}

describe.skipIf(skipRedis)('the fleet run replayed through our services', () => {
  const server = usePrivateRedis();

  it("when apply decides and executes the fleet's proposals then its plan, execute and last-success series are the fleet's", async () => {
    const { registry, started, ended } = await replayThroughApply(server);
    const ours = parseExposition(await registry.metrics());
    const theirs = fleet.apply;
    expect(seriesOf(ours, 'quantum_apply_plan_total')).toEqual(seriesOf(theirs, 'quantum_apply_plan_total'));
    expect(seriesOf(ours, 'quantum_apply_execute_total')).toEqual(
      seriesOf(theirs, 'quantum_apply_execute_total'),
    );
    expect([...seriesOf(ours, 'quantum_apply_last_success_epoch').keys()].sort()).toEqual(
      [...seriesOf(theirs, 'quantum_apply_last_success_epoch').keys()].sort(),
    );
    expect([...seriesOf(ours, 'quantum_apply_dedupe_hits_total').keys()]).toEqual([
      ...seriesOf(theirs, 'quantum_apply_dedupe_hits_total').keys(),
    ]);
    // Our detail beside it: what the exchange answered (fills, and the two stops placed).
    expect(
      [...seriesOf(ours, 'quantum_apply_order_outcome_total').keys()].filter((k) => k.includes('UPDATE_SL')),
    ).toEqual([
      'quantum_apply_order_outcome_total{outcome="placed",step="UPDATE_SL",symbol="BTCUSDT"}',
      'quantum_apply_order_outcome_total{outcome="placed",step="UPDATE_SL",symbol="ETHUSDT"}',
    ]);
    expectCreatedForEveryCounterSeries(ours, 'apply', (v) => v >= started - 1 && v <= ended);
  });

  it("when an order's answer is not a fill then execute_total says the fleet's success or error", async () => {
    const registry = createRegistry();
    const exchange = new FakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2, SOLUSDT: 60 }, MARKS);
    const h = await makeHarness(
      { redisUrl: server.url, prefix: server.prefix() },
      {},
      exchange,
      new RecordingMetrics(promSink(createApplyMetrics(registry), SYMBOLS)),
    );
    const place = vi.spyOn(exchange, 'placeReduceOnlyMarket');
    place
      // Binance's default ACK answer: accepted, nothing filled yet.
      .mockResolvedValueOnce({ kind: 'accepted', order: ackedOrder('BTCUSDT', 'SELL'), recovered: false })
      .mockResolvedValueOnce({ kind: 'rejected', reason: 'reduce_only_rejected', code: -2022, message: 'x' })
      .mockRejectedValueOnce(new Error('socket hang up')); // the request may have left: unknown
    try {
      await h.service.start();
      let n = 0;
      for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
        const fields = proposal('PARTIAL_50', '0.3');
        const id = planIdFor(symbol, fields);
        const pos = START_POSITIONS[symbol]!;
        await h.setPermit('governor', id, govBody(symbol));
        await h.setPermit(
          'p33',
          id,
          p33Body(symbol, symbol === 'SOLUSDT' ? 30 : Math.abs(pos) / 2, { exchange_position_amt: pos }),
        );
        await h.writeProposal(symbol, fields);
        await h.waitForResults(++n, 8000);
      }
    } finally {
      await h.close();
    }
    const ours = parseExposition(await registry.metrics());
    expect(seriesOf(ours, 'quantum_apply_execute_total')).toEqual(
      new Map([
        ['quantum_apply_execute_total{status="success",step="CLOSE_PARTIAL_50",symbol="BTCUSDT"}', 1],
        ['quantum_apply_execute_total{status="error",step="CLOSE_PARTIAL_50",symbol="ETHUSDT"}', 1],
        ['quantum_apply_execute_total{status="error",step="CLOSE_PARTIAL_50",symbol="SOLUSDT"}', 1],
      ]),
    );
    expect([...seriesOf(ours, 'quantum_apply_order_outcome_total').keys()]).toEqual([
      'quantum_apply_order_outcome_total{outcome="accepted",step="CLOSE_PARTIAL_50",symbol="BTCUSDT"}',
      'quantum_apply_order_outcome_total{outcome="rejected",step="CLOSE_PARTIAL_50",symbol="ETHUSDT"}',
      'quantum_apply_order_outcome_total{outcome="unknown",step="CLOSE_PARTIAL_50",symbol="SOLUSDT"}',
    ]);
    // Only a success moves the last-success gauge, as in the fleet.
    expect([...seriesOf(ours, 'quantum_apply_last_success_epoch').keys()]).toEqual([
      'quantum_apply_last_success_epoch{symbol="BTCUSDT"}',
    ]);
  });

  /** Our Governor's /metrics after it evaluated the fleet's plan entries at their recorded times. */
  async function governorOnPlanEntries(opts: RigOptions = {}): Promise<Map<string, Family>> {
    const r = await rig(() => redisStoreOn(server), opts);
    try {
      for (const e of planEntries) {
        r.clock.set(entryMs(e));
        await r.gov.evaluate(e.fields);
      }
    } finally {
      await r.store.close();
    }
    return parseExposition(await r.metrics.registry.metrics());
  }

  it("when the Governor evaluates the fleet's plan entries then its allow and exec-count series are the fleet's", async () => {
    // The fleet's Governor ran in testnet, where it approves every plan: limits that never bind.
    const ours = await governorOnPlanEntries({
      limits: {
        maxExecPerHour: 1000,
        maxExecPer5Min: 1000,
        maxReduceNotionalPerDayUsd: 1e12,
        maxReduceQtyPerDay: 1e12,
      },
    });
    const theirs = fleet.governor;
    for (const name of [
      'quantum_govern_allow_total',
      'quantum_govern_block_total',
      'quantum_govern_disarm_total',
      'quantum_govern_exec_count_hour',
      'quantum_govern_exec_count_5min',
    ]) {
      expect(seriesOf(ours, name), name).toEqual(seriesOf(theirs, name));
    }
    const times = new Set(planEntries.map((e) => entryMs(e) / 1000));
    expectCreatedForEveryCounterSeries(ours, 'governor', (v) => times.has(v));
  });

  it("when the Governor's default limits bind on the fleet's plan entries then its block and disarm reasons are the fleet's", async () => {
    const ours = await governorOnPlanEntries();
    const blocks = ours.get('quantum_govern_block_total')!.samples;
    const disarms = ours.get('quantum_govern_disarm_total')!.samples;
    expect(blocks.length).toBeGreaterThan(0);
    expect(disarms.length).toBeGreaterThan(0);
    for (const s of blocks) expect(FLEET_GOVERNOR_BLOCK_REASONS, seriesKey(s)).toContain(s.labels.reason);
    for (const s of disarms) expect(FLEET_DISARM_REASONS, seriesKey(s)).toContain(s.labels.reason);
    for (const s of [...blocks, ...ours.get('quantum_govern_allow_total')!.samples])
      expect(ALLOWLIST, seriesKey(s)).toContain(s.labels.symbol);
    const times = new Set(planEntries.map((e) => entryMs(e) / 1000));
    expectCreatedForEveryCounterSeries(ours, 'governor', (v) => times.has(v));
  });

  it("when P3.3 evaluates the fleet's plan entries beside its results then its permit and position series are the fleet's", async () => {
    const clock = new ManualClock(entryMs(planEntries[0]!) - 1000);
    const r = p33Rig(await redisStoreOn(server), {}, clock);
    const positions = { ...START_POSITIONS };
    const sync = () => {
      for (const s of ALLOWLIST) r.exchange.setPosition(s, positions[s]!);
    };
    try {
      sync();
      await r.p33.snapshots.refresh(); // seeds the ledgers from the exchange
      await r.p33.ledger.poll(); // places the cursor
      for (const e of planEntries) {
        clock.set(entryMs(e));
        sync();
        await r.p33.snapshots.refresh();
        await r.p33.evaluate(e.fields);
        // The fleet's apply acted on the plan and published its result; the exchange moved.
        const result = fleetResults.get(e.fields.plan_id!);
        if (result) {
          await r.store.xadd(r.store.keys.resultStream(), result);
          applyFleetFill(positions, result);
          sync();
          await r.p33.ledger.poll();
        }
      }
      sync();
      await r.p33.snapshots.refresh();
    } finally {
      await r.store.close();
    }
    const ours = parseExposition(await r.metrics.registry.metrics());
    const theirs = fleet.p33;
    for (const name of [
      'p33_permit_allow_total',
      'p33_permit_deny_total',
      'p33_ledger_position_amt',
      'p33_exchange_position_amt',
    ]) {
      expect(seriesOf(ours, name), name).toEqual(seriesOf(theirs, name));
    }
    // The fleet sets the snapshot age only on a stale deny (none in the run); ours on every refresh.
    for (const s of ours.get('p33_snapshot_age_seconds')!.samples) {
      expect(Object.keys(s.labels)).toEqual(['symbol']);
      expect(ALLOWLIST).toContain(s.labels.symbol);
    }
    const times = new Set(planEntries.map((e) => entryMs(e) / 1000));
    expectCreatedForEveryCounterSeries(ours, 'p33', (v) => times.has(v));
  });
});
