/**
 * A/B on the pipeline bench, alternating runs so both arms see the same noise:
 *   npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate 300 --runs 3
 *   npx tsx bench/pipeline-ab.ts --stream-ab --b .bench-tmp/pipeline --rate 100,400 --runs 3 --write
 * Two builds (A, B), or with `--stream-ab` one build (--b) with BINANCE_USER_STREAM=off (A) and on
 * (B). Prints the median of each figure per arm and rate (CPU seconds per 1,000 plans per process,
 * Redis commands per plan, executed/s, p50/p99; with --stream-ab the request weight and
 * positionRisk reads per plan and P3.3's position age at each decision), and B / A.
 * `--write` (with --stream-ab) rewrites the `stream-ab` block of BENCHMARKS.md.
 * Build B with `npm run bench:pipeline -- --only none`.
 */
import { loadavg } from 'node:os';
import type { PhaseSummary } from './lib/pipeline-report.js';
import { fmt, markdownTable, sumWhere } from './lib/stats.js';
import { parseBenchArgs } from './lib/args.js';
import { runPipeline } from './lib/pipeline-child.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { weightPerPlan } from './lib/weight.js';

const args = parseBenchArgs(process.argv.slice(2), {
  values: ['a', 'b', 'rate', 'runs', 'seconds', 'symbols'],
  flags: ['stream-ab', 'write'],
  usage: `
npx tsx bench/pipeline-ab.ts --a <build dir> --b <build dir> [--rate 300[,1000]] [--runs 3] [--seconds 8] [--symbols 1000]
npx tsx bench/pipeline-ab.ts --stream-ab [--b <build dir>] [--rate 100,400] [--runs 3] [--seconds 8] [--write]
  --stream-ab  one build, BINANCE_USER_STREAM=off (A) against on (B), alternating
  --write      with --stream-ab: rewrite its block of BENCHMARKS.md
  builds: npx tsx bench/pipeline.ts --only none --no-write (BENCH_PIPELINE_DIR=<dir> for another one)`,
});
const { opt, flag } = args;
const streamAb = flag('stream-ab');
const b = opt('b', '.bench-tmp/pipeline');
const arms = {
  A: streamAb
    ? { label: `A: ${b}, stream off`, dir: b, env: ['--env', 'BINANCE_USER_STREAM=off'] }
    : { label: `A: ${opt('a', '.bench-tmp/pipeline-A')}`, dir: opt('a', '.bench-tmp/pipeline-A'), env: [] },
  B: streamAb
    ? { label: `B: ${b}, stream on`, dir: b, env: ['--env', 'BINANCE_USER_STREAM=on'] }
    : { label: `B: ${b}`, dir: b, env: [] },
};
const rates = opt('rate', '300').split(',');
const runs = Number(opt('runs', '3'));
const seconds = opt('seconds', '8');
const symbols = opt('symbols', '1000');
// Read before the runs: machineLine reports the load average at the start.
const machine = machineLine();

type Arm = 'A' | 'B';
const out = new Map<string, Record<Arm, PhaseSummary[]>>();
for (const rate of rates) {
  const got: Record<Arm, PhaseSummary[]> = { A: [], B: [] };
  out.set(rate, got);
  for (let i = 0; i < runs; i++) {
    for (const v of ['A', 'B'] as const) {
      // The stream A/B runs its rate alone; builds are compared as the headline was measured.
      const part = streamAb ? 'rates' : 'capacity';
      const argv = ['--only', part, '--rates', rate, '--seconds', seconds, '--symbols', symbols];
      const json = `ab-${rate}-${v}-${i}.json`;
      const phases = runPipeline(arms[v].dir, [...argv, ...arms[v].env], json, 300_000);
      got[v].push(...phases.filter((p) => p.part === part));
    }
  }
}
const loadAtEnd = loadavg();

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
const med = (s: PhaseSummary[], f: (x: PhaseSummary) => number) => median(s.map(f));
const ratio = (a: number, bb: number) => (a > 0 && Number.isFinite(a) ? `${fmt(bb / a)}×` : '–');
/** P3.3's decision age p50 and p99 as the histogram's bucket bounds, median over runs. */
const age = (s: PhaseSummary[]) => {
  const ages = s.flatMap((x) => (x.decisionAge ? [x.decisionAge] : []));
  return ages.length ? `≤ ${median(ages.map((x) => x.p50))} / ≤ ${median(ages.map((x) => x.p99))}` : '–';
};

