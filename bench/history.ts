/**
 * The history recorder and database, on SQLite (a file) and PostgreSQL (a private database on
 * 127.0.0.1:5432), with an in-memory SQLite database as the baseline of the same run:
 *
 *   throughput  a private redis-server holds --plans plans' entries on the six followed streams
 *               (plan, two decisions, intent, answer, result: 6 entries, 5 rows a plan); the
 *               Recorder drains them from a standing start. Reported: plans/s and rows/s, and
 *               against a pipeline at 1,000 plans/s how far behind it falls per second.
 *   query       --query-plans plans rows over 30 days and 20 symbols; one symbol and one UTC day
 *               (~1/600 of the rows), --queries times at random: every plan row of the day, and
 *               `history --symbol S --since/--until` (listPlans, the newest 50 with their
 *               stories). The same day query without the symbol + time index is the baseline.
 *   size        bytes per plan of the whole schema after the throughput run, and of the plans
 *               table with its indexes after the query load, per million plans.
 *
 *   npm run bench:history                                   # prints, and rewrites its block
 *   npm run bench:history -- --plans 2000 --query-plans 100000 --no-write
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { openHistory, type History } from '../src/history/db.js';
import { listPlans } from '../src/history/query.js';
import { Recorder } from '../src/history/recorder.js';
import { historyStreamKeys } from '../src/history/rows.js';
import type { PlanRow } from '../src/history/schema.js';
import { countRows } from '../src/history/write.js';
import { systemClock } from '../src/ops/clock.js';
import { captureLogger } from '../src/ops/logger.js';
import { orderEventFields } from '../src/services/apply/order-events.js';
import { decisionFields, p33DecisionFields } from '../src/services/decision-log.js';
import { createStore } from '../src/store/index.js';
import type { Store } from '../src/store/port.js';
import { createDatabase, dropDatabase, postgresUrl, skipPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { parseBenchArgs } from './lib/args.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize } from './lib/stats.js';

const args = parseBenchArgs(process.argv.slice(2), {
  values: ['plans', 'query-plans', 'queries', 'batch'],
  flags: ['no-write'],
  usage:
    'npm run bench:history -- [--plans 5000] [--query-plans 1000000] [--queries 200] [--batch 500] [--no-write]',
});
const PLANS = Number(args.opt('plans', '5000'));
const QUERY_PLANS = Number(args.opt('query-plans', '1000000'));
const QUERIES = Number(args.opt('queries', '200'));
const BATCH = Number(args.opt('batch', '500'));
const PIPELINE_RATE = 1000;
const DAY_MS = 86_400_000;
const DAYS = 30;
const SYMBOLS = Array.from({ length: 20 }, (_, i) => `SYM${String(i).padStart(2, '0')}USDT`);
const T0 = Date.UTC(2026, 0, 1);

const hex = (i: number) => i.toString(16).padStart(16, '0');

function planEntry(i: number, symbol: string, tsSec: number): Record<string, string> {
  return {
    plan_id: hex(i),
    symbol,
    action: 'PARTIAL_50',
    kill_score: '0.412',
    k_regime_flip: '0.1',
    k_sigma_spike: '0.05',
    k_ts_drop: '0.0',
    k_age_penalty: '0.02',
    new_sl_proposed: '',
    R_net: '1.37',
    decision: 'EXECUTE',
    reason_codes: '',
    steps: '[{"step": "CLOSE_PARTIAL_50", "type": "market_reduce_only", "side": "close", "pct": 50.0}]',
    close_qty: '0.0',
    price: '',
    timestamp: String(tsSec),
  };
}

/** Writes one plan's six entries per plan, as the services would, pipelined 200 plans at a time. */
async function fillStreams(store: Store, n: number): Promise<void> {
  const k = store.keys;
  const one = async (i: number) => {
    const planId = hex(i);
    const symbol = SYMBOLS[i % SYMBOLS.length]!;
    const at = T0 + i;
    await store.xadd(k.planStream(), planEntry(i, symbol, Math.floor(at / 1000)));
    await store.xadd(
      k.governorDecisions(),
      decisionFields({ planId, symbol, decision: 'GRANTED', reason: '', atMs: at }),
    );
    await store.xadd(
      k.p33Decisions(),
      p33DecisionFields({ planId, symbol, decision: 'ALLOW', reason: '', safeCloseQty: '0.5', atMs: at }),
    );
    const intent = {
      plan_id: planId,
      step: 'CLOSE_PARTIAL_50',
      kind: 'market',
      client_order_id: `qa-${planId}-CLOSE_PARTIAL_50`,
      symbol,
      side: 'SELL',
      quantity: '0.5',
      trigger_price: '',
      state: 'sending',
      at: String(at),
    };
    await store.xadd(k.orderEvents(), orderEventFields(planId, symbol, intent, at));
    await store.xadd(
      k.orderEvents(),
      orderEventFields(
        planId,
        symbol,
        {
          state: 'filled',
          updated_at: String(at),
          order_id: String(9e9 + i),
          executed_qty: '0.5',
          avg_price: '43001.2',
        },
        at,
      ),
    );
    await store.xadd(k.resultStream(), {
      plan_id: planId,
      symbol,
      decision: 'EXECUTE',
      executed: 'True',
      would_execute: 'False',
      steps_results: `[{"step": "CLOSE_PARTIAL_50", "status": "success", "details": "SELL 0.5: FILLED", "order_id": "${9e9 + i}", "side": "SELL", "quantity": "0.5", "executed_qty": "0.5", "reduce_only": true}]`,
      error: '',
      timestamp: String(Math.floor(at / 1000)),
    });
  };
  for (let i = 0; i < n; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => one(i + j)));
  }
}

