/**
 * `npm run bench`: every scenario, one after another, each in its own process (so no bench
 * inherits another's warm JIT or sockets), each printing its table and rewriting its own
 * section of BENCHMARKS.md. `-- --no-write` prints only; `-- --only pipeline,exchange` picks.
 * A scenario that fails does not stop the others; the exit code says whether all passed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

interface Scenario {
  name: string;
  file: string;
  /** Arguments that make it rewrite its BENCHMARKS.md section (the benches differ here). */
  write: string[];
  noWrite: string[];
  timeoutSec: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'handoff', file: 'handoff.ts', write: [], noWrite: ['--no-write'], timeoutSec: 600 },
  { name: 'scripts', file: 'scripts.ts', write: [], noWrite: ['--no-write'], timeoutSec: 600 },
  { name: 'apply', file: 'apply-latency.ts', write: ['--write'], noWrite: [], timeoutSec: 600 },
  { name: 'authorities', file: 'authorities.ts', write: [], noWrite: ['--no-write'], timeoutSec: 600 },
  { name: 'exchange', file: 'exchange.ts', write: ['--write'], noWrite: [], timeoutSec: 600 },
  { name: 'pipeline', file: 'pipeline.ts', write: [], noWrite: ['--no-write'], timeoutSec: 1800 },
  // After pipeline, whose build it measures.
  { name: 'venue', file: 'venue.ts', write: ['--write'], noWrite: [], timeoutSec: 900 },
  // The contract's work alone, beside ours in the same run.
  { name: 'floor', file: 'floor.ts', write: ['--write'], noWrite: [], timeoutSec: 1200 },
];

const args = process.argv.slice(2);
const noWrite = args.includes('--no-write');
const oi = args.indexOf('--only');
const only = oi >= 0 ? (args[oi + 1] ?? '').split(',') : null;

const failed: string[] = [];
for (const s of SCENARIOS) {
  if (only && !only.includes(s.name)) continue;
  process.stderr.write(`\n=== bench ${s.name} (bench/${s.file}) ===\n`);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, s.file), ...(noWrite ? s.noWrite : s.write)],
    { stdio: 'inherit', timeout: s.timeoutSec * 1000, killSignal: 'SIGTERM' },
  );
  const took = ((Date.now() - started) / 1000).toFixed(0);
  if (r.status !== 0) {
    failed.push(s.name);
    process.stderr.write(
      `=== ${s.name} FAILED (${r.error?.message ?? `exit ${r.status ?? r.signal}`}) after ${took} s\n`,
    );
  } else process.stderr.write(`=== ${s.name} done in ${took} s\n`);
}
if (failed.length > 0) {
  process.stderr.write(`\nfailed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
