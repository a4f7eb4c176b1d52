import type { Command } from 'commander';
import type { CliContext } from '../util.js';

/** Placeholder until the embedded demo exists; exits 0. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('bounded in-process demo of the whole pipeline')
    .action(() => {
      ctx.out('quantum-apply demo: the pipeline is being assembled; nothing to run yet.\n');
      ctx.exitCode = 0;
    });
}
