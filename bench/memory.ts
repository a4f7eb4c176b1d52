/**
 * `quantum-apply all` under load, variant against variant (builds and node flags), in alternating
 * fresh runs so that every variant sees the same machine noise:
 *
 *   npx tsx bench/memory.ts --runs 3 --rate 100 \
 *     --variant 'before=.bench-tmp/pipeline-before:' --variant 'now=:' \
 *     --variant 'now, semi-space 1 MB=:--max-semi-space-size=1'
 *
 * A variant is `label=<build dir>:<node flags>`; an empty build dir is this tree, compiled into
 * .bench-tmp/pipeline (a build dir holds dist/, launch.mjs and package.json as bench/lib/pipeline-rig
 * writes them, and must resolve node_modules). An older commit's build: `git archive <commit> | tar
 * -x -C /tmp/old && cd /tmp/old && npm ci --ignore-scripts && npx tsx bench/pipeline.ts --only none
 * --no-write`, then `--variant 'before=/tmp/old/.bench-tmp/pipeline:'`.
 * Flags of the form `NAME=value` (upper case) are set in the service's environment instead
 * (e.g. MALLOC_ARENA_MAX=2). A variant runs without the unit's environment unless it says
 * `deploy`: `--variant 'label=:deploy'` takes NODE_OPTIONS, the node flags of ExecStart and the other `Environment=` lines of
 * deploy/systemd/quantum-apply-all.service, and `'label=:deploy APPLY_MAX_IN_FLIGHT=8'` adds to them
 * (a later NAME=value wins).
 *
 * Each run: a private redis-server, the paper exchange holding 1,000 synthetic positions, `all` as
 * one process (logs discarded), 3 s at 200/s, then 3 s warm-up + `--seconds` at `--rate`. Reported:
 * peak RSS (VmHWM, since start), RSS at the end, V8 heap committed at the end (/metrics), latency
 * p50/p99 of the window, CPU seconds of `all` per 1,000 executed plans; medians over the runs,
 * with the range. Before the runs: RSS right after importing each build's CLI (main.js, and main.js
 * with the module `all` runs), median of 5 fresh processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildCli, ROOT, unitEnvironment, unitNodeFlags } from './lib/pipeline-rig.js';
import { fmt, markdownTable, summarize } from './lib/stats.js';
import { parseBenchArgs } from './lib/args.js';
import { machineLine } from './lib/doc.js';

const args = parseBenchArgs(process.argv.slice(2), {
  values: ['runs', 'rate', 'seconds', 'variant', 'one'],
  flags: ['no-build'],
  usage: `
npx tsx bench/memory.ts [--runs 3] [--rate 100] [--seconds 10] [--variant 'label=<build dir>:<node flags|NAME=value|deploy>']... [--no-build]`,
});
const { opt } = args;
const log = (s: string) => void process.stderr.write(s);
const DEFAULT_DIR = resolve(ROOT, '.bench-tmp', 'pipeline');

interface Variant {
  label: string;
  dir: string;
  /** Node flags, then NAME=value environment settings. */
  flags: string[];
}

const isEnv = (f: string) => /^[A-Z_][A-Z0-9_]*=/.test(f);

interface RunResult {
  peakMb: number;
  rssMb: number;
  heapMb: number;
  p50: number;
  p99: number;
  cpuPer1000: number;
  executed: number;
  offered: number;
}

/** What the all-in-one systemd unit sets: NODE_OPTIONS and ExecStart's flags as node flags, the rest as NAME=value. */
export function deployFlags(): string[] {
  const { NODE_OPTIONS = '', ...rest } = unitEnvironment('all');
  return [
    ...NODE_OPTIONS.split(/\s+/).filter(Boolean),
    ...unitNodeFlags('all'),
    ...Object.entries(rest).map(([k, v]) => `${k}=${v}`),
  ];
}

function parseVariant(spec: string): Variant {
  const eq = spec.indexOf('=');
  const rest = spec.slice(eq + 1);
  const colon = rest.indexOf(':');
  const dir = colon < 0 ? rest : rest.slice(0, colon);
  const flags = colon < 0 ? '' : rest.slice(colon + 1);
  return {
    label: spec.slice(0, eq),
    dir: dir ? resolve(dir) : DEFAULT_DIR,
    // `deploy` anywhere among the flags stands for the unit's settings; the others add to them.
    flags: flags
      .split(/\s+/)
      .filter(Boolean)
      .flatMap((f) => (f === 'deploy' ? deployFlags() : [f])),
  };
}

/** One measured run, in this process (child mode: BENCH_PIPELINE_DIR chose the build). */
async function runOnce(flags: string[], rate: number, seconds: number): Promise<RunResult> {
  const { Session } = await import('./lib/pipeline-session.js');
  const s = new Session({
    symbols: 1000,
    layout: 'all',
    notifications: true,
    env: Object.fromEntries(
      flags.filter(isEnv).map((f) => f.split(/=(.*)/s).slice(0, 2) as [string, string]),
    ),
    spawn: () => ({ nodeArgs: flags.filter((f) => !isEnv(f)), unitEnv: false }),
  });
  try {
    await s.start();
    await s.phase(200, 3, 0);
    const r = await s.phase(rate, seconds, 3);
    const mem = s.memory().all;
    const metrics = await (await fetch(`http://127.0.0.1:${s.services[0]!.opsPort}/metrics`)).text();
    const heap = Number(/^nodejs_heap_size_total_bytes (\S+)/m.exec(metrics)?.[1] ?? NaN) / 1048576;
    const l = summarize(r.stats.latencies);
    return {
      peakMb: mem?.peakMb ?? NaN,
      rssMb: mem?.rssMb ?? NaN,
      heapMb: heap,
      p50: l.p50,
      p99: l.p99,
      cpuPer1000: ((r.cpu.all ?? NaN) / Math.max(1, r.executed)) * 1000,
      executed: r.executed / r.stats.seconds,
      offered: rate,
    };
  } finally {
    await s.stop();
  }
}

