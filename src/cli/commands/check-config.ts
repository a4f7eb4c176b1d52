import { Argument, type Command } from 'commander';
import {
  configWarnings,
  describeConfig,
  ignoredVariables,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  loadPaperConfig,
  type Env,
} from '../../ops/config.js';
import { EXIT_CONFIG, EXIT_OK, loadOrReport, type CliContext } from '../util.js';

const LOADERS: Record<string, (env: Env) => object> = {
  apply: loadApplyConfig,
  governor: loadGovernorConfig,
  p33: loadP33Config,
  paper: loadPaperConfig,
};

/** Validates the environment of one service (or all) and prints it with secrets redacted. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('check-config')
    .description('validate the environment for a service and print the resulting config (secrets redacted)')
    .addArgument(new Argument('[service]', 'service to check (default: all)').choices(Object.keys(LOADERS)))
    .action((service: string | undefined) => {
      const names = service ? [service] : Object.keys(LOADERS);
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const name of names) {
        const cfg = loadOrReport(ctx, name, LOADERS[name] as (env: Env) => object);
        if (cfg === null) ok = false;
        else {
          out[name] = describeConfig(cfg);
          for (const w of configWarnings(cfg)) ctx.err(`warning: ${w.message}\n`);
        }
      }
      if (ok) ctx.out(`${JSON.stringify(out, null, 2)}\n`);
      const ignored = ignoredVariables(ctx.env);
      if (ignored.length > 0)
        ctx.err(`warning: variables not read by quantum-apply: ${ignored.join(', ')}\n`);
      ctx.exitCode = ok ? EXIT_OK : EXIT_CONFIG;
    });
}
