import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import {
  LATENCY_BUCKETS,
  closedLabel,
  createApplyMetrics,
  createExchangeMetrics,
  createGovernorMetrics,
  createP33Metrics,
  createRegistry,
  fleetCounter,
} from '../../src/ops/metrics.js';
import { ManualClock } from '../../src/ops/clock.js';

interface Scraped {
  type: string;
  labelSets: string[][];
}

/** Parses exposition text into metric name → type and the label names seen on its samples. */
async function scrape(registry: ReturnType<typeof createRegistry>): Promise<Map<string, Scraped>> {
  const out = new Map<string, Scraped>();
  for (const line of (await registry.metrics()).split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) out.set(type[1] as string, { type: type[2] as string, labelSets: [] });
    const sample = /^([a-zA-Z_:][\w:]*?)(?:_bucket|_sum|_count)?(?:\{([^}]*)\})? \S+$/.exec(line);
    if (sample && !line.startsWith('#')) {
      const entry = out.get(sample[1] as string);
      const labels = (sample[2] ?? '')
        .split(',')
        .filter((x) => x !== '')
        .map((kv) => kv.split('=')[0] as string)
        .filter((k) => k !== 'le')
        .sort();
      entry?.labelSets.push(labels);
    }
  }
  return out;
}

function expectMetric(scraped: Map<string, Scraped>, name: string, type: string, labels: string[]): void {
  const m = scraped.get(name);
  expect(m, name).toBeDefined();
  expect(m?.type, name).toBe(type);
  expect(m?.labelSets.length, `${name} has samples`).toBeGreaterThan(0);
  for (const set of m?.labelSets ?? []) expect(set, name).toEqual([...labels].sort());
}

