/** `quantum-apply status [--json]`: arm state, streams, groups, permits, executions (see src/inspect). */
import type { Command } from 'commander';
import { statusCommand } from '../../inspect/commands.js';
import type { CliContext } from '../util.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description(
      'arm state, mode, streams and consumer groups, outstanding permits, last executions, governor counts',
    )
    .option('--json', 'one JSON object instead of text')
    .addHelpText(
      'after',
      '\nExit codes: 0 read, 2 bad configuration, 3 Redis unreadable. Never prints credentials.',
    )
    .action(async (opts: { json?: boolean }) => {
      const r = await statusCommand({ env: ctx.env }, opts.json === true);
      if (r.stdout) ctx.out(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      ctx.exitCode = r.code;
    });
}
