/**
 * Authorities: time from a plan's XADD on the plan stream to its permit being written (seen as a
 * keyspace `set` notification on a separate connection), per authority, at 50 (baseline) and
 * 500 plans/s, paced evenly. Governor and P3.3 run in this process against a private
 * redis-server, with the recording exchange double (authority cost alone) and with the paper
 * exchange over HTTP (the governor reads the position for every plan).
 *
 *   npm run bench:authorities [-- --seconds 4 --no-write]
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { DEFAULT_GOVERNOR_LIMITS } from '../src/domain/governor/gates.js';
import { DEFAULT_P33_LIMITS } from '../src/domain/position/checks.js';
import { createBinanceExchange } from '../src/exchange/binance/index.js';
import type { ExchangePort } from '../src/exchange/port.js';
import { startPaperExchange } from '../src/exchange/paper/index.js';
import { systemClock } from '../src/ops/clock.js';
import { createLogger } from '../src/ops/logger.js';
import { GovernorService } from '../src/services/governor/service.js';
import { PositionBrainService } from '../src/services/position-brain/service.js';
import { createStore } from '../src/store/index.js';
import type { Store } from '../src/store/port.js';
import { FakeExchange } from '../test/helpers/fake-exchange.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { machineLine, writeSection } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const SECONDS = secIdx >= 0 ? Number(args[secIdx + 1]) : 4;
const WRITE = !args.includes('--no-write');
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const POSITIONS = { BTCUSDT: 0.5, ETHUSDT: -4, SOLUSDT: 300 };
const logger = createLogger({ service: 'bench', level: 'silent' });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise<void>((r) => setImmediate(r));

type Authority = 'governor' | 'p33';
interface Row {
  authority: Authority;
  exchange: string;
  rate: number;
  s: Summary;
  missing: number;
}

let run = 0;

async function measure(
  url: string,
  authority: Authority,
  exchangeName: string,
  exchange: ExchangePort,
  rate: number,
): Promise<Row> {
  const store: Store = await createStore({ url, prefix: `b${++run}:` });
  const service =
    authority === 'governor'
      ? new GovernorService({
          store,
          exchange,
          clock: systemClock,
          logger,
          autoApprove: false,
          consumer: `bench-gov-${run}`,
          limits: {
            ...DEFAULT_GOVERNOR_LIMITS,
            maxExecPerHour: 1e9,
            maxExecPer5Min: 1e9,
            maxReduceNotionalPerDayUsd: 1e15,
            maxReduceQtyPerDay: 1e15,
          },
        })
      : new PositionBrainService({
          store,
          exchange,
          clock: systemClock,
          logger,
          allowlist: SYMBOLS,
          limits: DEFAULT_P33_LIMITS,
          pollSec: 2,
          permitTtlSec: 60,
          consumer: `bench-p33-${run}`,
        });
  if (service instanceof PositionBrainService) await service.snapshots.refresh();
  await service.consumer.ensureGroup();
  service.start();

  const sub = new Redis(url);
  const started = new Map<string, number>();
  const latencies: number[] = [];
  const prefix = store.keys.permit(authority, '');
  await sub.psubscribe(`__keyspace@0__:${prefix}*`);
  sub.on('pmessage', (_p: string, channel: string, event: string) => {
    if (event !== 'set') return;
    const id = channel.slice(channel.indexOf(prefix) + prefix.length);
    const t0 = started.get(id);
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    started.delete(id);
  });

  const total = Math.round(rate * SECONDS);
  const warmup = Math.min(50, Math.round(total / 10));
  const interval = 1000 / rate;
  const begin = performance.now();
  for (let i = 0; i < total + warmup; i++) {
    const due = begin + i * interval;
    for (let now = performance.now(); now < due; now = performance.now()) {
      if (due - now > 2) await sleep(due - now - 1);
      else await tick();
    }
    const id = `r${run}n${i}`;
    const symbol = SYMBOLS[i % SYMBOLS.length]!;
    if (i >= warmup) started.set(id, performance.now());
    await store.xadd(store.keys.planStream(), {
      plan_id: id,
      symbol,
      action: 'PARTIAL_50',
      kill_score: '0.5',
      decision: 'EXECUTE',
      new_sl_proposed: '',
      steps: '[]',
      close_qty: '0',
      price: '',
      timestamp: String(Math.floor(Date.now() / 1000)),
    });
  }
  for (let waited = 0; started.size > 0 && waited < 5000; waited += 20) await sleep(20);
  const missing = started.size;
  await service.stop();
  await sub.quit();
  await store.close();
  return { authority, exchange: exchangeName, rate, s: summarize(latencies), missing };
}

async function main(): Promise<void> {
  const server = await startRedis({ notifyKeyspaceEvents: 'K$' });
  const paper = await startPaperExchange({
    host: '127.0.0.1',
    port: 0,
    apiKey: 'k',
    apiSecret: 's',
    positions: POSITIONS,
  });
  const http = createBinanceExchange({ baseUrl: paper.url, apiKey: 'k', apiSecret: 's', logger });
  const fake = new FakeExchange(POSITIONS, { BTCUSDT: 60000, ETHUSDT: 3000, SOLUSDT: 150 });
  const rows: Row[] = [];
  try {
    for (const authority of ['governor', 'p33'] as Authority[]) {
      for (const rate of [50, 500]) rows.push(await measure(server.url, authority, 'double', fake, rate));
      rows.push(await measure(server.url, authority, 'paper (HTTP)', http, 500));
    }
  } finally {
    await http.close();
    await paper.close();
    await server.stop();
  }
  const { execSync } = await import('node:child_process');
  const redisVersion = execSync('redis-server --version', { encoding: 'utf8' }).match(/v=(\S+)/)?.[1];
  const table = markdownTable(
    ['authority', 'exchange', 'plans/s', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'missing'],
    rows.map((r) => [
      r.authority,
      r.exchange,
      String(r.rate),
      String(r.s.n),
      fmt(r.s.p50),
      fmt(r.s.p90),
      fmt(r.s.p99),
      fmt(r.s.max),
      String(r.missing),
    ]),
  );
  const body = [
    '```sh',
    `npm run bench:authorities -- --seconds ${SECONDS}`,
    '```',
    '',
    `Machine: ${machineLine(redisVersion)}.`,
    '',
    'Plan XADD on the plan stream → permit `SET` seen by a keyspace subscriber, per authority,',
    `${SECONDS} s of evenly paced EXECUTE plans over 3 symbols after a warm-up; producer, service and`,
    'subscriber share one Node process. "double" is the in-process recording exchange (authority cost',
    'alone); "paper (HTTP)" is the paper exchange through the real Binance adapter (the governor reads',
    'the position for every plan; P3.3 reads snapshots from Redis). Baseline: 50 plans/s in the same run.',
    'Target: p99 ≤ 5 ms at 500 plans/s.',
    '',
    table,
  ].join('\n');
  process.stdout.write(`${body}\n`);
  if (WRITE) writeSection('BENCHMARKS.md', 'Authorities', body);
}

main().catch((err) => {
  process.stderr.write(`bench:authorities failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
