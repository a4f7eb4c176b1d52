/**
 * Authorities: time from a plan's XADD on the plan stream to its permit being written (seen as a
 * keyspace `set` notification on a separate connection), per authority, at 50 (baseline) and
 * 500 plans/s, paced evenly. Each authority runs in its own process (bench/lib/authority-worker.ts)
 * against a private redis-server, with the recording exchange double (authority cost alone) and
 * with the paper exchange over HTTP through the Binance adapter.
 *
 *   npm run bench:authorities [-- --seconds 4 --no-write]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createStore } from '../src/store/index.js';
import type { Store } from '../src/store/port.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { BENCH_SYMBOLS } from './lib/authority-config.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';
import { sleep } from '../test/helpers/wait.js';

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const SECONDS = secIdx >= 0 ? Number(args[secIdx + 1]) : 4;
const WRITE = !args.includes('--no-write');
const WORKER = fileURLToPath(new URL('./lib/authority-worker.ts', import.meta.url));
const PAPER = fileURLToPath(new URL('./lib/paper-worker.ts', import.meta.url));

type Authority = 'governor' | 'p33';
interface Row {
  authority: Authority;
  exchange: string;
  rate: number;
  s: Summary;
  missing: number;
}

let run = 0;

/** Starts a bench child process and resolves with it and the first stdout line matching `ready`. */
function spawnChild(
  script: string,
  argv: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      const line = d
        .toString()
        .split('\n')
        .find((l) => ready.test(l));
      if (line) resolve({ child, line });
    });
  });
}

async function startWorker(
  authority: Authority,
  url: string,
  prefix: string,
  exchange: string,
): Promise<ChildProcess> {
  return (await spawnChild(WORKER, [authority, url, prefix, exchange], /^ready/)).child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function measure(
  url: string,
  authority: Authority,
  exchangeName: string,
  exchange: string,
  rate: number,
): Promise<Row> {
  const prefix = `b${++run}:`;
  const store: Store = await createStore({ url, prefix });
  const worker = await startWorker(authority, url, prefix, exchange);
  const sub = new Redis(url);
  const started = new Map<string, number>();
  const latencies: number[] = [];
  const permitPrefix = store.keys.permit(authority, '');
  await sub.psubscribe(`__keyspace@0__:${permitPrefix}*`);
  sub.on('pmessage', (_p: string, channel: string, event: string) => {
    if (event !== 'set') return;
    const id = channel.slice(channel.indexOf(permitPrefix) + permitPrefix.length);
    const t0 = started.get(id);
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    started.delete(id);
  });

  const total = Math.round(rate * SECONDS);
  // Half a second of plans first: the worker's JIT and connections warm up; not measured.
  const warmup = Math.max(25, Math.round(rate / 2));
  const interval = 1000 / rate;
  const begin = performance.now();
  for (let i = 0; i < total + warmup; i++) {
    const due = begin + i * interval;
    // Sleep, never spin: a spinning producer would take a core from the authority it measures.
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    const id = `r${run}n${i}`;
    const symbol = BENCH_SYMBOLS[i % BENCH_SYMBOLS.length]!;
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
  await stopWorker(worker);
  await sub.quit();
  await store.close();
  return { authority, exchange: exchangeName, rate, s: summarize(latencies), missing };
}

async function main(): Promise<void> {
  const server = await startRedis({ notifyKeyspaceEvents: 'K$' });
  const paperProc = await spawnChild(PAPER, [], /^url /);
  const paper = { url: paperProc.line.slice(4).trim(), close: () => stopWorker(paperProc.child) };
  const rows: Row[] = [];
  const loadBefore = loadavg()[0]!;
  try {
    for (const authority of ['governor', 'p33'] as Authority[]) {
      for (const rate of [50, 500]) rows.push(await measure(server.url, authority, 'double', 'double', rate));
      rows.push(await measure(server.url, authority, 'paper (HTTP)', paper.url, 500));
    }
  } finally {
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
    `Machine: ${machineLine(redisVersion)}; 1-min load average ${fmt(loadBefore, 1)} before, ${fmt(loadavg()[0]!, 1)} after (other work shared the 2 cores).`,
    '',
    `${SECONDS} s per row after a 0.5 s warm-up; target: p99 ≤ 5 ms at 500 plans/s.`,
    '',
    table,
    '',
    ...rows
      .filter((r) => r.rate === 500)
      .map(
        (r) =>
          `- ${r.authority} / ${r.exchange}: p99 ${fmt(r.s.p99)} ms (${r.s.p99 <= 5 ? 'met' : 'NOT met'}); ` +
          `p50 ${fmt(r.s.p50)} ms vs ${fmt(rows.find((b) => b.authority === r.authority && b.rate === 50)?.s.p50 ?? NaN)} ms at 50 plans/s.`,
      ),
  ].join('\n');
  process.stdout.write(`${body}\n`);
  if (WRITE) writeMarkedBlock('BENCHMARKS.md', 'authorities', body);
}

main().catch((err) => {
  process.stderr.write(`bench:authorities failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
