/**
 * What `WAIT 1 <ms>` after the order intent write costs on the hand-off: the intent write as the
 * apply layer makes it (HSET + EXPIRE on the shared command connection), alone and followed by
 * WAIT 1, alternated trial by trial against one master with one replica on loopback.
 *
 *   npm run bench:intent-wait [-- --trials 2000 --no-write]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/store/redis/redis-store.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { until } from '../test/helpers/wait.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';

const args = process.argv.slice(2);
const at = args.indexOf('--trials');
const TRIALS = at >= 0 ? Number(args[at + 1]) : 2000;
const WARMUP = 100;
const WAIT_MS = 100;

async function main() {
  const master = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'qa-intent-wait-'));
  const replica = await startRedis({ args: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)] });
  const admin = new Redis(replica.url);
  const store = new RedisStore({ url: master.url, prefix: 'bench:' });
  try {
    await store.init();
    await until(
      async () => String(await admin.info('replication')).includes('master_link_status:up'),
      20_000,
    );
    const fields = { plan_id: 'x', state: 'sending', client_order_id: 'qa-x', quantity: '0.001' };
    let seq = 0;
    const write = () => store.hset(store.keys.orderIntent(`p${++seq}`), fields, 3600);
    const plain = async () => {
      const t0 = performance.now();
      await write();
      return performance.now() - t0;
    };
    let short = 0;
    const waited = async () => {
      const t0 = performance.now();
      await write();
      const acked = (await store.client.call('WAIT', 1, WAIT_MS)) as number;
      if (acked < 1) short++;
      return performance.now() - t0;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < WARMUP + TRIALS; i++) {
      // ABBA: each mode goes first half the time, so neither always follows the other.
      let x: number;
      let y: number;
      if (i % 2 === 0) {
        x = await plain();
        y = await waited();
      } else {
        y = await waited();
        x = await plain();
      }
      if (i < WARMUP) continue;
      a.push(x);
      b.push(y);
    }
    const [sa, sb] = [summarize(a), summarize(b)];
    const row = (name: string, s: Summary) => [name, fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max)];
    const table = markdownTable(
      ['intent write', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [row('HSET + EXPIRE (today)', sa), row(`HSET + EXPIRE, then WAIT 1 ${WAIT_MS}`, sb)],
    );
    const added = (['p50', 'p90', 'p99'] as const).map((p) => `${p} +${fmt(sb[p] - sa[p])} ms`).join(', ');
    const ratios = `WAIT / plain: ${(['p50', 'p90', 'p99'] as const).map((p) => `${p} ${fmt(sb[p] / sa[p])}×`).join(', ')}; added to the hand-off: ${added}; WAITs answered with fewer than 1 replica: ${short}/${TRIALS}.`;
    process.stdout.write(`${table}\n\n${ratios}\n`);
    if (!args.includes('--no-write')) {
      const version = /redis_version:(\S+)/.exec((await admin.info('server')) as string)?.[1];
      writeMarkedBlock(
        'BENCHMARKS.md',
        'intent-wait',
        [
          '`npm run bench:intent-wait`' +
            ` — ${new Date().toISOString().slice(0, 10)}, ${machineLine(version)}.`,
          '',
          `${TRIALS} trials per mode after ${WARMUP} warm-up trials, alternated (ABBA), one master and one replica on loopback.`,
          '',
          table,
          '',
          ratios,
        ].join('\n'),
      );
    }
  } finally {
    admin.disconnect();
    await store.close();
    await replica.stop();
    await master.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
