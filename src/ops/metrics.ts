/**
 * Prometheus metrics, one Registry per service instance (never the global default registry, so
 * several services can share a process). Contract names first, ours beside them. Label values
 * must come from closed sets: symbols from config, reasons from the services' reason unions.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { KNOWN_EVENTS, type UserStreamMetrics } from '../exchange/binance/index.js';
import type { GroupInfo } from '../store/port.js';
import { systemClock, type Clock } from './clock.js';

/** Seconds; our hot paths wait on Redis and the exchange, so ms-level resolution matters. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export function createRegistry(opts: { processMetrics?: boolean; prefix?: string } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: opts.prefix });
  return registry;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labels: readonly L[]) {
  return new Counter<L>({ name, help, labelNames: labels, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labels: readonly L[]) {
  return new Gauge<L>({ name, help, labelNames: labels, registers: [registry] });
}

/**
 * A counter of the fleet's, with the `<base>_created` gauge the fleet's Python client writes
 * beside every counter series: unix seconds (float) since when the series counts. Set once: at
 * registration for an unlabelled counter, else at the first increment of each label set, from
 * `clock`. Later increments add one key join and one Set lookup.
 */
export function fleetCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labels: readonly L[],
  clock: Clock,
): Counter<L> {
  const c = counter(registry, name, help, labels);
  const created = gauge(registry, `${name.replace(/_total$/, '')}_created`, help, labels);
  if (labels.length === 0) {
    created.set(clock.now() / 1000);
    return c;
  }
  const seen = new Set<string>();
  const inc = c.inc.bind(c) as (labels?: LabelValues<L> | number, value?: number) => void;
  c.inc = ((set?: LabelValues<L> | number, value?: number) => {
    inc(set, value);
    if (typeof set !== 'object') return;
    // Label values joined in declared order: one key per series, whatever the object's key order.
    const key = labels.map((l) => set[l]).join('\u0000');
    if (seen.has(key)) return;
    seen.add(key);
    created.set(set, clock.now() / 1000);
  }) as Counter<L>['inc'];
  return c;
}

function histogram<L extends string>(registry: Registry, name: string, help: string, labels: readonly L[]) {
  return new Histogram<L>({
    name,
    help,
    labelNames: labels,
    buckets: [...LATENCY_BUCKETS],
    registers: [registry],
  });
}

/** `clock`: the service's, for the fleet counters' `_created` gauges. */
export function createApplyMetrics(registry: Registry, clock: Clock = systemClock) {
  return {
    registry,
    plan: fleetCounter(registry, 'quantum_apply_plan_total', 'Plans decided', ['symbol', 'decision'], clock),
    // The fleet's view: `success` or `error` per order sent (src/services/apply/metrics.ts
    // fleetStatus); what the exchange answered is on orderOutcome.
    execute: fleetCounter(
      registry,
      'quantum_apply_execute_total',
      'Plan steps executed',
      ['symbol', 'step', 'status'],
      clock,
    ),
    orderOutcome: counter(
      registry,
      'quantum_apply_order_outcome_total',
      'Orders sent, by what the exchange answered: filled, accepted, placed, rejected, unknown',
      ['symbol', 'step', 'outcome'],
    ),
    dedupeHits: fleetCounter(
      registry,
      'quantum_apply_dedupe_hits_total',
      'Plans skipped as duplicates',
      [],
      clock,
    ),
    lastSuccessEpoch: gauge(
      registry,
      'quantum_apply_last_success_epoch',
      'Unix time of the last successful execution',
      ['symbol'],
    ),
    // The two latency histograms are over all symbols: with a symbol label, every symbol adds 15
    // series per histogram, which with a thousand symbols weighs on the apply process's heap and
    // on every scrape. Per-symbol outcomes stay in the counters above; one plan's timing is in its logs.
    permitWait: histogram(
      registry,
      'quantum_apply_permit_wait_seconds',
      'Time from the first permit check to consume or give-up, all symbols',
      ['outcome'],
    ),
    proposalToOrder: histogram(
      registry,
      'quantum_apply_proposal_to_order_seconds',
      'Time from reading a proposal to the order response, all symbols',
      [],
    ),
    consume: counter(registry, 'quantum_apply_consume_total', 'Permit consume attempts by outcome', [
      'outcome',
    ]),
    inputRejected: counter(registry, 'quantum_apply_input_rejected_total', 'Proposals rejected at parse', [
      'reason',
    ]),
    result: counter(
      registry,
      'quantum_apply_result_total',
      'Results published, by how the plan ended (decision) and what the plan itself decided (plan_decision)',
      ['symbol', 'decision', 'plan_decision'],
    ),
    // The arm state as this process last read it (with every plan, and every APPLY_POLL_SEC
    // between plans), so a manual disarm shows on a dashboard and can be alerted on.
    armed: gauge(
      registry,
      'quantum_apply_armed',
      '1 while the live arm state (quantum:apply:arm) reads armed, 0 while disarmed or unreadable',
      [],
    ),
    armChangedAt: gauge(
      registry,
      'quantum_apply_arm_changed_timestamp_seconds',
      'Unix time of the last arm or disarm as recorded in the arm state (0: never set, or unreadable)',
      [],
    ),
    killSwitchBlocks: counter(
      registry,
      'quantum_apply_kill_switch_blocks_total',
      'Results BLOCKED kill_switch_active (disarmed, or APPLY_KILL_SWITCH), by what the plan itself decided',
      ['symbol', 'plan_decision'],
    ),
  };
}
export type ApplyMetrics = ReturnType<typeof createApplyMetrics>;

