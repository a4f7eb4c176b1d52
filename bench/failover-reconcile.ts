/**
 * What a failover reconciliation pass costs (src/services/apply/failover-reconciler.ts): the
 * paper exchange (Binance's weights) holding `--orders` of our orders on each of `--symbols`
 * symbols, a private redis-server holding their records, one plan in ten with its plan entry,
 * intent, consume receipt and result deleted as a failover loses them. Alternated trial by trial
 * (ABBA) against the baseline measured in the same run: the same pass once everything lost is
 * already accounted for (nothing left to write, the steady state of the periodic pass).
 *
 *   npm run bench:failover [-- --symbols 32 --orders 10 --trials 20 --no-write]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createBinanceExchange } from '../src/exchange/binance/index.js';
import { startPaperExchange } from '../src/exchange/paper/index.js';
import { clientOrderIdFor } from '../src/exchange/port.js';
import { systemClock } from '../src/ops/clock.js';
import { FailoverReconciler, type FailoverPassReport } from '../src/services/apply/failover-reconciler.js';
import { RecentSymbols } from '../src/services/recent-symbols.js';
import { RedisStore } from '../src/store/redis/redis-store.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : dflt;
};
const SYMBOLS = opt('symbols', 32);
const ORDERS = opt('orders', 10);
const TRIALS = opt('trials', 20);
const WARMUP = 2;
const KEY = 'bench-key';
const SECRET = 'bench-secret';
const KINDS = ['plan_entry', 'intent', 'consume_receipt', 'result'];

async function main(): Promise<void> {
  const redis = await startRedis();
  const px = await startPaperExchange({
    apiKey: KEY,
    apiSecret: SECRET,
    syntheticSymbols: SYMBOLS,
    syntheticPosition: 1000,
    holdPositions: true,
  });
  // Weight limits lifted: the bench counts the weight, it does not pace on it.
  const ex = createBinanceExchange({
    baseUrl: px.url,
    apiKey: KEY,
    apiSecret: SECRET,
    weightLimit1m: 1e9,
    orderLimit10s: 1e9,
    orderLimit1m: 1e9,
  });
  const store = new RedisStore({ url: redis.url, prefix: 'bench:' });
  const admin = new Redis(redis.url);
  try {
    await store.init();
    const k = store.keys;
    const symbols = [...px.state.markets.keys()].filter((s) => s.startsWith('SYN')).slice(0, SYMBOLS);
    const lost: { planId: string; symbol: string }[] = [];
    let n = 0;
    for (const symbol of symbols) {
      const step = px.state.markets.get(symbol)!.marketStepSize;
      for (let i = 0; i < ORDERS; i++) {
        const planId = randomBytes(8).toString('hex');
        const out = await ex.placeReduceOnlyMarket({
          symbol,
          side: 'SELL',
          quantity: step,
          clientOrderId: clientOrderIdFor(planId, 'CLOSE_PARTIAL_50'),
        });
        if (out.kind !== 'filled') throw new Error(`order not filled: ${JSON.stringify(out)}`);
        const entry = await store.xadd(k.planStream(), { plan_id: planId, symbol, decision: 'EXECUTE' });
        await store.hset(k.orderIntent(planId, symbol), { plan_id: planId, state: 'filled' }, 21600);
        await store.set(k.permitReceipt(planId, symbol), '{}', { ttlSec: 3600 });
        await store.publishOnce(
          k.resultPublished(planId),
          21600,
          k.resultStream(),
          { plan_id: planId },
          10_000,
        );
        if (n++ % 10 === 0) {
          lost.push({ planId, symbol });
          await admin.xdel(k.planStream(), entry);
          await store.del([k.orderIntent(planId, symbol), k.permitReceipt(planId, symbol)]);
        }
      }
    }
    const lostIds = new Set(lost.map((l) => l.planId));
    const activity = new RecentSymbols(systemClock, 300_000);
    for (const s of symbols) activity.note(s);
    const reconciler = new FailoverReconciler(
      { store, exchange: ex, clock: systemClock, logger: pino({ level: 'silent' }) },
      { lookbackMs: 300_000, dedupeTtlSec: 21600, symbols, settleMs: 0 },
      activity,
    );
    /** The failover again: its results and the audit of it gone. */
    const loseAgain = async () => {
      const results = await store.xrange(k.resultStream(), '-', '+');
      const ids = results.filter((e) => lostIds.has(e.fields.plan_id ?? '')).map((e) => e.id);
      if (ids.length > 0) await admin.xdel(k.resultStream(), ...ids);
      await store.del([
        k.failoverAudit(),
        ...lost.flatMap((l) => [
          k.resultPublished(l.planId),
          ...KINDS.map((x) => k.failoverAudited(x, l.planId)),
        ]),
      ]);
    };
    const commands = async () =>
      Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
    const allOrders = () => px.state.requestCounts.get('GET /fapi/v1/allOrders') ?? 0;
    const timed = async () => {
      const [c0, r0] = [await commands(), allOrders()];
      const t0 = performance.now();
      const report = await reconciler.pass('switch');
      const ms = performance.now() - t0;
      // The INFO that reads the count is one command of its own.
      return { ms, report, commands: (await commands()) - c0 - 1, requests: allOrders() - r0 };
    };
    type Trial = Awaited<ReturnType<typeof timed>>;
    const steady: Trial[] = [];
    const failover: Trial[] = [];
    await loseAgain();
    await reconciler.pass('switch');
    for (let i = 0; i < WARMUP + TRIALS; i++) {
      const runFailover = async () => {
        await loseAgain();
        return timed();
      };
      const [a, b] =
        i % 2 === 0 ? [await timed(), await runFailover()] : [await runFailover(), await timed()].reverse();
      if (i < WARMUP) continue;
      steady.push(a as Trial);
      failover.push(b as Trial);
    }
    // Once accounted for, the result is back: three gaps a lost plan stay (recorded, nothing to write).
    const check = (r: FailoverPassReport, gaps: number, writes: number) => {
      if (r.gaps.length !== gaps || r.recorded !== writes || r.failedSymbols.length > 0)
        throw new Error(`unexpected pass: ${JSON.stringify({ ...r, gaps: r.gaps.length })}`);
    };
    for (const t of steady) check(t.report, lost.length * 3, 0);
    for (const t of failover) check(t.report, lost.length * 4, lost.length * 4);
    const [ss, sf] = [summarize(steady.map((t) => t.ms)), summarize(failover.map((t) => t.ms))];
    const f = failover[0]!;
    const row = (name: string, s: Summary, t: Trial) => [
      name,
      fmt(s.p50),
      fmt(s.p90),
      fmt(s.max),
      String(t.requests),
      String(t.report.weight),
      String(t.commands),
    ];
    const table = markdownTable(
      ['pass', 'p50 ms', 'p90 ms', 'max ms', 'allOrders requests', 'request weight', 'Redis commands'],
      [
        row('nothing new to write (baseline)', ss, steady[0]!),
        row(`after a failover: ${lost.length} plans lost 4 records each`, sf, f),
      ],
    );
    const summary =
      `${SYMBOLS} symbols × ${ORDERS} orders = ${SYMBOLS * ORDERS} orders in the window. ` +
      `Request weight per pass ${f.report.weight} (${fmt(f.report.weight / SYMBOLS)} per symbol, ` +
      `${fmt((100 * f.report.weight) / 2400, 1)} % of the account's 2,400 a minute); the paper exchange counted ` +
      `${f.requests} allOrders requests. After a failover / baseline: p50 ${fmt(sf.p50 / ss.p50)}×, ` +
      `p90 ${fmt(sf.p90 / ss.p90)}×; Redis commands ${fmt(f.commands / steady[0]!.commands)}×.`;
    process.stdout.write(`${table}\n\n${summary}\n`);
    if (!args.includes('--no-write')) {
      const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
      writeMarkedBlock(
        'BENCHMARKS.md',
        'failover',
        [
          '`npm run bench:failover`' +
            ` — ${new Date().toISOString().slice(0, 10)}, ${machineLine(version)}.`,
          '',
          `${TRIALS} trials per pass after ${WARMUP} warm-up trials, alternated (ABBA); the paper exchange and redis-server on loopback.`,
          '',
          table,
          '',
          summary,
        ].join('\n'),
      );
    }
  } finally {
    admin.disconnect();
    await store.close();
    await ex.close();
    await px.close();
    await redis.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