describe('metrics', () => {
  it('when apply metrics are used then the scrape shows the contract names and labels exactly', async () => {
    const registry = createRegistry();
    const m = createApplyMetrics(registry);
    m.plan.inc({ symbol: 'BTCUSDT', decision: 'EXECUTE' });
    m.execute.inc({ symbol: 'BTCUSDT', step: 'CLOSE_FULL', status: 'success' });
    m.orderOutcome.inc({ symbol: 'BTCUSDT', step: 'CLOSE_FULL', outcome: 'filled' });
    m.dedupeHits.inc();
    m.lastSuccessEpoch.set({ symbol: 'BTCUSDT' }, 1_769_300_000);
    m.permitWait.observe({ outcome: 'consumed' }, 0.004);
    m.proposalToOrder.observe(0.02);
    m.consume.inc({ outcome: 'consumed' });
    m.inputRejected.inc({ reason: 'missing_kill_score' });
    m.result.inc({ symbol: 'BTCUSDT', decision: 'EXECUTE', plan_decision: 'EXECUTE' });
    m.armed.set(1);
    m.armChangedAt.set(1_769_300_000);
    m.killSwitchBlocks.inc({ symbol: 'BTCUSDT', plan_decision: 'EXECUTE' });
    const s = await scrape(registry);
    expectMetric(s, 'quantum_apply_plan_total', 'counter', ['symbol', 'decision']);
    expectMetric(s, 'quantum_apply_execute_total', 'counter', ['symbol', 'step', 'status']);
    expectMetric(s, 'quantum_apply_dedupe_hits_total', 'counter', []);
    expectMetric(s, 'quantum_apply_last_success_epoch', 'gauge', ['symbol']);
    expectMetric(s, 'quantum_apply_permit_wait_seconds', 'histogram', ['outcome']);
    expectMetric(s, 'quantum_apply_proposal_to_order_seconds', 'histogram', []);
    expectMetric(s, 'quantum_apply_consume_total', 'counter', ['outcome']);
    expectMetric(s, 'quantum_apply_input_rejected_total', 'counter', ['reason']);
    expectMetric(s, 'quantum_apply_result_total', 'counter', ['symbol', 'decision', 'plan_decision']);
    expectMetric(s, 'quantum_apply_order_outcome_total', 'counter', ['symbol', 'step', 'outcome']);
    expectMetric(s, 'quantum_apply_plan_created', 'gauge', ['symbol', 'decision']);
    expectMetric(s, 'quantum_apply_execute_created', 'gauge', ['symbol', 'step', 'status']);
    expectMetric(s, 'quantum_apply_dedupe_hits_created', 'gauge', []);
    expectMetric(s, 'quantum_apply_armed', 'gauge', []);
    expectMetric(s, 'quantum_apply_arm_changed_timestamp_seconds', 'gauge', []);
    expectMetric(s, 'quantum_apply_kill_switch_blocks_total', 'counter', ['symbol', 'plan_decision']);
    expect(s.size).toBe(16);
  });

  it('when governor metrics are used then the scrape shows the contract names and labels exactly', async () => {
    const registry = createRegistry();
    const m = createGovernorMetrics(registry);
    m.allow.inc({ symbol: 'BTCUSDT' });
    m.block.inc({ symbol: 'BTCUSDT', reason: 'hourly_limit_exceeded' });
    m.disarm.inc({ reason: 'burst_limit_breach' });
    m.execCountHour.set({ symbol: 'BTCUSDT' }, 2);
    m.execCount5Min.set({ symbol: 'BTCUSDT' }, 1);
    m.evalSeconds.observe(0.001);
    m.inputRejected.inc({ reason: 'missing_plan_id' });
    m.positionReads.inc();
    m.fleetDisarmFailures.inc({ step: 'restart' });
    m.canary.inc({ outcome: 'granted' });
    const s = await scrape(registry);
    expectMetric(s, 'quantum_govern_allow_total', 'counter', ['symbol']);
    expectMetric(s, 'quantum_govern_block_total', 'counter', ['symbol', 'reason']);
    expectMetric(s, 'quantum_govern_disarm_total', 'counter', ['reason']);
    expectMetric(s, 'quantum_govern_exec_count_hour', 'gauge', ['symbol']);
    expectMetric(s, 'quantum_govern_exec_count_5min', 'gauge', ['symbol']);
    expectMetric(s, 'quantum_govern_eval_seconds', 'histogram', []);
    expectMetric(s, 'quantum_govern_input_rejected_total', 'counter', ['reason']);
    expectMetric(s, 'quantum_govern_position_reads_total', 'counter', []);
    expectMetric(s, 'quantum_govern_allow_created', 'gauge', ['symbol']);
    expectMetric(s, 'quantum_govern_block_created', 'gauge', ['symbol', 'reason']);
    expectMetric(s, 'quantum_govern_disarm_created', 'gauge', ['reason']);
    expectMetric(s, 'quantum_govern_fleet_disarm_failures_total', 'counter', ['step']);
    expectMetric(s, 'quantum_govern_canary_total', 'counter', ['outcome']);
    expect(s.size).toBe(13);
  });

  it('when P3.3 metrics are used then the scrape shows the contract names and labels exactly', async () => {
    const registry = createRegistry();
    const m = createP33Metrics(registry);
    m.permitAllow.inc({ symbol: 'BTCUSDT' });
    m.permitDeny.inc({ symbol: 'BTCUSDT', reason: 'stale_exchange_state' });
    m.snapshotAge.set({ symbol: 'BTCUSDT' }, 1.5);
    m.ledgerAmt.set({ symbol: 'BTCUSDT' }, 0.01);
    m.exchangeAmt.set({ symbol: 'BTCUSDT' }, -0.01);
    m.reservedQty.set({ symbol: 'BTCUSDT' }, 0.005);
    m.evalSeconds.observe(0.0007);
    m.inputRejected.inc({ reason: 'bad_symbol' });
    m.ledgerApplied.inc({ symbol: 'BTCUSDT' });
    m.canary.inc({ outcome: 'allow' });
    const s = await scrape(registry);
    expectMetric(s, 'p33_permit_allow_total', 'counter', ['symbol']);
    expectMetric(s, 'p33_permit_deny_total', 'counter', ['symbol', 'reason']);
    expectMetric(s, 'p33_snapshot_age_seconds', 'gauge', ['symbol']);
    expectMetric(s, 'p33_ledger_position_amt', 'gauge', ['symbol']);
    expectMetric(s, 'p33_exchange_position_amt', 'gauge', ['symbol']);
    expectMetric(s, 'p33_eval_seconds', 'histogram', []);
    expectMetric(s, 'p33_input_rejected_total', 'counter', ['reason']);
    expectMetric(s, 'p33_ledger_applied_total', 'counter', ['symbol']);
    expectMetric(s, 'p33_reserved_qty', 'gauge', ['symbol']);
    expectMetric(s, 'p33_permit_allow_created', 'gauge', ['symbol']);
    expectMetric(s, 'p33_permit_deny_created', 'gauge', ['symbol', 'reason']);
    expectMetric(s, 'p33_canary_total', 'counter', ['outcome']);
    expectMetric(s, 'p33_decision_snapshot_age_seconds', 'histogram', []);
    expect(s.size).toBe(15);
  });

  it('when a label outside the declared set is used then prom-client refuses it', () => {
    const m = createApplyMetrics(createRegistry());
    expect(() => m.plan.inc({ symbol: 'BTCUSDT', decision: 'EXECUTE', extra: 'x' } as never)).toThrow();
  });

  it('when two services live in one process then their registries are separate and the global one is untouched', async () => {
    const a = createRegistry();
    const b = createRegistry();
    const ma = createApplyMetrics(a);
    createApplyMetrics(b);
    ma.dedupeHits.inc(3);
    expect(await a.metrics()).toContain('quantum_apply_dedupe_hits_total 3');
    expect(await b.metrics()).toContain('quantum_apply_dedupe_hits_total 0');
    expect(globalRegistry.getSingleMetric('quantum_apply_dedupe_hits_total')).toBeUndefined();
  });

  it('when a latency of a few ms is observed then it lands in a ms-level bucket', async () => {
    expect(LATENCY_BUCKETS[0]).toBe(0.0005);
    expect(LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]).toBe(2.5);
    const registry = createRegistry();
    createGovernorMetrics(registry).evalSeconds.observe(0.0008);
    const text = await registry.metrics();
    expect(text).toContain('quantum_govern_eval_seconds_bucket{le="0.0005"} 0');
    expect(text).toContain('quantum_govern_eval_seconds_bucket{le="0.001"} 1');
  });

  it('when process metrics are asked for then they go to the service registry only', async () => {
    const registry = createRegistry({ processMetrics: true });
    expect(await registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await createRegistry().metrics()).not.toContain('process_cpu_user_seconds_total');
  });

  it('when a label value is outside a closed set then closedLabel maps it to other', () => {
    const reason = closedLabel(['no_position', 'stale_exchange_state']);
    expect(reason('no_position')).toBe('no_position');
    expect(reason('random garbage from redis')).toBe('other');
  });
});

