/** `quantum-apply disarm --reason ...`: the apply layer stops sending orders until armed again. */
import type { Command } from 'commander';
import { setArmState } from '../../services/arm-state.js';
import type { CliContext } from '../util.js';
import { operator, withStore } from './arm.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('disarm')
    .description('disarm the apply layer (live arm state in Redis): no order is sent until `arm`')
    .requiredOption('--reason <reason>', 'why (recorded with the state and on the governor decisions stream)')
    .option('--by <name>', 'who (default: cli:<user>)')
    .action(async (opts: { reason: string; by?: string }) => {
      await withStore(ctx, 'disarm', async (store) => {
        const s = await setArmState(store, {
          armed: false,
          reason: opts.reason,
          by: opts.by ?? operator(),
          atMs: Date.now(),
        });
        ctx.out(`disarmed (reason=${s.reason} by=${s.by})\n`);
      });
    });
}
