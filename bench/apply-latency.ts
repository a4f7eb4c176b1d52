/**
 * Apply latency, end to end over a private loopback Redis and the paper exchange:
 *   A. proposal HSET → the plan entry read by a consumer blocked on XREAD (what the governor sees);
 *   B. the last permit's SETEX sent → the reduce-only order arriving at the paper exchange.
 * Two processes, as in production: this one runs only the apply service; a forked "fleet" process
 * writes proposals and permits, reads the plan stream and hosts the paper exchange, so both ends
 * of every interval are stamped on one clock. Ours (keyspace notifications) is compared with a
 * same-run baseline that polls like the fleet: APPLY_PERMIT_STEP_MS=100 and a 1 s sweep, and with
 * the floor: in every round the fleet process also sends a raw signed order on a fresh connection
 * to the same exchange (apply-fleet.ts). Where our time goes: lib/apply-spans.ts.
 *
 *   npm run bench:apply                # print
 *   npm run bench:apply -- --write     # and rewrite its block of BENCHMARKS.md
 */
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createBinanceExchange } from '../src/exchange/binance/index.js';
import { systemClock } from '../src/ops/clock.js';
import type { ApplyOptions } from '../src/services/apply/options.js';
import { ApplyService } from '../src/services/apply/service.js';
import { createStore } from '../src/store/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { runFleet, type FleetReport, type FleetRequest } from './apply-fleet.js';
import { ApplySpans } from './lib/apply-spans.js';
import { Signed } from './lib/floor/common.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';

const KEY = 'bench-key';
const SECRET = 'bench-secret';
export const SYMBOL = 'BTCUSDT';
/** The position read's added latency in the second A/B (a venue a couple of ms away). */
const VENUE_READ_MS = 2;

interface ModeResult {
  name: string;
  /** Per round: our last permit → order minus that round's floor, and the adapter → exchange leg. */
  raw: { overFloor: number[]; send: number[] };
  plan: Summary;
  order: Summary;
  /** Last permit written → the service calling the exchange adapter (wall clocks of two processes). */
  service: Summary;
  /** A raw client's order on a fresh connection → read by the exchange, in the same rounds. */
  floor: Summary;
  /** Per round: our last permit → order minus that round's floor. */
  overFloor: Summary;
  /**
   * A raw client's signed positionRisk GET on a kept-alive connection from this process, after
   * the rounds at their pace: the round trip the read after the permits costs at the least.
   */
  rawRead: Summary;
  spans: string;
}

function ask(child: ChildProcess, msg: FleetRequest): Promise<FleetReport> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: FleetReport) => {
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`fleet process exited (${code})`));
    child.once('message', onMsg);
    child.once('exit', onExit);
    child.send(msg);
  });
}

