/**
 * Script caching and pipelining, before and after, on the operation the whole design hangs on:
 * consuming a plan's two permits at once (consumePermits-N.lua). One private redis-server; every
 * mode consumes the same number of pre-written permit sets:
 *
 *   evalsha   the script cached on the server, called by its SHA (what the adapter does: ioredis
 *             defineCommand: EVAL once per connection, then EVALSHA)
 *   eval      the same script, its text sent with every call (no caching)
 *   multi     no script: WATCH the receipt and both permits, MGET, then MULTI DEL SET EXEC
 *             (the optimistic transaction a script replaces; one connection per worker, as WATCH
 *             is per connection)
 *   adapter   the store itself (RedisStore.consumePermits): evalsha, its reply parsed, and the
 *             command connection's writes coalesced per event-loop turn (src/store/redis/connection.ts)
 *
 * each with 1 operation in flight (latency) and with 32 (throughput; evalsha and eval share one
 * connection whose commands go out as they come, multi uses 32 connections). Reported: operations
 * per second, p50/p99 per operation, CPU of redis-server and of this client per 1,000 operations,
 * commands per operation (INFO commandstats, in-script calls included) and bytes sent per
 * operation (INFO stats total_net_input_bytes).
 *
 *   npm run bench:scripts                 # prints, and rewrites "## Script caching and pipelining"
 *   npm run bench:scripts -- --n 5000 --no-write
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createStore } from '../src/store/index.js';
import { luaDir } from '../src/store/redis/scripts.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { cpuSeconds } from './lib/procstat.js';
import { fmt, markdownTable, summarize } from './lib/stats.js';
import { commandStats, diffCounts, total } from './lib/redis-stats.js';

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1]! : d);
const N = Number(opt('n', '20000'));
const WIDTH = 32;
const log = (s: string) => void process.stderr.write(s);

type Mode = 'evalsha' | 'eval' | 'multi' | 'adapter';
const LUA = readFileSync(join(luaDir(), 'consumePermits-N.lua'), 'utf8');
const BODY_G = JSON.stringify({
  granted: true,
  symbol: 'BTCUSDT',
  decision: 'EXECUTE',
  computed_qty: 0.05,
  computed_notional: 3000,
  created_at: 1795780000.123,
  consumed: false,
});
const BODY_P = JSON.stringify({
  allow: true,
  symbol: 'BTCUSDT',
  safe_close_qty: 0.05,
  exchange_position_amt: 0.1,
  ledger_amt: 0.1,
  created_at: 1795780000.125,
  reason: 'sanity_checks_passed',
});

const keysOf = (run: string, i: number) => {
  const id = `${run}${i.toString(16).padStart(12, '0')}`;
  return [`quantum:apply:consumed:${id}`, `quantum:permit:${id}`, `quantum:permit:p33:${id}`];
};

async function prepare(admin: Redis, run: string): Promise<void> {
  for (let i = 0; i < N; i += 500) {
    const p = admin.pipeline();
    for (let j = i; j < Math.min(N, i + 500); j++) {
      const [, g, q] = keysOf(run, j);
      p.set(g!, BODY_G, 'EX', 600).set(q!, BODY_P, 'EX', 600);
    }
    await p.exec();
  }
}

/** One consume; resolves when the set is consumed (throws otherwise: the bench checks itself). */
function consumer(mode: Mode, conn: Redis, sha: string): (keys: string[]) => Promise<void> {
  const check = (reply: unknown) => {
    if (!Array.isArray(reply) || reply[0] !== 'consumed') throw new Error(`not consumed: ${String(reply)}`);
  };
  if (mode === 'evalsha') return async (k) => check(await conn.evalsha(sha, 3, ...k, 'tok', 3600, 0));
  if (mode === 'eval') return async (k) => check(await conn.eval(LUA, 3, ...k, 'tok', 3600, 0));
  return async (k) => {
    for (;;) {
      await conn.watch(...k);
      const [receipt, g, q] = await conn.mget(...k);
      if (receipt !== null || g === null || q === null) {
        await conn.unwatch();
        throw new Error('not consumed: missing');
      }
      const out = await conn
        .multi()
        .del(k[1]!, k[2]!)
        .set(k[0]!, JSON.stringify({ token: 'tok', bodies: [g, q] }), 'EX', 3600)
        .exec();
      if (out !== null) return; // null: a watched key changed; try again
    }
  };
}