describe('fleet counters: <base>_created', () => {
  /** The `_created` gauge's samples: label values joined with `,` (declared order) → value. */
  async function created(registry: ReturnType<typeof createRegistry>, name: string) {
    const metric = registry.getSingleMetric(name);
    const { values } = (await metric!.get()) as { values: { labels: object; value: number }[] };
    return new Map(values.map((v) => [Object.values(v.labels).join(','), v.value]));
  }

  it("when a label set is first incremented then its _created is the clock's time, and later increments leave it", async () => {
    const registry = createRegistry();
    const clock = new ManualClock(1_796_626_361_138);
    const m = createApplyMetrics(registry, clock);
    expect(await created(registry, 'quantum_apply_plan_created')).toEqual(new Map());
    m.plan.inc({ symbol: 'BTCUSDT', decision: 'EXECUTE' });
    clock.advance(5_250);
    m.plan.inc({ decision: 'EXECUTE', symbol: 'BTCUSDT' }); // the same series, keys in another order
    m.plan.labels('ETHUSDT', 'SKIP').inc();
    clock.advance(1_000);
    m.plan.inc({ symbol: 'ETHUSDT', decision: 'SKIP' }, 2);
    expect(await created(registry, 'quantum_apply_plan_created')).toEqual(
      new Map([
        ['BTCUSDT,EXECUTE', 1_796_626_361.138],
        ['ETHUSDT,SKIP', 1_796_626_366.388],
      ]),
    );
    const text = await registry.metrics();
    expect(text).toContain('# TYPE quantum_apply_plan_created gauge');
    expect(text).toContain('quantum_apply_plan_created{symbol="BTCUSDT",decision="EXECUTE"} 1796626361.138');
    expect(text).toContain('quantum_apply_plan_total{symbol="BTCUSDT",decision="EXECUTE"} 2');
  });

  it('when an unlabelled fleet counter is registered then its _created is set at once, and increments leave it', async () => {
    const registry = createRegistry();
    const clock = new ManualClock(1_796_626_356_123);
    const m = createApplyMetrics(registry, clock);
    clock.advance(60_000);
    m.dedupeHits.inc();
    expect(await created(registry, 'quantum_apply_dedupe_hits_created')).toEqual(
      new Map([['', 1_796_626_356.123]]),
    );
  });

  it('when no clock is given then _created comes from Date.now()', async () => {
    const registry = createRegistry();
    const before = Date.now() / 1000;
    const m = createP33Metrics(registry);
    m.permitDeny.inc({ symbol: 'BTCUSDT', reason: 'no_position' });
    const after = Date.now() / 1000;
    const [v] = [...(await created(registry, 'p33_permit_deny_created')).values()];
    expect(v).toBeGreaterThanOrEqual(before);
    expect(v).toBeLessThanOrEqual(after);
  });

  it('when a fleet counter is built by the helper then the gauge is named after its base, with its labels', async () => {
    const registry = createRegistry();
    const c = fleetCounter(registry, 'x_events_total', 'Events', ['kind'], new ManualClock(2_000));
    c.inc({ kind: 'a' });
    expect(await registry.metrics()).toContain(
      '# HELP x_events_created Events\n# TYPE x_events_created gauge\nx_events_created{kind="a"} 2',
    );
  });

  it('when a counter is ours then it has no _created', async () => {
    const registry = createRegistry();
    const m = createApplyMetrics(registry);
    m.orderOutcome.inc({ symbol: 'BTCUSDT', step: 'CLOSE_FULL', outcome: 'filled' });
    m.consume.inc({ outcome: 'consumed' });
    const text = await registry.metrics();
    expect(text).not.toContain('quantum_apply_order_outcome_created');
    expect(text).not.toContain('quantum_apply_consume_created');
  });
});

describe('exchange usage gauges', () => {
  it("when scraped then they show the adapter's usage this minute", async () => {
    const registry = createRegistry();
    const usage = { usedWeight1m: 0, orderCount1m: 0 };
    createExchangeMetrics(registry, { usageThisMinute: () => usage });
    const sample = async (name: string) =>
      new RegExp(`^${name} (\\S+)$`, 'm').exec(await registry.metrics())?.[1] ?? null;
    expect(await sample('quantum_exchange_used_weight_1m')).toBe('0');
    usage.usedWeight1m = 1385;
    usage.orderCount1m = 41;
    expect(await sample('quantum_exchange_used_weight_1m')).toBe('1385');
    expect(await sample('quantum_exchange_order_count_1m')).toBe('41');
  });
});