/** `clock`: the service's, for the fleet counters' `_created` gauges. */
export function createGovernorMetrics(registry: Registry, clock: Clock = systemClock) {
  return {
    registry,
    allow: fleetCounter(registry, 'quantum_govern_allow_total', 'Plans allowed', ['symbol'], clock),
    block: fleetCounter(registry, 'quantum_govern_block_total', 'Plans blocked', ['symbol', 'reason'], clock),
    disarm: fleetCounter(registry, 'quantum_govern_disarm_total', 'Auto-disarm events', ['reason'], clock),
    execCountHour: gauge(registry, 'quantum_govern_exec_count_hour', 'Executions in the last hour', [
      'symbol',
    ]),
    execCount5Min: gauge(registry, 'quantum_govern_exec_count_5min', 'Executions in the last 5 min', [
      'symbol',
    ]),
    evalSeconds: histogram(registry, 'quantum_govern_eval_seconds', 'Time to evaluate one plan', []),
    positionReads: counter(
      registry,
      'quantum_govern_position_reads_total',
      'Position reads asked of the exchange adapter (positionRisk, weight 5 of the 2400/min each; past 40 % of the minute one account-wide read serves several)',
      [],
    ),
    inputRejected: counter(
      registry,
      'quantum_govern_input_rejected_total',
      'Plan entries rejected at parse',
      ['reason'],
    ),
    canary: counter(
      registry,
      'quantum_govern_canary_total',
      'Canary plans judged (counted towards no limit): granted, or the block reason',
      ['outcome'],
    ),
    fleetDisarmFailures: counter(
      registry,
      'quantum_govern_fleet_disarm_failures_total',
      'Steps of a fleet-way auto-disarm (GOV_DISARM_FLEET_APPLY) that failed: backup, env_file, restart',
      ['step'],
    ),
  };
}
export type GovernorMetrics = ReturnType<typeof createGovernorMetrics>;

/** `clock`: the service's, for the fleet counters' `_created` gauges. */
export function createP33Metrics(registry: Registry, clock: Clock = systemClock) {
  return {
    registry,
    permitAllow: fleetCounter(registry, 'p33_permit_allow_total', 'P3.3 permits allowed', ['symbol'], clock),
    permitDeny: fleetCounter(
      registry,
      'p33_permit_deny_total',
      'P3.3 permits denied',
      ['symbol', 'reason'],
      clock,
    ),
    snapshotAge: gauge(registry, 'p33_snapshot_age_seconds', 'Age of the exchange snapshot', ['symbol']),
    ledgerAmt: gauge(registry, 'p33_ledger_position_amt', 'Ledger position amount', ['symbol']),
    exchangeAmt: gauge(registry, 'p33_exchange_position_amt', 'Exchange position amount', ['symbol']),
    reservedQty: gauge(
      registry,
      'p33_reserved_qty',
      'Close quantity permitted and not yet seen executed or lapsed, as the last close evaluation counted it',
      ['symbol'],
    ),
    evalSeconds: histogram(registry, 'p33_eval_seconds', 'Time to evaluate one plan', []),
    decisionSnapshotAge: new Histogram({
      name: 'p33_decision_snapshot_age_seconds',
      help: 'Age of the exchange position each evaluation decided on (stored snapshot, or the user stream)',
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15],
      registers: [registry],
    }),
    inputRejected: counter(registry, 'p33_input_rejected_total', 'Entries rejected at parse', ['reason']),
    ledgerApplied: counter(registry, 'p33_ledger_applied_total', 'Results applied to the ledger', ['symbol']),
    ledgerFillResolved: counter(
      registry,
      'p33_ledger_fill_resolved_total',
      'Executed results without a fill quantity, resolved from the exchange (via: order, order_unfilled, position)',
      ['symbol', 'via'],
    ),
    canary: counter(
      registry,
      'p33_canary_total',
      'Canary plans judged (reserving nothing): allow, or the deny reason',
      ['outcome'],
    ),
    ledgerSyncNeeded: gauge(
      registry,
      'p33_ledger_sync_needed',
      '1 while the ledger holds 0, the exchange a position, and no write of ours is in the ledger: run `quantum-apply ledger sync`',
      ['symbol'],
    ),
  };
}
export type P33Metrics = ReturnType<typeof createP33Metrics>;