/** RSS (MB) of a fresh node right after importing these modules of a build, gc'd; median of 5. */
function importRss(dir: string, modules: string[]): number {
  const script =
    `for (const m of ${JSON.stringify(modules.map((m) => `${dir}/dist/${m}`))}) await import(m);` +
    "globalThis.gc(); const s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');" +
    'console.log(Number(/VmRSS:\\s+(\\d+)/.exec(s)[1]) / 1024);';
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`import of ${dir} failed: ${r.stderr}`);
    samples.push(Number(r.stdout.trim()));
  }
  return summarize(samples).p50;
}

const median = (xs: number[]) => summarize(xs).p50;
const range = (xs: number[], d = 1) =>
  `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})`;

async function main(): Promise<void> {
  const one = opt('one', '');
  if (one) {
    const { flags, rate, seconds } = JSON.parse(one) as { flags: string[]; rate: number; seconds: number };
    process.stdout.write(`${JSON.stringify(await runOnce(flags, rate, seconds))}\n`);
    return;
  }
  const specs = args.all('variant');
  const variants = (specs.length ? specs : ['now=:', 'now, deploy flags=:deploy']).map(parseVariant);
  const runs = Number(opt('runs', '3'));
  const rate = Number(opt('rate', '100'));
  const seconds = Number(opt('seconds', '10'));
  const machine = machineLine();
  if (!args.flag('no-build')) buildCli(log);
  for (const v of variants) {
    if (!existsSync(resolve(v.dir, 'launch.mjs'))) throw new Error(`${v.dir}: no build (launch.mjs)`);
  }

  const dirs = [...new Set(variants.map((v) => v.dir))];
  const graph = dirs.map((dir) => {
    const label = variants.filter((v) => v.dir === dir).map((v) => v.label)[0]!;
    // A build's CLI as its launcher runs it: the bundle where the build has one, else tsc's dist/cli.
    const [main, all] = existsSync(resolve(dir, 'dist/bundle/main.js'))
      ? ['bundle/main.js', 'bundle/all.js']
      : ['cli/main.js', 'cli/commands/all.js'];
    return [label.replace(/,.*$/, ''), fmt(importRss(dir, [main]), 1), fmt(importRss(dir, [main, all]), 1)];
  });
  const bare = fmt(importRss(DEFAULT_DIR, []), 1);

  const results = new Map<string, RunResult[]>(variants.map((v) => [v.label, []]));
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', import.meta.filename, '--one', JSON.stringify({ flags: v.flags, rate, seconds })],
        {
          env: { ...process.env, BENCH_PIPELINE_DIR: v.dir },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          timeout: 300_000,
        },
      );
      if (r.status !== 0) throw new Error(`run ${i} of ${v.label} failed`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunResult;
      log(`${v.label} #${i + 1}: ${JSON.stringify(res)}\n`);
      results.get(v.label)!.push(res);
    }
  }

  const rows = variants.map((v) => {
    const rs = results.get(v.label)!;
    return [
      v.label,
      v.flags.join(' ') || '–',
      range(rs.map((r) => r.peakMb)),
      fmt(median(rs.map((r) => r.rssMb)), 1),
      fmt(median(rs.map((r) => r.heapMb)), 1),
      fmt(median(rs.map((r) => r.executed)), 0),
      fmt(median(rs.map((r) => r.p50))),
      fmt(median(rs.map((r) => r.p99))),
      range(
        rs.map((r) => r.cpuPer1000),
        2,
      ),
    ];
  });
  const text = [
    `\`npx tsx bench/memory.ts --runs ${runs} --rate ${rate} ${specs.map((s) => `--variant '${s}'`).join(' ')}\` (bench/memory.ts)`,
    '',
    `Machine: ${machine}.`,
    '',
    `RSS right after importing the CLI (MB, median of 5 fresh processes; bare node: ${bare}):`,
    '',
    markdownTable(['build', 'main.js alone', "main.js + what 'all' imports"], graph),
    '',
    `\`all\` at ${rate} plans/s offered (1,000 symbols, ${seconds} s window after 3 s at 200/s and 3 s warm-up), ` +
      `${runs} alternating fresh runs per variant, medians (range):`,
    '',
    markdownTable(
      [
        'variant',
        'node flags',
        'peak RSS MB',
        'RSS at end MB',
        'V8 heap MB',
        'executed /s',
        'p50 ms',
        'p99 ms',
        'CPU s / 1000 plans',
      ],
      rows,
    ),
  ].join('\n');
  process.stdout.write(`${text}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`memory bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
