/**
 * The pipeline under one account's limits: the paper exchange sends Binance's weight and
 * order-count headers (2,400 weight and 1,200 orders a minute), so every adapter paces itself as
 * it would on the venue, and a build is judged on what it gets through and how it fails.
 *
 *   npm run bench:venue -- --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rates 5,10,15,20 --write
 *
 * Builds: `npx tsx bench/pipeline.ts --only none --no-write` (BENCH_PIPELINE_DIR=<dir> for another
 * checkout). Per rate, the builds run one after the other in fresh sessions; a window of 60 s or
 * more holds at least one whole minute of weight. `--stream-ab` runs each build twice per rate,
 * BINANCE_USER_STREAM=off then on (the paper exchange's user data stream).
 */
import type { PhaseSummary } from './lib/pipeline-report.js';
import { fmt, markdownTable, sumWhere } from './lib/stats.js';
import { parseBenchArgs } from './lib/args.js';
import { runPipeline } from './lib/pipeline-child.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { weightPerPlan } from './lib/weight.js';

const args = parseBenchArgs(process.argv.slice(2), {
  values: ['a', 'b', 'rates', 'seconds'],
  flags: ['write', 'stream-ab'],
  usage: `
npm run bench:venue -- [--a <build dir>] [--b <build dir>] [--rates 5,10,15,20] [--seconds 60] [--write]
  --a          a baseline build, run beside --b at every rate (default: none)
  --b          the build measured (default .bench-tmp/pipeline)
  --stream-ab  each build with BINANCE_USER_STREAM=off, then on
  --write      rewrite its block of BENCHMARKS.md`,
});
const { opt, flag } = args;
const builds = [
  ...(opt('a', '') ? [{ label: 'A', dir: opt('a', '') }] : []),
  { label: 'B', dir: opt('b', '.bench-tmp/pipeline') },
];
const rates = opt('rates', '5,10,15,20').split(',').map(Number);
const seconds = opt('seconds', '60');

const variants = flag('stream-ab')
  ? [
      { tag: ' stream off', env: ['--env', 'BINANCE_USER_STREAM=off'] },
      { tag: ' stream on', env: ['--env', 'BINANCE_USER_STREAM=on'] },
    ]
  : [{ tag: '', env: [] }];

const rows: string[][] = [];
for (const rate of rates) {
  for (const b of builds) {
    for (const v of variants) {
      const args = ['--only', 'venue', '--rates', String(rate), '--seconds', seconds, ...v.env];
      const json = `venue-${rate}${v.tag.replace(/ /g, '-')}.json`;
      const p = runPipeline(b.dir, args, json, 600_000).find((x) => x.part === 'venue')!;
      rows.push(row(`${b.label}: ${b.dir}${v.tag}`, p));
    }
  }
}

/** Results whose error text matches `re`. */
function errorsWhere(p: PhaseSummary, re: RegExp): number {
  return sumWhere(p.errors, re);
}

function row(build: string, p: PhaseSummary): string[] {
  const total = Object.values(p.results).reduce((a, b) => a + b, 0);
  const reads = sumWhere(p.exchangePerPlan, /positionRisk/);
  return [
    String(p.rate),
    build,
    String(total),
    String(p.results.EXECUTE ?? 0),
    String(errorsWhere(p, /rate_limited/)),
    String(errorsWhere(p, /^kill_switch_active/)),
    String(errorsWhere(p, /^permit_timeout/)),
    String(
      total - (p.results.EXECUTE ?? 0) - errorsWhere(p, /rate_limited|^kill_switch_active|^permit_timeout/),
    ),
    fmt(p.p50),
    fmt(p.p99),
    fmt(reads, 3),
    fmt(weightPerPlan(p), 3),
    fmt(p.executedPerSec, 3),
    p.decisionAge ? `≤ ${p.decisionAge.p50} / ≤ ${p.decisionAge.p99}` : '–',
  ];
}

const table = markdownTable(
  [
    'offered /s',
    'build',
    'results',
    'EXECUTE',
    'refused locally (rate_limited)',
    'BLOCKED kill_switch_active (auto-disarmed)',
    'BLOCKED permit_timeout',
    'other',
    'p50 ms',
    'p99 ms',
    'positionRisk requests / executed plan',
    'request weight / executed plan',
    'executed plans /s',
    'P3.3 position age at decision p50 / p99 s (bucket bounds)',
  ],
  rows,
);
const text = `\`npm run bench:venue -- ${args.raw.join(' ')}\` (bench/venue.ts)

Machine: ${machineLine()}.

1,000 symbols; one fresh session per build and rate, ${seconds} s window after 3 s of warm-up.

${table}`;
process.stdout.write(`${text}\n`);
if (flag('write')) writeMarkedBlock('BENCHMARKS.md', 'venue', text);
