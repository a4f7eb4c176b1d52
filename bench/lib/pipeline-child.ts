/** One run of bench/pipeline.ts on a compiled build, in its own process: its phase summaries. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PhaseSummary } from './pipeline-report.js';

/**
 * Runs `pipeline.ts <args> --no-build --no-write --json <buildDir>/<jsonName>` with
 * BENCH_PIPELINE_DIR=buildDir (its stderr shown), and returns what it wrote.
 */
export function runPipeline(
  buildDir: string,
  args: string[],
  jsonName: string,
  timeoutMs: number,
): PhaseSummary[] {
  const json = resolve(buildDir, jsonName);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '..', 'pipeline.ts'), ...args].concat([
      '--no-build',
      '--no-write',
      '--json',
      json,
    ]),
    {
      env: { ...process.env, BENCH_PIPELINE_DIR: resolve(buildDir) },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: timeoutMs,
    },
  );
  if (r.status !== 0) throw new Error(`pipeline.ts ${args.join(' ')} on ${buildDir} failed`);
  return JSON.parse(readFileSync(json, 'utf8')) as PhaseSummary[];
}
