import { Argument, type Command } from 'commander';
import { configWarnings, describeConfig, ignoredVariables, type Env } from '../../ops/config.js';
import {
  SERVICE_ALIASES,
  SERVICE_CONFIGS,
  SERVICE_NAMES,
  serviceNamed,
  type ServiceName,
} from '../../ops/config/per-service.js';
import { EXIT_CONFIG, EXIT_OK, loadOrReport, type CliContext } from '../util.js';

/** Checked when no service is named: each service on its own (`all` is the three together). */
const EVERY_SERVICE = SERVICE_NAMES.filter((n) => n !== 'all');

/** Validates the environment of one service (or each) and prints it with secrets redacted. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('check-config')
    .description('validate the environment for a service and print the resulting config (secrets redacted)')
    .addArgument(
      new Argument('[service]', 'service to check (default: each service on its own)').choices([
        ...SERVICE_NAMES,
        ...Object.keys(SERVICE_ALIASES),
      ]),
    )
    .action((service: string | undefined) => {
      const names: ServiceName[] = service ? [serviceNamed(service)!] : EVERY_SERVICE;
      const out: Record<string, unknown> = {};
      const warned = new Set<string>();
      let ok = true;
      for (const name of names) {
        const cfg = loadOrReport(ctx, name, SERVICE_CONFIGS[name] as (env: Env) => object);
        if (cfg === null) ok = false;
        else {
          out[name] = describeConfig(cfg);
          // Services reading the same variable share its warning: printed once.
          for (const w of configWarnings(cfg)) if (!warned.has(w.message)) warned.add(w.message);
        }
      }
      for (const w of warned) ctx.err(`warning: ${w}\n`);
      if (ok) ctx.out(`${JSON.stringify(out, null, 2)}\n`);
      const ignored = ignoredVariables(ctx.env);
      if (ignored.length > 0)
        ctx.err(`warning: variables not read by quantum-apply: ${ignored.join(', ')}\n`);
      ctx.exitCode = ok ? EXIT_OK : EXIT_CONFIG;
    });
}