interface Row {
  mode: Mode;
  width: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  redisCpu: number;
  clientCpu: number;
  cmds: number;
  bytes: number;
}

async function inputBytes(admin: Redis): Promise<number> {
  const info = (await admin.info('stats')) as string;
  return Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function run(mode: Mode, width: number, url: string, redisPid: number, admin: Redis): Promise<Row> {
  const tag = `${mode}${width}x`;
  await prepare(admin, tag);
  const conns = mode === 'multi' ? Array.from({ length: width }, () => new Redis(url)) : [new Redis(url)];
  const sha = (await conns[0]!.script('LOAD', LUA)) as string;
  const store = mode === 'adapter' ? await createStore({ url }) : null;
  const ops = store
    ? [
        async (k: string[]) => {
          const out = await store.consumePermits(k.slice(1), k[0]!, 'tok', 3600);
          if (out.kind !== 'consumed') throw new Error(`not consumed: ${out.kind}`);
        },
      ]
    : conns.map((c) => consumer(mode, c, sha));
  // Warm-up on other keys is not needed: JIT settles within the first thousand of N operations.
  const lat: number[] = [];
  const before = await commandStats(admin);
  const bytes0 = await inputBytes(admin);
  const r0 = cpuSeconds(redisPid) ?? NaN;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async (_, w) => {
      const op = ops[mode === 'multi' ? w : 0]!;
      while (next < N) {
        const i = next++;
        const s = performance.now();
        await op(keysOf(tag, i));
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const r1 = cpuSeconds(redisPid) ?? NaN;
  const bytes1 = await inputBytes(admin);
  const cmds = total(diffCounts(await commandStats(admin), before)) - 1; // the INFO itself
  await Promise.all(conns.map((c) => c.quit()));
  await store?.close();
  const s = summarize(lat);
  return {
    mode,
    width,
    opsPerSec: N / secs,
    p50: s.p50,
    p99: s.p99,
    redisCpu: ((r1 - r0) * 1000) / N,
    clientCpu: ((c1.user + c1.system) / 1e6 / N) * 1000,
    cmds: cmds / N,
    bytes: (bytes1 - bytes0) / N,
  };
}

async function main(): Promise<void> {
  const server = await startRedis();
  const admin = new Redis(server.url);
  const version = /redis_version:(\S+)/.exec((await admin.info('server')) as string)?.[1] ?? '';
  const machine = machineLine(version);
  const rows: Row[] = [];
  try {
    // Alternating order per width, so that neither mode always runs on a warmer machine.
    for (const width of [1, WIDTH]) {
      for (const mode of ['evalsha', 'eval', 'multi', 'adapter'] as const) {
        const r = await run(mode, width, server.url, server.pid, admin);
        log(
          `${mode} ×${width}: ${fmt(r.opsPerSec, 0)} ops/s, p50 ${fmt(r.p50)} ms, cmds ${fmt(r.cmds, 1)}\n`,
        );
        rows.push(r);
      }
    }
  } finally {
    admin.disconnect();
    await server.stop();
  }
  const base = (r: Row) => rows.find((x) => x.mode === 'evalsha' && x.width === r.width)!;
  const table = markdownTable(
    [
      'mode',
      'in flight',
      'ops/s',
      'vs evalsha',
      'p50 ms',
      'p99 ms',
      'redis CPU s / 1000',
      'client CPU s / 1000',
      'commands / op',
      'bytes sent / op',
    ],
    rows.map((r) => [
      r.mode,
      String(r.width),
      fmt(r.opsPerSec, 0),
      `${fmt(r.opsPerSec / base(r).opsPerSec)}×`,
      fmt(r.p50, 3),
      fmt(r.p99, 3),
      fmt(r.redisCpu, 3),
      fmt(r.clientCpu, 3),
      fmt(r.cmds, 1),
      fmt(r.bytes, 0),
    ]),
  );
  const body = [
    `\`npm run bench:scripts -- ${argv.join(' ')}\``.replace(/ -- $/, '').trimEnd() + ' (bench/scripts.ts)',
    '',
    `Machine: ${machine}.`,
    '',
    `${N} consumes of a two-permit set per row.`,
    '',
    table,
    '',
  ].join('\n');
  process.stdout.write(`${body}\n`);
  if (!argv.includes('--no-write')) writeMarkedBlock('BENCHMARKS.md', 'scripts', body);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`scripts bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