/**
 * The `canary` command's gauges of its last run, written as Prometheus text for node_exporter's
 * textfile collector (the command is not scraped): names of our own, never a fleet metric's.
 */
export function createCanaryMetrics(registry: Registry) {
  return {
    registry,
    passed: gauge(
      registry,
      'quantum_canary_passed',
      '1 when every canary of the last run passed the whole permit chain within APPLY_PERMIT_WAIT_MS',
      [],
    ),
    lastRun: gauge(
      registry,
      'quantum_canary_last_run_timestamp_seconds',
      'When the last canary run ended (unix s)',
      [],
    ),
    waitSeconds: gauge(
      registry,
      'quantum_canary_wait_seconds',
      'The slowest permit wait of the last canary run',
      [],
    ),
    answered: gauge(
      registry,
      'quantum_canary_authority_answered',
      '1 when the authority answered (permit or block record) every canary of the last run',
      ['authority'],
    ),
    applyAnswered: gauge(
      registry,
      'quantum_canary_apply_answered',
      '1 when a running apply service picked up the last run and answered every canary (always 1 with --local)',
      [],
    ),
  };
}
export type CanaryMetrics = ReturnType<typeof createCanaryMetrics>;
/** What the history lag gauges read at scrape time (the recorder's `lag()`). */
export interface HistoryLagSource {
  lag(): Promise<{ stream: string; entries: number; seconds: number }[]>;
}

/**
 * The history recorder's metrics. The lag gauges are read at scrape time from `source`; a failing
 * read (Redis down) leaves them empty for that scrape rather than failing /metrics.
 */
export function createHistoryMetrics(registry: Registry, source: HistoryLagSource) {
  let inflight: Promise<Awaited<ReturnType<HistoryLagSource['lag']>>> | null = null;
  const snapshot = () =>
    (inflight ??= source
      .lag()
      .catch(() => [])
      .finally(() => (inflight = null)));
  const lagGauge = (
    name: string,
    help: string,
    value: (l: { entries: number; seconds: number }) => number,
  ) => {
    const g: Gauge<'stream'> = new Gauge({
      name,
      help,
      labelNames: ['stream'] as const,
      registers: [registry],
      async collect() {
        const lag = await snapshot();
        g.reset();
        for (const l of lag) g.set({ stream: l.stream }, value(l));
      },
    });
    return g;
  };
  return {
    registry,
    lagEntries: lagGauge(
      'quantum_history_lag_entries',
      'Stream entries the history recorder has not yet written (undelivered + pending in its group)',
      (l) => l.entries,
    ),
    lagSeconds: lagGauge(
      'quantum_history_lag_seconds',
      'Age of the oldest stream entry the history recorder has not yet written (0 when caught up)',
      (l) => l.seconds,
    ),
    rows: counter(
      registry,
      'quantum_history_rows_total',
      'Rows written to the history database (new, not rewrites)',
      ['table'],
    ),
    skipped: counter(
      registry,
      'quantum_history_skipped_total',
      'Stream entries not recorded because they do not parse',
      ['stream', 'reason'],
    ),
    writeFailures: counter(
      registry,
      'quantum_history_write_failures_total',
      'Batch writes to the history database that failed (each is retried until it commits)',
      [],
    ),
    batchSeconds: histogram(registry, 'quantum_history_batch_seconds', 'Time to write one batch', []),
  };
}
export type HistoryMetrics = ReturnType<typeof createHistoryMetrics>;

/** What the stream gauges need from the store (Store satisfies it). */
export interface GroupSource {
  groups(stream: string): Promise<GroupInfo[]>;
}

/**
 * Consumer-group lag and pending counts of `streams`, read from the store at scrape time.
 * A failing read leaves the gauges empty for that scrape and counts a failure instead of
 * failing the whole /metrics response.
 */
