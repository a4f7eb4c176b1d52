/**
 * The whole pipeline at scale: proposal written → order at the paper exchange, with apply,
 * governor and position-brain as separate processes (and `all` as one) on one private
 * redis-server, over 1,000 synthetic symbols whose positions the paper exchange holds.
 *
 *   npm run bench:pipeline                       # every scenario, rewrites "## Pipeline"
 *   npm run bench:pipeline -- --only latency     # latency | capacity | memory | choices | baseline | ceiling | venue | rates (prints;
 *                                                # --write to rewrite the section with the partial tables)
 *   npm run bench:pipeline -- --no-write --seconds 5 --rates 500,1000
 *   npm run bench:pipeline -- --only capacity --rates 200 --env APPLY_LEASE_TTL_MS=0   # compare a setting
 *
 * Bounded: each phase runs warm-up + window seconds, every process is stopped by PID at the end.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCli, WORK } from './lib/pipeline-rig.js';
import { Session, type PhaseResult, type SessionOptions } from './lib/pipeline-session.js';
import { isSustained, keptUp, renderReport, summaries, type Report } from './lib/pipeline-report.js';
import { writeMarkedBlock } from './lib/doc.js';
import { perUnit } from './lib/redis-stats.js';
import { machineLine } from './lib/doc.js';
import { parseBenchArgs } from './lib/args.js';
import { slowClusters } from './lib/feeder.js';

const args = parseBenchArgs(process.argv.slice(2), {
  values: ['symbols', 'seconds', 'warmup', 'rates', 'only', 'env', 'json'],
  flags: [
    'no-build',
    'no-write',
    'write',
    'logs',
    'profile',
    'heap-profile',
    'trace-gc',
    'verbose',
    'venue-limits',
  ],
  usage: `
npm run bench:pipeline -- [options]          every scenario; rewrites its block of BENCHMARKS.md (~7 min)
  --only <list>       latency,capacity,memory,choices,baseline,ceiling,venue,rates (none: build only); prints
  --write | --no-write  rewrite the section (default: only for a full run)
  --rates <list>      capacity ramp, plans/s (default 100,200,300,400,600,800,1000,1200,1400,1600,2000,2500)
  --seconds <n>       window per phase (10)      --warmup <n>  warm-up per phase (3)
  --symbols <n>       synthetic symbols (1000)   --env NAME=value  service variable (repeatable)
  --json <file>       phase summaries as JSON    --no-build    use the compiled build as it is
  --logs | --profile | --heap-profile | --verbose   service logs, CPU or heap profiles, commands by name
  --trace-gc          node --trace-gc in each service (with --logs: GC lines in <service>.log)
  --venue-limits      the paper exchange sends Binance's weight / order-count headers (one account's limits)`,
});
const { opt, flag } = args;
const argv = args.raw;
const SYMBOLS = Number(opt('symbols', '1000'));
const SECONDS = Number(opt('seconds', '10'));
const WARMUP = Number(opt('warmup', '3'));
const RATES = opt('rates', '100,200,300,400,600,800,1000,1200,1400,1600,2000,2500').split(',').map(Number);
const ONLY = opt('only', 'all');
const log = (s: string) => void process.stderr.write(s);

const want = (s: string) => ONLY === 'all' || ONLY.split(',').includes(s);

async function withSession<T>(o: Partial<SessionOptions>, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = new Session({
    symbols: SYMBOLS,
    layout: 'split',
    notifications: true,
    venueLimits: flag('venue-limits'),
    // --env KEY=VALUE (repeatable): extra service variables, e.g. to compare a setting.
    env: Object.fromEntries(
      args.all('env').flatMap((a) => (a.includes('=') ? [a.split(/=(.*)/s).slice(0, 2)] : [])),
    ),
    spawn: (name) => ({
      ...(flag('logs') ? { logFile: join(WORK, `${name}.log`) } : {}),
      nodeArgs: [
        ...(flag('profile') ? ['--cpu-prof', `--cpu-prof-dir=${join(WORK, 'profiles')}`] : []),
        ...(flag('heap-profile') ? ['--heap-prof', `--heap-prof-dir=${join(WORK, 'profiles')}`] : []),
        // GC events go to stdout: with --logs they land in <service>.log beside the JSON lines.
        ...(flag('trace-gc') ? ['--trace-gc'] : []),
      ],
    }),
    ...o,
  });
  try {
    await s.start();
    return await fn(s);
  } finally {
    await s.stop();
  }
}

function say(label: string, r: PhaseResult): void {
  const l = [...r.stats.latencies].sort((a, b) => a - b);
  const q = (p: number) =>
    l.length ? l[Math.min(l.length - 1, Math.ceil((p / 100) * l.length) - 1)]!.toFixed(1) : 'n/a';
  const cmds = [...r.commands.values()].reduce((a, b) => a + b, 0);
  log(
    `${label}: offered ${r.stats.rate}/s, executed ${(r.executed / r.stats.seconds).toFixed(0)}/s, ` +
      `p50 ${q(50)} p99 ${q(99)} ms, n ${l.length}, cmds/plan ${(cmds / Math.max(1, r.executed)).toFixed(1)}, ` +
      `backlog ${r.stats.backlog}, unfinished ${r.stats.unfinished}, results ${JSON.stringify(r.stats.results)}` +
      (Object.keys(r.stats.errors).length ? ` errors ${JSON.stringify(r.stats.errors)}` : '') +
      (flag('verbose') ? `\n  commands/plan: ${perUnit(r.commands, Math.max(1, r.executed), 30)}` : '') +
      (flag('verbose') ? `\n  slow plans (> 20 ms) by when written: ${slowClusters(r.stats)}` : '') +
      '\n',
  );
}

const sustained = isSustained;

function redisBenchmark(port: number, pipeline: number): number {
  const args = ['-p', String(port), '-t', 'set,get', '-n', '200000', '-q'];
  if (pipeline > 1) args.push('-P', String(pipeline));
  const out = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 120_000 });
  const rates = [...out.stdout.matchAll(/:\s*([\d.]+) requests per second/g)].map((m) => Number(m[1]));
  return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : NaN;
}

async function main(): Promise<void> {
  if (!flag('no-build')) buildCli(log);
  const report: Report = {
    machine: machineLine(),
    command: `npm run bench:pipeline -- ${argv.join(' ')}`.trim(),
    symbols: SYMBOLS,
    seconds: SECONDS,
    warmup: WARMUP,
  };

  if (want('latency') || want('capacity') || want('ceiling')) {
    await withSession({}, async (s) => {
      report.machine = machineLine(s.redisVersion);
      await s.phase(200, 3, 0); // warm-up: JIT, exchangeInfo caches, ledgers seeded
      if (want('latency')) {
        report.latency = [];
        for (const rate of [10, 100, 1000]) {
          const r = await s.phase(rate, rate === 10 ? Math.max(SECONDS, 20) : SECONDS, WARMUP);
          say(`latency ${rate}/s`, r);
          report.latency.push(r);
        }
      }
      if (want('latency') || want('capacity')) {
        // MONITOR on a short 100/s window: commands sent by clients vs run inside Lua scripts.
        report.split = await s.phase(100, 5, 1, true);
        say('monitor 100/s', report.split);
        log(`  sent by clients ${JSON.stringify(report.split.sent)}\n`);
      }
      if (want('capacity')) {
        report.capacity = [];
        for (const rate of RATES) {
          const r = await s.phase(rate, SECONDS, WARMUP);
          say(`capacity ${rate}/s`, r);
          report.capacity.push(r);
          // Latency spikes on this shared machine come and go: ramp on until throughput itself fails.
          if (!keptUp(r)) break;
        }
        report.splitMemory = s.memory();
        // MONITOR again at the highest sustained rate, where the background work is a small share.
        const top = report.capacity.filter(isSustained).pop();
        if (top) {
          report.splitAtCapacity = await s.phase(top.stats.rate, 5, 1, true);
          say(`monitor ${top.stats.rate}/s`, report.splitAtCapacity);
          log(`  sent by clients ${JSON.stringify(report.splitAtCapacity.sent)}\n`);
        }
      }
      if (want('ceiling')) {
        report.ceiling = {
          single: redisBenchmark(s.redis.port, 1),
          pipelined: redisBenchmark(s.redis.port, 16),
        };
        log(`redis-benchmark: ${JSON.stringify(report.ceiling)}\n`);
      }
    });
  }

  if (want('memory')) {
    // `all` runs at the highest rate the split layout sustained (or the lowest one tried).
    const best = [...(report.capacity ?? [])].filter(sustained).pop()?.stats.rate ?? RATES[0] ?? 100;
    await withSession({}, async (s) => {
      await s.phase(200, 3, 0);
      const r = await s.phase(best, SECONDS, WARMUP);
      say(`split ${best}/s (memory)`, r);
      report.splitAtRate = { phase: r, memory: s.memory() };
    });
    await withSession({ layout: 'all' }, async (s) => {
      await s.phase(200, 3, 0);
      const r = await s.phase(best, SECONDS, WARMUP);
      say(`all ${best}/s`, r);
      report.all = { phase: r, memory: s.memory() };
    });
  }

  if (want('choices')) {
    // Design choices at one rate, fresh sessions: apply's per-symbol leases (on by default) vs off.
    const rate = [...(report.capacity ?? [])].filter(sustained).pop()?.stats.rate ?? 200;
    report.choices = [];
    for (const [label, env] of [
      ['apply symbol leases on (APPLY_LEASE_TTL_MS=5000, default)', {}],
      ['apply symbol leases off (APPLY_LEASE_TTL_MS=0, one apply process)', { APPLY_LEASE_TTL_MS: '0' }],
    ] as const) {
      await withSession({ env: { ...env } }, async (s) => {
        await s.phase(200, 3, 0);
        const r = await s.phase(rate, SECONDS, WARMUP);
        say(`choice: ${label}`, r);
        report.choices!.push({ label, phase: r });
      });
    }
  }

  if (ONLY.split(',').includes('venue')) {
    // One account's limits (weight and order-count headers on): plans/s the venue lets through.
    report.venue = [];
    await withSession({ venueLimits: true }, async (s) => {
      await s.phase(2, 3, 0);
      for (const rate of opt('rates', '20').split(',').map(Number)) {
        const r = await s.phase(rate, SECONDS, WARMUP);
        say(`venue ${rate}/s`, r);
        report.venue!.push(r);
      }
    });
  }

  if (ONLY.split(',').includes('rates')) {
    // Each --rates rate in turn, no MONITOR window: a MONITOR phase slows Redis and leaves a
    // backlog the next window inherits, which an A/B of two settings must not see.
    report.rates = [];
    await withSession({}, async (s) => {
      report.machine = machineLine(s.redisVersion);
      await s.phase(200, 3, 0);
      for (const rate of RATES) {
        const r = await s.phase(rate, SECONDS, WARMUP);
        say(`rate ${rate}/s`, r);
        report.rates!.push(r);
      }
    });
  }

  if (want('baseline')) {
    report.baseline = [];
    await withSession({ notifications: false, pollSec: 1, permitStepMs: 100 }, async (s) => {
      await s.phase(50, 3, 0);
      for (const rate of [10, 100]) {
        const r = await s.phase(rate, rate === 10 ? Math.max(SECONDS, 20) : SECONDS, WARMUP);
        say(`polling baseline ${rate}/s`, r);
        report.baseline!.push(r);
      }
    });
  }

  if (opt('json', '') !== '') writeFileSync(opt('json', ''), JSON.stringify(summaries(report), null, 1));
  const text = renderReport(report);
  process.stdout.write(`${text}\n`);
  // A partial run (--only) prints; it rewrites the section only when asked (--write).
  if (flag('write') || (!flag('no-write') && ONLY === 'all'))
    writeMarkedBlock('BENCHMARKS.md', 'pipeline', text);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`pipeline bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
