/**
 * What a canary through the running apply costs beyond the permit wait itself: the `canary`
 * command's end-to-end time (config, connect, request, pick-up by the apply replica, publication,
 * permit wait, consume, report, the command reading it) against the report's `wait_ms` (the
 * permit wait alone), and the same for `--local` (apply's half in the command), alternated run by
 * run on one private Redis with the real governor, P3.3 and a running apply replica in-process
 * against the paper exchange.
 *
 *   npm run bench:canary [-- --trials 40]
 */
import { performance } from 'node:perf_hooks';
import { canaryCommand } from '../src/cli/commands/canary.js';
import { startPaperExchange } from '../src/exchange/paper/index.js';
import { LIVE_CONFIRM_PHRASE } from '../src/ops/config.js';
import { captureLogger } from '../src/ops/logger.js';
import { createStore } from '../src/store/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { until } from '../test/helpers/wait.js';
import { startAuthorities } from '../test/reliability/authorities.js';
import { PAPER_KEYS, startReplica } from '../test/reliability/rig.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';

const args = process.argv.slice(2);
const at = args.indexOf('--trials');
const TRIALS = at >= 0 ? Number(args[at + 1]) : 40;
const WARMUP = 4;
const SYMBOL = 'BTCUSDT';

async function main() {
  const redis = await startRedis();
  const paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS });
  paper.state.setPosition(SYMBOL, 0.5);
  const prefix = 'bench:';
  const store = await createStore({ url: redis.url, prefix });
  const authorities = await startAuthorities(redis.url, prefix, paper, [SYMBOL], {
    governor: { maxReduceNotionalPerDayUsd: 1e9 },
    pollSec: 0.2,
  });
  const apply = await startReplica('bench', redis.url, prefix, paper, {
    leases: false,
    opts: {
      mode: 'live',
      symbols: [SYMBOL],
      allowlist: [SYMBOL],
      canary: { minIntervalSec: 1, maxCount: 5, handler: { instance: 'bench', host: 'bench', pid: 1 } },
    },
  });
  const env = {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    APPLY_MODE: 'live',
    APPLY_LIVE_CONFIRM: LIVE_CONFIRM_PHRASE,
    BINANCE_API_KEY: PAPER_KEYS.apiKey,
    BINANCE_API_SECRET: PAPER_KEYS.apiSecret,
    BINANCE_FUTURES_BASE_URL: paper.url,
    SYMBOLS: SYMBOL,
    APPLY_ALLOWLIST: SYMBOL,
    APPLY_PERMIT_WAIT_MS: '1500',
  };
  const logger = captureLogger({ level: 'silent' }).logger;
  try {
    await until(
      async () => Object.keys(await store.hgetall(store.keys.positionSnapshot(SYMBOL))).length > 0,
      10_000,
    );
    const run = async (local: boolean) => {
      await store.del([store.keys.canaryRun()]);
      const t0 = performance.now();
      const r = await canaryCommand({ env, logger }, local ? { local: true } : {});
      const e2e = performance.now() - t0;
      const rep = r.reports[0];
      if (r.code !== 0 || !rep) throw new Error(`canary failed: ${r.stderr}${r.stdout}`);
      return { e2e, wait: rep.wait_ms };
    };
    const viaApply = { e2e: [] as number[], wait: [] as number[] };
    const local = { e2e: [] as number[], wait: [] as number[] };
    for (let i = 0; i < WARMUP + TRIALS; i++) {
      // ABBA: each mode goes first half the time.
      const order = i % 2 === 0 ? [false, true] : [true, false];
      for (const isLocal of order) {
        const m = await run(isLocal);
        if (i < WARMUP) continue;
        const into = isLocal ? local : viaApply;
        into.e2e.push(m.e2e);
        into.wait.push(m.wait);
      }
    }
    const s = {
      applyE2e: summarize(viaApply.e2e),
      applyWait: summarize(viaApply.wait),
      localE2e: summarize(local.e2e),
      localWait: summarize(local.wait),
    };
    const row = (name: string, x: Summary) => [name, fmt(x.p50), fmt(x.p90), fmt(x.p99), fmt(x.max)];
    const table = markdownTable(
      ['canary (n=' + TRIALS + ' each)', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [
        row('via the running apply: command start → report', s.applyE2e),
        row("via the running apply: the report's wait_ms", s.applyWait),
        row('--local: command start → report', s.localE2e),
        row("--local: the report's wait_ms", s.localWait),
      ],
    );
    const ratio = (a: Summary, b: Summary) =>
      (['p50', 'p90'] as const).map((p) => `${p} ${fmt(a[p] / b[p])}×`).join(', ');
    process.stdout.write(
      `${table}\n\nend-to-end / wait_ms, via apply: ${ratio(s.applyE2e, s.applyWait)}; --local: ${ratio(s.localE2e, s.localWait)}\n` +
        `via apply / --local end-to-end: ${ratio(s.applyE2e, s.localE2e)}\n`,
    );
  } finally {
    await apply.stop();
    await authorities.stop();
    await store.close();
    await paper.close();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