function genericTable(): string {
  const first = [...out.values()][0]!;
  const names = Object.keys(first.A[0]?.cpuPer1000 ?? {});
  const rows = [...out].flatMap(([rate, got]) =>
    (['A', 'B'] as const).map((v) => {
      const s = got[v];
      return [
        rate,
        arms[v].label,
        fmt(
          med(s, (x) => x.executedPerSec),
          0,
        ),
        fmt(med(s, (x) => x.p50)),
        fmt(med(s, (x) => x.p99)),
        fmt(
          med(s, (x) => x.commandsPerPlan),
          1,
        ),
        fmt(
          med(s, (x) => sumWhere(x.exchangePerPlan, /positionRisk/)),
          3,
        ),
        fmt(
          med(s, (x) => sumWhere(x.exchangePerPlan, /./)),
          2,
        ),
        ...names.map((n) =>
          fmt(
            med(s, (x) => x.cpuPer1000[n] ?? NaN),
            2,
          ),
        ),
      ];
    }),
  );
  return markdownTable(
    [
      'offered /s',
      'build',
      'executed /s',
      'p50 ms',
      'p99 ms',
      'cmds/plan',
      'positionRisk reads / plan',
      'exchange requests / plan',
      ...names.map((n) => `CPU s/1000 ${n}`),
    ],
    rows,
  );
}

function streamTable(): string {
  const figures: Array<[string, (x: PhaseSummary) => number, number]> = [
    ['executed /s', (x) => x.executedPerSec, 0],
    ['hand-off p50 ms', (x) => x.p50, 1],
    ['hand-off p99 ms', (x) => x.p99, 1],
    ['request weight / plan', weightPerPlan, 2],
    ['positionRisk reads / plan', (x) => sumWhere(x.exchangePerPlan, /positionRisk/), 3],
    // CPU seconds per 1,000 plans is CPU ms per plan: every process, the bench's own included.
    ['CPU ms / plan, all processes', (x) => sumWhere(x.cpuPer1000, /./), 2],
  ];
  const rows = [...out].flatMap(([rate, got]) => [
    ...(['A', 'B'] as const).map((v) => [
      rate,
      arms[v].label,
      ...figures.map(([, f, d]) => fmt(med(got[v], f), d)),
      age(got[v]),
    ]),
    [rate, 'B / A', ...figures.map(([, f]) => ratio(med(got.A, f), med(got.B, f))), '–'],
  ]);
  return markdownTable(
    [
      'offered /s',
      'arm',
      ...figures.map(([name]) => name),
      'P3.3 position age at decision p50 / p99 s (bucket bounds)',
    ],
    rows,
  );
}

const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
const text = `\`npx tsx bench/pipeline-ab.ts ${args.raw.join(' ')}\` (bench/pipeline-ab.ts)

Machine: ${machine}; load average ${load(loadAtEnd)} at the end.

${runs} alternating runs per arm and rate (A, B, A, B, …), each a fresh session: ${symbols} symbols, ${seconds} s window
after 3 s of warm-up; medians. Hand-off: proposal written → order at the paper exchange.

${streamAb ? streamTable() : genericTable()}`;
process.stdout.write(`${text}\n`);
if (flag('write') && streamAb) writeMarkedBlock('BENCHMARKS.md', 'stream-ab', text);
