import type { Command } from 'commander';
import { runDemo } from '../../demo/run.js';
import { historyDialectOf } from '../../history/db.js';
import type { CliContext } from '../util.js';

/** `quantum-apply demo`: the whole pipeline in one process, bounded; exit 1 only if a safety check fails. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('bounded in-process demo: three services, paper exchange, scripted proposals')
    .option('--duration <sec>', 'how long to run (seconds, 10-600)', '20')
    .option('--redis-url <url>', 'use this Redis (random key prefix) instead of the in-memory store')
    .option('--verbose', "also print the services' warnings")
    .option(
      '--history-url <url>',
      'record the history there (sqlite:<path> or postgres://…) instead of in memory',
    )
    .action(async (opts: { duration: string; redisUrl?: string; verbose?: boolean; historyUrl?: string }) => {
      const duration = Number(opts.duration);
      if (!Number.isFinite(duration) || duration < 10 || duration > 600) {
        ctx.err('quantum-apply demo: --duration must be a number of seconds between 10 and 600\n');
        ctx.exitCode = 2;
        return;
      }
      const historyUrl = opts.historyUrl ?? ctx.env.HISTORY_URL;
      if (historyUrl !== undefined && typeof historyDialectOf(historyUrl) !== 'string') {
        ctx.err('quantum-apply demo: --history-url / HISTORY_URL must be sqlite:<path> or postgres://…\n');
        ctx.exitCode = 2;
        return;
      }
      const listening = new AbortController();
      ctx.exitCode = await runDemo({
        durationSec: duration,
        stopRequested: ctx.waitForStop(listening.signal),
        redisUrl: opts.redisUrl ?? (ctx.env.REDIS_URL || undefined),
        verbose: opts.verbose,
        historyUrl,
        out: (t) => ctx.out(t),
      }).finally(() => listening.abort());
    });
}
