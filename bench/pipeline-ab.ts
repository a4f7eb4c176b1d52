/**
 * A/B of two compiled builds on the pipeline bench, alternating runs so both see the same noise:
 *   npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate 300 --runs 3
 * Prints the median of each figure per build (CPU seconds per 1,000 plans per process, Redis
 * commands per plan, executed/s, p50/p99). Build B with `npm run bench:pipeline -- --only none`.
 */
import type { PhaseSummary } from './lib/pipeline-report.js';
import { fmt, markdownTable, sumWhere } from './lib/stats.js';
import { parseBenchArgs } from './lib/args.js';
import { runPipeline } from './lib/pipeline-child.js';

const { opt } = parseBenchArgs(process.argv.slice(2), {
  values: ['a', 'b', 'rate', 'runs', 'seconds', 'symbols'],
  flags: [],
  usage: `
npx tsx bench/pipeline-ab.ts --a <build dir> --b <build dir> [--rate 300] [--runs 3] [--seconds 8] [--symbols 1000]
  builds: npx tsx bench/pipeline.ts --only none --no-write (BENCH_PIPELINE_DIR=<dir> for another one)`,
});
const dirs = { A: opt('a', '.bench-tmp/pipeline-A'), B: opt('b', '.bench-tmp/pipeline') };
const rate = opt('rate', '300');
const runs = Number(opt('runs', '3'));
const seconds = opt('seconds', '8');
const symbols = opt('symbols', '1000');

const out: Record<'A' | 'B', PhaseSummary[]> = { A: [], B: [] };
for (let i = 0; i < runs; i++) {
  for (const v of ['A', 'B'] as const) {
    const args = ['--only', 'capacity', '--rates', rate, '--seconds', seconds, '--symbols', symbols];
    out[v].push(...runPipeline(dirs[v], args, `ab-${i}.json`, 300_000));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const names = Object.keys(out.A[0]?.cpuPer1000 ?? {});
const row = (v: 'A' | 'B') => {
  const s = out[v];
  return [
    `${v}: ${dirs[v]}`,
    fmt(median(s.map((x) => x.executedPerSec)), 0),
    fmt(median(s.map((x) => x.p50))),
    fmt(median(s.map((x) => x.p99))),
    fmt(median(s.map((x) => x.commandsPerPlan)), 1),
    fmt(median(s.map((x) => sumWhere(x.exchangePerPlan, /positionRisk/))), 3),
    fmt(median(s.map((x) => sumWhere(x.exchangePerPlan, /./))), 2),
    ...names.map((n) => fmt(median(s.map((x) => x.cpuPer1000[n] ?? NaN)), 2)),
  ];
};
process.stdout.write(
  `${markdownTable(['build', 'executed /s', 'p50 ms', 'p99 ms', 'cmds/plan', 'positionRisk reads / plan', 'exchange requests / plan', ...names.map((n) => `CPU s/1000 ${n}`)], [row('A'), row('B')])}\n` +
    `(${runs} alternating runs each at ${rate}/s offered, ${seconds} s windows, ${symbols} symbols; medians)\n`,
);
