/**
 * The floor under the pipeline: the same feeder, paper exchange and private redis-server as
 * bench/pipeline.ts, with the three services replaced by bench/lib/floor (the wire contract's work
 * alone: its keys, streams and exchange calls, no validation, logs, metrics or safety of ours),
 * and ours beside it in the same run, layouts alternating. It answers: of what one plan costs
 * (CPU summed over every process, Redis commands by INFO commandstats), how much is the contract
 * and the rig, and how much is this implementation.
 *
 *   npm run bench:floor                                   # rates 500..2500, 2 rounds, prints
 *   npm run bench:floor -- --rates 1000,2000 --rounds 3 --seconds 8 --write
 */
import { buildCli } from './lib/pipeline-rig.js';
import { buildFloor } from './lib/floor/spawn.js';
import { Session, type PhaseResult } from './lib/pipeline-session.js';
import { isSustained, keptUp } from './lib/pipeline-report.js';
import { slowClusters } from './lib/feeder.js';
import { parseBenchArgs } from './lib/args.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { renderFloor, type FloorRow } from './lib/floor/report.js';

const args = parseBenchArgs(process.argv.slice(2), {
  values: ['symbols', 'seconds', 'warmup', 'rates', 'rounds', 'layouts'],
  flags: ['no-build', 'write'],
  usage: `
npm run bench:floor -- [options]     the contract's floor beside ours, same run (prints; --write: its block of BENCHMARKS.md)
  --rates <list>     offered plans/s (default 500,1000,1500,2000,2500); a layout stops at its first unsustained rate
  --rounds <n>       alternating rounds of (floor, ours) (2)
  --layouts <list>   floor,floor-ka,ours (default all three)    --seconds <n> window (8)    --warmup <n> (2)
  --symbols <n>      synthetic symbols (1000)     --no-build  use the compiled build as it is`,
});
const { opt, flag } = args;
const SYMBOLS = Number(opt('symbols', '1000'));
const SECONDS = Number(opt('seconds', '8'));
const WARMUP = Number(opt('warmup', '2'));
const RATES = opt('rates', '500,1000,1500,2000,2500').split(',').map(Number);
const ROUNDS = Number(opt('rounds', '2'));
type Layout = FloorRow['layout'];
const LAYOUTS = opt('layouts', 'floor,floor-ka,ours').split(',') as Layout[];
const log = (s: string) => void process.stderr.write(s);

async function ramp(layout: Layout, round: number): Promise<FloorRow[]> {
  const s = new Session({
    symbols: SYMBOLS,
    layout: layout === 'ours' ? 'split' : 'floor',
    notifications: true,
    // floor-ka: the floor with orders on kept-alive sockets (ours and 'floor' open one per order).
    env: layout === 'floor-ka' ? { FLOOR_FRESH_ORDERS: '0' } : {},
  });
  const rows: FloorRow[] = [];
  try {
    await s.start();
    await s.phase(200, 3, 0); // warm-up: JIT, caches, ledgers seeded
    for (const rate of RATES) {
      const r: PhaseResult = await s.phase(rate, SECONDS, WARMUP);
      const row: FloorRow = { layout, round, result: r, sustained: isSustained(r) };
      rows.push(row);
      const cpu = Object.values(r.cpu).reduce((a, b) => a + b, 0);
      log(
        `round ${round} ${layout} ${rate}/s: executed ${(r.executed / r.stats.seconds).toFixed(0)}/s, ` +
          `CPU ${((cpu / Math.max(1, r.executed)) * 1000).toFixed(3)} ms/plan, ` +
          `slow plans (> 20 ms) ${slowClusters(r.stats)}, ` +
          `results ${JSON.stringify(r.stats.results)}${Object.keys(r.stats.errors).length ? ` errors ${JSON.stringify(r.stats.errors)}` : ''}\n`,
      );
      if (!keptUp(r)) break;
    }
  } finally {
    await s.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  if (!flag('no-build')) buildCli(log);
  buildFloor();
  const machine = machineLine();
  const rows: FloorRow[] = [];
  for (let round = 1; round <= ROUNDS; round++)
    for (const layout of round % 2 ? LAYOUTS : [...LAYOUTS].reverse())
      rows.push(...(await ramp(layout, round)));
  const command = `npm run bench:floor -- ${args.raw.join(' ')}`.trim();
  const text = renderFloor({ machine, command, symbols: SYMBOLS, seconds: SECONDS, rows });
  process.stdout.write(`${text}\n`);
  if (flag('write')) writeMarkedBlock('BENCHMARKS.md', 'floor', text);
}

await main();