async function runMode(
  redisUrl: string,
  name: string,
  over: Partial<ApplyOptions>,
  iterations: number,
  warmup: number,
  /**
   * false: the order intent is written once the order is sized, after the position read (each
   * intent that would ride behind its consume is refused as not consumed, so apply falls back).
   */
  early = true,
  /** The exchange answers position reads this much later (0: at once). */
  readLatencyMs = 0,
): Promise<ModeResult> {
  const prefix = `bench${Math.random().toString(16).slice(2, 8)}:`;
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_APPLY_ROLE: 'fleet' },
  });
  try {
    const ready = await ask(child, {
      kind: 'start',
      redisUrl,
      prefix,
      apiKey: KEY,
      apiSecret: SECRET,
      readLatencyMs,
    });
    if (ready.kind !== 'ready') throw new Error('fleet did not start');
    const store = await createStore({ url: redisUrl, prefix });
    const exchange = createBinanceExchange({ baseUrl: ready.paperUrl, apiKey: KEY, apiSecret: SECRET });
    const opts: ApplyOptions = {
      mode: 'testnet',
      symbols: [SYMBOL, 'ETHUSDT', 'SOLUSDT'],
      allowlist: [SYMBOL],
      pollSec: 5,
      dedupeTtlSec: 21600,
      maxProposalAgeSec: 300,
      kBlockCritical: 0.8,
      kBlockWarning: 0.6,
      killSwitch: false,
      permitWaitMs: 1200,
      permitStepMs: 100,
      requiredAuthorities: ['governor', 'p33'],
      hasCredentials: true,
      ...over,
    };
    const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' });
    const spans = new ApplySpans(store, SYMBOL);
    spans.attach(exchange);
    if (!early) {
      const create = store.leases.createIntent.bind(store.leases);
      store.leases.createIntent = (keys, token, fields, ttl, consumeToken) =>
        consumeToken === undefined ? create(keys, token, fields, ttl) : Promise.resolve('not_consumed');
    }
    const service = new ApplyService({ store, exchange, clock: systemClock, logger }, opts);
    await service.start();
    await exchange.symbolRules(SYMBOL); // exchangeInfo is cached by the adapter, as in production
    try {
      const report = await ask(child, { kind: 'run', iterations, warmup });
      if (report.kind !== 'done') throw new Error(report.kind === 'failed' ? report.error : 'fleet failed');
      const rounds = report.rounds;
      const service = spans.serviceMs(rounds);
      const overFloor = rounds.map((r) => r.orderMs - r.floorMs);
      const raw = new Signed(true, { baseUrl: ready.paperUrl, apiKey: KEY, apiSecret: SECRET });
      const reads: number[] = [];
      try {
        for (let i = 0; i < Math.min(100, iterations) + 5; i++) {
          await sleep(50);
          const t = performance.now();
          await raw.position(SYMBOL);
          if (i >= 5) reads.push(performance.now() - t);
        }
      } finally {
        raw.close();
      }
      return {
        name,
        raw: { overFloor, send: rounds.map((r, i) => r.orderMs - (service[i] ?? Number.NaN)) },
        plan: summarize(report.planMs),
        order: summarize(rounds.map((r) => r.orderMs)),
        service: summarize(service),
        floor: summarize(rounds.map((r) => r.floorMs)),
        overFloor: summarize(overFloor),
        rawRead: summarize(reads),
        spans: spans.table(rounds),
      };
    } finally {
      await service.stop();
      await exchange.close();
      await store.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const write = process.argv.includes('--write');
  const n = Number(process.env.BENCH_APPLY_N ?? 300);
  const redis = await startRedis();
  let redisVersion = '';
  try {
    redisVersion = /v=(\S+)/.exec(execSync('redis-server --version', { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    // the version only decorates the machine line
  }
  try {
    const ours = await runMode(redis.url, 'ours (notifications)', {}, n, 30);
    const baseN = Math.max(20, Math.floor(n / 10));
    const base = await runMode(
      redis.url,
      'baseline (polling: step 100 ms, sweep 1 s)',
      { notifications: false, pollSec: 1 },
      baseN,
      3,
    );
    // The order intent sent behind the consume, or written once the order is sized: alternating
    // blocks, so both see the same noise. Against this exchange on loopback, and with its
    // position reads answered `VENUE_READ_MS` later, as a venue's would be, whose answer does not
    // wait for the cores apply and Redis run on.
    const blocks = 4;
    const per = Math.max(20, Math.floor(n / 8));
    const abTable = async (readLatencyMs: number) => {
      const ab = {
        on: { overFloor: [] as number[], send: [] as number[] },
        off: { overFloor: [] as number[], send: [] as number[] },
      };
      for (let b = 0; b < blocks; b++) {
        for (const v of ['on', 'off'] as const) {
          const r = await runMode(redis.url, v, {}, per, 10, v === 'on', readLatencyMs);
          ab[v].overFloor.push(...r.raw.overFloor);
          ab[v].send.push(...r.raw.send);
        }
      }
      const abRow = (v: 'on' | 'off', label: string) => {
        const o = summarize(ab[v].overFloor);
        const sd = summarize(ab[v].send);
        return [label, String(o.n), fmt(o.p50), fmt(o.p99), fmt(sd.p50), fmt(sd.p99)];
      };
      const ratio = summarize(ab.on.overFloor).p50 / summarize(ab.off.overFloor).p50;
      const reads = readLatencyMs > 0 ? `reads answered ${readLatencyMs} ms later` : 'loopback';
      return markdownTable(
        [
          'order intent written',
          'n',
          'over floor p50 ms',
          'over floor p99 ms',
          'adapter → exchange p50 ms',
          'p99 ms',
        ],
        [
          abRow('on', `behind the consume (${reads})`),
          abRow('off', `after the position read (A, ${reads})`),
          ['B / A, p50', '', `${fmt(ratio)}×`, '', '', ''],
        ],
      );
    };
    const abLoopback = await abTable(0);
    const abVenue = await abTable(VENUE_READ_MS);
    const PATHS = {
      floor: 'raw client: signed order on a fresh connection → order at exchange',
      order: 'last permit → order at exchange',
      overFloor: "last permit → order, minus the same round's floor",
      service: 'last permit → adapter called',
      plan: 'proposal → plan on stream',
    };
    const row = (r: ModeResult, what: keyof typeof PATHS): string[] => {
      const s = r[what];
      const path = PATHS[what];
      return [r.name, path, String(s.n), fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max)];
    };
    const floorRow = row(ours, 'floor');
    floorRow[0] = 'floor (same rounds as ours)';
    const table = markdownTable(
      ['mode', 'path', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [
        floorRow,
        row(ours, 'order'),
        row(ours, 'overFloor'),
        row(base, 'order'),
        row(ours, 'service'),
        row(ours, 'plan'),
        row(base, 'plan'),
      ],
    );
    const ratio = (a: number, b: number) => (a > 0 ? `${fmt(b / a, 0)}×` : 'n/a');
    const verdict = (v: number, limit: number) => `${fmt(v)} ms: ${v <= limit ? 'met' : 'NOT met'}`;
    const gap = ours.order.p50 - ours.floor.p50;
    const body = [
      `\`BENCH_APPLY_N=${n} npm run bench:apply -- --write\` (bench/apply-latency.ts, bench/apply-fleet.ts)`,
      '',
      `Machine: ${machineLine(redisVersion)}; 1-min load at the end ${loadavg()[0]!.toFixed(1)}.`,
      '',
      `${n} rounds after 30 warm-up rounds; baseline: 3 warm-up rounds. Each round of ours is followed ` +
        'by the floor: the fleet process sends a raw signed order on a fresh connection to the same ' +
        'exchange, stamped on the same clock.',
      '',
      table,
      '',
      `Ours over the floor at p50: ${fmt(ours.order.p50)} − ${fmt(ours.floor.p50)} = ${fmt(gap)} ms ` +
        `(target ≤ 1.5 ms: ${gap <= 1.5 ? 'met' : 'NOT met'}); at p99: ${fmt(ours.order.p99)} − ` +
        `${fmt(ours.floor.p99)} = ${fmt(ours.order.p99 - ours.floor.p99)} ms.`,
      '',
      `The position read the order is sized by must follow the last permit (PROTOCOL.md, Order ` +
        `quantity). A raw client's signed positionRisk GET on a kept-alive connection from this ` +
        `process, after the rounds at their pace: p50 ${fmt(ours.rawRead.p50)} ms, p90 ` +
        `${fmt(ours.rawRead.p90)} ms (n ${ours.rawRead.n}).`,
      '',
      `Ratios (baseline / ours, p50): last permit → order ${ratio(ours.order.p50, base.order.p50)}, ` +
        `proposal → plan ${ratio(ours.plan.p50, base.plan.p50)}.`,
      '',
      'Where the time goes (ours): each step of the order path, stamped in the apply process, in ms ' +
        'after the last permit was sent (negative: before it, while the permits were awaited).',
      '',
      ours.spans,
      '',
      `The order intent sent right behind the consume, A/B: ${blocks} alternating blocks of ${per} rounds each (10 warm-up rounds per block), ` +
        `on loopback, then with the exchange answering position reads ${VENUE_READ_MS} ms later (a venue's read does not ` +
        'compete for the cores apply and Redis run on, as this exchange process does).',
      '',
      abLoopback,
      '',
      abVenue,
      '',
      `Targets: last permit → order p50 ≤ 2 ms (${verdict(ours.order.p50, 2)}), p99 ≤ 5 ms ` +
        `(${verdict(ours.order.p99, 5)}); proposal → plan p99 ≤ 10 ms (${verdict(ours.plan.p99, 10)}).`,
    ].join('\n');
    process.stdout.write(`${body}\n`);
    if (write) writeMarkedBlock('BENCHMARKS.md', 'apply', body);
  } finally {
    await redis.stop();
  }
}

if (process.env.BENCH_APPLY_ROLE === 'fleet') {
  runFleet();
} else {
  main().catch((err) => {
    process.stderr.write(`bench:apply failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