interface Backend {
  name: string;
  url: string;
  /** Database size in bytes (whole database, or one table with its indexes). */
  size(h: History, table?: string): Promise<number>;
  cleanup(): Promise<void>;
}

function sqliteBackend(name: string, inFile: boolean): Backend {
  const dir = inFile ? mkdtempSync(join(tmpdir(), 'qa-bench-history-')) : null;
  const file = dir === null ? null : join(dir, 'history.db');
  return {
    name,
    url: file === null ? 'sqlite::memory:' : `sqlite:${file}`,
    // The whole database: the query database holds the plans table alone.
    async size(h) {
      if (file !== null) {
        await sql`pragma wal_checkpoint(truncate)`.execute(h.db);
        return statSync(file).size;
      }
      const r = await sql<{
        n: number;
      }>`select page_count * page_size as n from pragma_page_count(), pragma_page_size()`.execute(h.db);
      return Number(r.rows[0]!.n);
    },
    async cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  const name = await createDatabase();
  return {
    name: 'PostgreSQL',
    url: postgresUrl(name),
    async size(h, table) {
      const r = table
        ? await sql<{ n: string }>`select pg_total_relation_size(${table}) as n`.execute(h.db)
        : await sql<{
            n: string;
          }>`select pg_database_size(current_database()) - (select pg_database_size('template1')) as n`.execute(
            h.db,
          );
      return Number(r.rows[0]!.n);
    },
    cleanup: () => dropDatabase(name),
  };
}

interface Throughput {
  plansPerSec: number;
  rowsPerSec: number;
  bytesPerPlan: number;
}

async function throughput(redisUrl: string, b: Backend, plans = PLANS): Promise<Throughput> {
  const prefix = `bh${Math.random().toString(16).slice(2, 8)}:`;
  const store = await createStore({ url: redisUrl, prefix });
  await fillStreams(store, plans);
  const h = await openHistory(b.url);
  const empty = await b.size(h);
  const recorder = new Recorder({
    store,
    history: h,
    clock: systemClock,
    logger: captureLogger({ level: 'warn' }).logger,
    consumer: 'bench',
    batch: BATCH,
    idleMs: 5,
  });
  const t0 = performance.now();
  recorder.start();
  for (;;) {
    const lag = await recorder.lag();
    if (lag.length === Object.keys(historyStreamKeys(store.keys)).length && lag.every((l) => l.entries === 0))
      break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const sec = (performance.now() - t0) / 1000;
  await recorder.stop();
  const rows = await countRows(h.db);
  const total = rows.plans + rows.decisions + rows.results + rows.orders;
  if (rows.plans !== plans) throw new Error(`${b.name}: ${rows.plans} plans recorded of ${plans}`);
  const bytes = (await b.size(h)) - empty;
  await h.close();
  await store.close();
  // Orders: one row and one update per plan.
  return { plansPerSec: plans / sec, rowsPerSec: (total + plans) / sec, bytesPerPlan: bytes / plans };
}

function queryRow(i: number): PlanRow {
  const symbol = SYMBOLS[i % SYMBOLS.length]!;
  const at = T0 + Math.floor((i / QUERY_PLANS) * DAYS * DAY_MS);
  return {
    plan_id: hex(i),
    stream_id: `${at}-${i}`,
    symbol,
    action: 'PARTIAL_50',
    decision: i % 7 === 0 ? 'BLOCKED' : 'EXECUTE',
    reason_codes: i % 7 === 0 ? 'kill_score_critical' : '',
    kill_score: '0.412',
    at_ms: at,
    fields: JSON.stringify(planEntry(i, symbol, Math.floor(at / 1000))),
  };
}

async function loadPlans(h: History): Promise<void> {
  const chunk = h.dialect === 'sqlite' ? 3000 : 5000;
  for (let i = 0; i < QUERY_PLANS; i += 50_000) {
    const end = Math.min(i + 50_000, QUERY_PLANS);
    await h.db.transaction().execute(async (tx) => {
      for (let j = i; j < end; j += chunk) {
        const rows = Array.from({ length: Math.min(chunk, end - j) }, (_, k) => queryRow(j + k));
        await tx.insertInto('plans').values(rows).execute();
      }
    });
  }
  if (h.dialect === 'postgres') await sql`analyze plans`.execute(h.db);
  else await sql`analyze`.execute(h.db);
}

/** Seeded so both backends run the same queries. */
function picks(n: number): { symbol: string; day: number }[] {
  let s = 42;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () => ({
    symbol: SYMBOLS[Math.floor(next() * SYMBOLS.length)]!,
    day: Math.floor(next() * DAYS),
  }));
}

async function timeQueries(
  h: History,
  run: (p: { symbol: string; sinceMs: number; untilMs: number }) => Promise<number>,
): Promise<{ p50: number; p99: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (const p of picks(QUERIES)) {
    const sinceMs = T0 + p.day * DAY_MS;
    const t0 = performance.now();
    rows += await run({ symbol: p.symbol, sinceMs, untilMs: sinceMs + DAY_MS });
    times.push(performance.now() - t0);
  }
  const s = summarize(times);
  return { p50: s.p50, p99: s.p99, rows: rows / QUERIES };
}

interface QueryFigures {
  day: Awaited<ReturnType<typeof timeQueries>>;
  list: Awaited<ReturnType<typeof timeQueries>>;
  noIndex: Awaited<ReturnType<typeof timeQueries>>;
  loadSec: number;
  plansBytes: number;
}

async function queries(b: Backend): Promise<QueryFigures> {
  const h = await openHistory(b.url);
  const t0 = performance.now();
  await loadPlans(h);
  const loadSec = (performance.now() - t0) / 1000;
  const dayQuery = (p: { symbol: string; sinceMs: number; untilMs: number }) =>
    h.db
      .selectFrom('plans')
      .selectAll()
      .where('symbol', '=', p.symbol)
      .where('at_ms', '>=', p.sinceMs)
      .where('at_ms', '<', p.untilMs)
      .orderBy('at_ms')
      .execute()
      .then((r) => r.length);
  const day = await timeQueries(h, dayQuery);
  const list = await timeQueries(h, (p) => listPlans(h.db, p).then((r) => r.length));
  const plansBytes = await b.size(h, 'plans');
  await h.db.schema.dropIndex('plans_symbol_at').execute();
  const noIndex = await timeQueries(h, dayQuery);
  await h.db.schema
    .createIndex('plans_symbol_at')
    .on('plans')
    .columns(['symbol', 'at_ms', 'plan_id'])
    .execute();
  await h.close();
  return { day, list, noIndex, loadSec, plansBytes };
}

const mb = (bytes: number) => fmt(bytes / 1e6, 0);

async function main(): Promise<void> {
  const redis = await startRedis();
  const backends: Backend[] = [
    sqliteBackend('SQLite in memory (baseline)', false),
    sqliteBackend('SQLite file', true),
  ];
  if (!skipPostgres) backends.push(await postgresBackend());
  const started = new Date().toISOString().slice(0, 10);
  const machine = machineLine();
  const tput: [Backend, Throughput][] = [];
  const query: [Backend, QueryFigures][] = [];
  try {
    // Warm-up (JIT, connections), not reported: the baseline is otherwise the first and slowest.
    const warm = sqliteBackend('warm-up', false);
    await throughput(redis.url, warm, Math.min(PLANS, 1000));
    for (const b of backends) {
      process.stderr.write(`[history] ${b.name}: recording ${PLANS} plans\n`);
      tput.push([b, await throughput(redis.url, b)]);
    }
    // Fresh databases: the plans table alone, so its size is the database's.
    const queryBackends = [
      sqliteBackend('SQLite file', true),
      ...(skipPostgres ? [] : [await postgresBackend()]),
    ];
    backends.push(...queryBackends);
    for (const b of queryBackends) {
      process.stderr.write(`[history] ${b.name}: loading ${QUERY_PLANS} plans and querying\n`);
      query.push([b, await queries(b)]);
    }
  } finally {
    await Promise.allSettled(backends.map((b) => b.cleanup()));
    await redis.stop();
  }
  const base = tput[0]![1];
  const tputTable = markdownTable(
    [
      'backend',
      'plans/s',
      'rows/s',
      `× baseline`,
      `vs ${PIPELINE_RATE} plans/s`,
      'MB per million plans (all tables)',
    ],
    tput.map(([b, t]) => [
      b.name,
      fmt(t.plansPerSec, 0),
      fmt(t.rowsPerSec, 0),
      fmt(t.plansPerSec / base.plansPerSec, 2),
      t.plansPerSec >= PIPELINE_RATE
        ? `keeps up (${fmt(t.plansPerSec / PIPELINE_RATE, 1)}×)`
        : `${fmt(PIPELINE_RATE - t.plansPerSec, 0)} plans/s behind`,
      b.url === 'sqlite::memory:' ? '–' : mb(t.bytesPerPlan * 1e6),
    ]),
  );
  const queryTable = markdownTable(
    [
      'backend',
      'load s',
      'day query p50 / p99 ms',
      'rows',
      'listPlans (50) p50 / p99 ms',
      'day query without the symbol+time index p50 / p99 ms',
      'plans table + indexes MB',
    ],
    query.map(([b, q]) => [
      b.name,
      fmt(q.loadSec, 0),
      `${fmt(q.day.p50, 1)} / ${fmt(q.day.p99, 1)}`,
      fmt(q.day.rows, 0),
      `${fmt(q.list.p50, 1)} / ${fmt(q.list.p99, 1)}`,
      `${fmt(q.noIndex.p50, 1)} / ${fmt(q.noIndex.p99, 1)}`,
      mb(q.plansBytes * (1e6 / QUERY_PLANS)),
    ]),
  );
  const body = [
    `\`npm run bench:history -- ${args.raw.join(' ')}\` (bench/history.ts) — ${started}, ${machine}.`,
    '',
    `Recorder throughput: ${PLANS} plans (${PLANS * 6} stream entries) drained from a standing start, batch ${BATCH}, one process, redis-server on loopback.`,
    '',
    tputTable,
    '',
    `Queries: ${QUERY_PLANS} plans over ${DAYS} days and ${SYMBOLS.length} symbols, ${QUERIES} random symbol-days each.`,
    '',
    queryTable,
  ].join('\n');
  process.stdout.write(`${body}\n`);
  if (!args.flag('no-write')) writeMarkedBlock('BENCHMARKS.md', 'history', body);
}

await main();
