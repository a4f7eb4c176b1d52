/** `quantum-apply explain <plan_id> [--json]`: one plan's story from Redis (see src/inspect). */
import type { Command } from 'commander';
import { explainCommand } from '../../inspect/commands.js';
import type { CliContext } from '../util.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('explain')
    .description("tell one plan's story from Redis, in time order, and why it ended where it did")
    .argument(
      '<plan_id>',
      '16 hex digits, as on the plan/result streams and in the logs (or a canary-<16 hex> id)',
    )
    .option('--json', 'one JSON object (timeline array + verdict) instead of text')
    .addHelpText(
      'after',
      '\nExit codes: 0 found, 1 no trace of the plan id, 2 bad configuration or plan id, 3 Redis unreadable.',
    )
    .action(async (planId: string, opts: { json?: boolean }) => {
      const r = await explainCommand({ env: ctx.env }, planId, opts.json === true);
      if (r.stdout) ctx.out(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      ctx.exitCode = r.code;
    });
}
