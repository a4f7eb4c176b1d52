/**
 * `quantum-apply status`: the mode and the live arm state (and whether the governor's
 * auto-disarm fired today). Other parts of the status are added beside these lines.
 */
import type { Command } from 'commander';
import { utcDay } from '../../domain/governor/gates.js';
import { readArmState } from '../../services/arm-state.js';
import type { CliContext } from '../util.js';
import { withStore } from './arm.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show the mode and the live arm state')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      await withStore(ctx, 'status', async (store, mode) => {
        const arm = await readArmState(store);
        const day = utcDay(Date.now());
        const disarmedToday = await store.get(store.keys.governorDisarm(day));
        if (opts.json) {
          ctx.out(`${JSON.stringify({ mode, arm, autoDisarm: { day, record: disarmedToday } })}\n`);
          return;
        }
        const at = arm.at > 0 ? new Date(arm.at).toISOString() : '-';
        ctx.out(`mode: ${mode}\n`);
        ctx.out(`armed: ${arm.armed ? 'yes' : 'NO'} (reason=${arm.reason} by=${arm.by || '-'} at=${at})\n`);
        ctx.out(`auto-disarm ${day}: ${disarmedToday ?? 'not fired'}\n`);
      });
    });
}
