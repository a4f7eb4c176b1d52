/**
 * Soak: `npm run soak -- --minutes N [--seed S] [--no-chaos] [--no-write]`. Three apply replicas (in-process,
 * each on its own Redis connections, symbol leases), the real governor and position brain, the
 * paper exchange with random faults on every order and some reads, a proposal feeder, and (with
 * chaos) a replica crashed and replaced every 20 s. At the end: lost plans, duplicate results,
 * duplicate orders, unpermitted orders, closes beyond their plan and client ids filled twice
 * (all must be 0), plus throughput. Exit code 1 if any
 * invariant fails. The run's row goes into RELIABILITY.md's soak table (the last three kept)
 * unless --no-write. Private redis-server on a free loopback port; nothing is left running.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startPaperExchange, type FaultSpec } from '../src/exchange/paper/index.js';
import { describeFault } from '../src/exchange/paper/faults.js';
import { systemClock } from '../src/ops/clock.js';
import { createLogger } from '../src/ops/logger.js';
import { createP33Metrics, createRegistry } from '../src/ops/metrics.js';
import { GovernorService } from '../src/services/governor/service.js';
import { PositionBrainService } from '../src/services/position-brain/service.js';
import { createStore } from '../src/store/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { mulberry32 } from '../test/helpers/seeded-random.js';
import { LIFTED_GOVERNOR_LIMITS } from './lib/authority-config.js';
import { readMarkedBlock, writeMarkedBlock } from './lib/doc.js';
import { nextSoakBlock } from './lib/soak-table.js';
import {
  audit,
  feed,
  PAPER_KEYS,
  paperAdapter,
  startReplica,
  SYMBOLS,
  type Replica,
} from '../test/reliability/rig.js';
import { sleep } from '../test/helpers/wait.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    'no-chaos': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    /** The authorities' info log (JSON lines) to this file; they are silent otherwise. */
    'authority-log': { type: 'string' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error('--minutes must be > 0');

const random = mulberry32(Number(values.seed));
const DOC = 'RELIABILITY.md';

const ORDER = { endpoint: '/fapi/v1/order', method: 'POST' } as const;
const FAULTS: FaultSpec[] = [
  { ...ORDER, unknownAfterFill: true, probability: 0.03 },
  { ...ORDER, dropAfterFill: true, probability: 0.02 },
  { ...ORDER, timeoutAfterFill: true, probability: 0.02 },
  { ...ORDER, garbageAfterFill: true, probability: 0.02 },
  { ...ORDER, status5xx: 503, probability: 0.03 },
  { ...ORDER, timeout: true, probability: 0.01 },
  { ...ORDER, rateLimit: { status: 429, retryAfterSec: 0 }, probability: 0.01 },
  { endpoint: '/fapi/v1/order', method: 'GET', status5xx: 502, probability: 0.05 },
  { endpoint: '/fapi/v3/positionRisk', status5xx: 503, probability: 0.02 },
  { latencyMs: 50, probability: 0.05 },
];
const POSITIONS = { BTCUSDT: 5, ETHUSDT: -80, SOLUSDT: 3000 };
const ACTIONS = ['PARTIAL_50', 'PARTIAL_75', 'FULL_CLOSE_PROPOSED', 'PARTIAL_50', 'UPDATE_SL', 'HOLD'];
/** Stops on the closing side of each paper mark and inside its PRICE_FILTER (longs below, the short above). */
const STOP_PRICES: Record<string, string> = { BTCUSDT: '50000.5', ETHUSDT: '3300.5', SOLUSDT: '100.25' };

async function main(): Promise<void> {
  const out = (s: string) => process.stdout.write(s);
  const server = await startRedis();
  const paper = await startPaperExchange({
    host: '127.0.0.1',
    port: 0,
    ...PAPER_KEYS,
    positions: POSITIONS,
    random,
    // Fills are booked but positions keep their size, so exits can run for the whole soak.
    holdPositions: true,
  });
  paper.faults.set(FAULTS);
  const faultCounts: Record<string, number> = {};
  const take = paper.faults.take.bind(paper.faults);
  paper.faults.take = (method, path) => {
    const f = take(method, path);
    if (f) faultCounts[describeFault(f)] = (faultCounts[describeFault(f)] ?? 0) + 1;
    return f;
  };
  const prefix = server.prefix();
  const store = await createStore({ url: server.url, prefix });
  const quiet = createLogger({ service: 'soak', level: 'silent' });
  const authorityLog = values['authority-log']
    ? createLogger({ service: 'soak-authorities', destination: pino.destination(values['authority-log']) })
    : quiet;
  const authorityStores = [
    await createStore({ url: server.url, prefix }),
    await createStore({ url: server.url, prefix }),
  ];
  const governor = new GovernorService({
    store: authorityStores[0]!,
    exchange: paperAdapter(paper, systemClock, authorityLog),
    clock: systemClock,
    logger: authorityLog,
    autoApprove: false,
    consumer: 'soak-governor',
    limits: {
      ...LIFTED_GOVERNOR_LIMITS,
    },
    // Exchange faults would trip auto-disarm (fail closed) and stop every plan until an operator
    // re-arms; the soak measures the apply path, so auto-disarm is off here.
    disarmOnBurst: false,
    disarmErrorThreshold: 1e9,
  });
  // P3.3's own counters, for its deny reasons (the result only says p33_permit_denied).
  const p33Metrics = createP33Metrics(createRegistry());
  const denied = async () => (await p33Metrics.permitDeny.get()).values.reduce((n, v) => n + v.value, 0);
  const p33 = new PositionBrainService({
    store: authorityStores[1]!,
    metrics: p33Metrics,
    exchange: paperAdapter(paper, systemClock, authorityLog),
    clock: systemClock,
    logger: authorityLog,
    allowlist: [...SYMBOLS],
    // Held positions: the ledger falls with each fill while the exchange keeps its size, so the
    // tolerance spans the whole position; the cooldown is off to keep plans flowing.
    limits: { staleThresholdSec: 10, qtyTolerancePct: 100, cooldownSec: 0 },
    pollSec: 0.5,
    permitTtlSec: 60,
    consumer: 'soak-p33',
  });
  await p33.snapshots.refresh();
  await Promise.all([governor.consumer.ensureGroup(), p33.consumer.ensureGroup()]);
  governor.start();
  p33.start();

  let replicaSeq = 0;
  const replicas: Replica[] = [];
  const startOne = async () =>
    // A small in-flight bound (APPLY_MAX_IN_FLIGHT) so that runs queue for a slot under the chaos too.
    replicas.push(
      await startReplica(`r${++replicaSeq}`, server.url, prefix, paper, { opts: { maxInFlight: 2 } }),
    );
  for (let i = 0; i < 3; i++) await startOne();

  const started = Date.now();
  const endAt = started + minutes * 60_000;
  let fed = 0;
  let kills = 0;
  const feeders = SYMBOLS.map(async (symbol) => {
    while (Date.now() < endAt) {
      const action = ACTIONS[Math.floor(random() * ACTIONS.length)]!;
      const ks = random() < 0.1 ? '0.9' : '0.3';
      const sl: Record<string, string> =
        action === 'UPDATE_SL' ? { new_sl_proposed: STOP_PRICES[symbol] ?? '100.25' } : {};
      await feed(store, symbol, action, ks, sl).catch(() => {});
      fed++;
      await sleep(150 + Math.floor(random() * 250));
    }
  });
  const chaos = (async () => {
    if (values['no-chaos']) return;
    while (Date.now() + 20_000 < endAt) {
      await sleep(20_000);
      const victim = replicas.splice(Math.floor(random() * replicas.length), 1)[0];
      if (!victim) continue;
      await victim.kill();
      kills++;
      await startOne();
    }
  })();
  const progress = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    const orders = paper.state.orders.length + paper.state.algoOrders.length;
    void denied().then((n) =>
      out(
        `[soak] ${s}s fed=${fed} orders=${orders} replicas=${replicas.length} kills=${kills} p33_denied=${n}\n`,
      ),
    );
  }, 15_000);
  await Promise.all([...feeders, chaos]);
  clearInterval(progress);

  // Drain: every EXECUTE plan gets its result (recoveries and lease takeovers included).
  const drainStart = Date.now();
  let a = await audit(store, paper);
  while (a.lost.length > 0 && Date.now() - drainStart < 60_000) {
    await sleep(500);
    a = await audit(store, paper);
  }
  const elapsedSec = (drainStart - started) / 1000;
  await Promise.allSettled(replicas.map((r) => r.stop()));
  await Promise.allSettled([governor.stop(), p33.stop()]);
  const results = await store.xrange(store.keys.resultStream(), '-', '+');
  const byDecision: Record<string, number> = {};
  for (const r of results) {
    const k = `${r.fields.decision}${r.fields.error ? `:${r.fields.error.split(':').slice(0, 2).join(':')}` : ''}`;
    byDecision[k] = (byDecision[k] ?? 0) + 1;
  }
  // Why the authorities refused (a governor block leaves apply waiting: missing_governor).
  const refusals: Record<string, number> = {};
  for (const e of await store.xrange(store.keys.governorDecisions(), '-', '+')) {
    if (e.fields.decision !== 'BLOCKED') continue;
    const k = `governor:${e.fields.reason ?? '?'}`;
    refusals[k] = (refusals[k] ?? 0) + 1;
  }
  const p33Denies: Record<string, number> = {};
  for (const v of (await p33Metrics.permitDeny.get()).values) {
    const k = `p33:${v.labels.reason ?? '?'}`;
    p33Denies[k] = (p33Denies[k] ?? 0) + v.value;
  }
  const report = {
    minutes,
    seed: Number(values.seed),
    proposals_fed: fed,
    plans: a.plans,
    execute_plans: a.executePlans,
    results: a.results,
    orders: a.orders,
    replica_kills: kills,
    faults_applied: Object.values(faultCounts).reduce((x, y) => x + y, 0),
    faults_by_kind: faultCounts,
    lost: a.lost.length,
    duplicate_results: a.duplicateResults.length,
    duplicate_orders: a.duplicateOrders.length,
    unpermitted_orders: a.unpermitted.length,
    misreported_orders: a.misreported.length,
    // The exposure invariant (test/reliability/exposure.ts), from the exchange's fills.
    overclosed_fills: a.overclosed.length,
    double_filled_client_ids: a.doubleFilled.length,
    plans_per_sec: +(a.plans / elapsedSec).toFixed(2),
    orders_per_sec: +(a.orders / elapsedSec).toFixed(2),
    drain_ms: Date.now() - drainStart,
    results_by_decision: byDecision,
    governor_blocks_by_reason: refusals,
    p33_denies_by_reason: p33Denies,
  };
  out(`${JSON.stringify(report, null, 2)}\n`);
  // Orders whose result does not say EXECUTE: what the plan's result and intent recorded.
  for (const id of a.misreported) {
    const res = results.find((r) => r.fields.plan_id === id)?.fields;
    const intent = await store.hgetall(store.keys.orderIntent(id));
    out(
      `[soak] misreported ${id}: result ${res?.decision} ${res?.error}; intent ${JSON.stringify(intent)}\n`,
    );
  }
  const ok =
    report.lost +
      report.duplicate_results +
      report.duplicate_orders +
      report.unpermitted_orders +
      report.overclosed_fills +
      report.double_filled_client_ids ===
    0;
  out(
    ok
      ? '[soak] PASS: 0 lost, 0 duplicated, 0 unpermitted, 0 closes beyond their plan, 0 client ids filled twice\n'
      : `[soak] FAIL ${JSON.stringify({
          lost: a.lost,
          dup: a.duplicateOrders,
          unpermitted: a.unpermitted,
          overclosed: a.overclosed,
          double_filled: a.doubleFilled,
        })}\n`,
  );
  if (!values['no-write']) {
    const run = `${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model?.trim() ?? 'unknown CPU'}`;
    const args = `--minutes ${minutes} --seed ${report.seed}${values['no-chaos'] ? ' --no-chaos' : ''}`;
    const previous = readMarkedBlock(readFileSync(DOC, 'utf8'), 'soak');
    writeMarkedBlock(DOC, 'soak', nextSoakBlock(previous, report, run, args));
    out(`[soak] row written to ${DOC}\n`);
  }
  await Promise.allSettled([store.close(), ...authorityStores.map((s) => s.close()), paper.close()]);
  await server.stop();
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