export function createStreamMetrics(registry: Registry, source: GroupSource, streams: readonly string[]) {
  // registry.metrics() collects every metric concurrently: both gauges share one read per scrape.
  let inflight: Promise<Map<string, GroupInfo[]>> | null = null;
  const read = async () => {
    const out = new Map<string, GroupInfo[]>();
    for (const stream of streams) {
      try {
        out.set(stream, await source.groups(stream));
      } catch {
        failures.inc({ stream });
      }
    }
    return out;
  };
  const snapshot = () => (inflight ??= read().finally(() => (inflight = null)));
  const failures: Counter<'stream'> = new Counter({
    name: 'quantum_stream_metrics_read_failures_total',
    help: 'Group reads that failed',
    labelNames: ['stream'] as const,
    registers: [registry],
    async collect() {
      await snapshot();
    },
  });
  const groupGauge = (name: string, help: string, value: (g: GroupInfo) => number | null) => {
    const g: Gauge<'stream' | 'group'> = new Gauge({
      name,
      help,
      labelNames: ['stream', 'group'] as const,
      registers: [registry],
      async collect() {
        const snap = await snapshot();
        g.reset();
        for (const [stream, groups] of snap) {
          for (const info of groups) {
            const v = value(info);
            if (v !== null) g.set({ stream, group: info.name }, v);
          }
        }
      },
    });
    return g;
  };
  return {
    registry,
    lag: groupGauge('quantum_stream_group_lag', 'Entries not yet delivered to the group', (g) => g.lag),
    pending: groupGauge(
      'quantum_stream_group_pending',
      'Entries delivered, not acknowledged',
      (g) => g.pending,
    ),
    failures,
  };
}

/** The exchange adapter's usage this minute, from Binance's usage headers. */
export interface ExchangeUsageSource {
  usageThisMinute(): { usedWeight1m: number; orderCount1m: number };
}

/**
 * The account's request weight and order count this minute, as the adapter's answers' headers
 * said (0 once the minute has rolled over with no answer since), read at scrape time: how close
 * the account is to refusals (2,400 weight and 1,200 orders a minute by default). Registered once
 * per adapter (so once under `all`).
 */
export function createExchangeMetrics(registry: Registry, source: ExchangeUsageSource) {
  type Usage = ReturnType<ExchangeUsageSource['usageThisMinute']>;
  const usage = (name: string, help: string, value: (u: Usage) => number) => {
    const g: Gauge = new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        g.set(value(source.usageThisMinute()));
      },
    });
    return g;
  };
  return {
    usedWeight: usage(
      'quantum_exchange_used_weight_1m',
      'Request weight used this minute (X-MBX-USED-WEIGHT-1M of the latest answer)',
      (u) => u.usedWeight1m,
    ),
    orderCount: usage(
      'quantum_exchange_order_count_1m',
      'Orders placed this minute (X-MBX-ORDER-COUNT-1M of the latest order answer)',
      (u) => u.orderCount1m,
    ),
  };
}

/** The user data stream's counters (src/exchange/binance/user-stream.ts calls them). */
export function createUserStreamMetrics(registry: Registry): UserStreamMetrics {
  const type = closedLabel([...KNOWN_EVENTS, 'none']);
  const events = counter(
    registry,
    'quantum_user_stream_events_total',
    'User data stream messages by event type and outcome (position, order, stale, unknown_event, bad_event, ...)',
    ['type', 'outcome'],
  );
  const handovers = counter(
    registry,
    'quantum_user_stream_handover_total',
    'Times the user data stream stopped being trusted (REST serves until it is live again), by cause',
    ['cause'],
  );
  const connects = counter(
    registry,
    'quantum_user_stream_connects_total',
    'User data stream connection attempts',
    ['outcome'],
  );
  const live = gauge(
    registry,
    'quantum_user_stream_live',
    '1 while the user data stream is trusted, else 0',
    [],
  );
  live.set(0);
  return {
    event: (t, outcome) => events.inc({ type: type(t), outcome }),
    handover: (cause) => handovers.inc({ cause }),
    connect: (outcome) => connects.inc({ outcome }),
    live: (on) => live.set(on ? 1 : 0),
  };
}

/**
 * Keeps a label closed: values outside `allowed` become `other`, so a bad input cannot create
 * unbounded series.
 */
export function closedLabel(allowed: Iterable<string>, other = 'other'): (value: string) => string {
  const set = new Set(allowed);
  return (value) => (set.has(value) ? value : other);
}
