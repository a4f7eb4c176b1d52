import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { createContext, EXIT_FAILURE, type CliContext, type CliIo } from './util.js';
import * as all from './commands/all.js';
import * as apply from './commands/apply.js';
import * as checkConfig from './commands/check-config.js';
import * as demo from './commands/demo.js';
import * as paperExchange from './commands/paper-exchange.js';
import * as planId from './plan-id.js';
import * as arm from './commands/arm.js';
import * as disarm from './commands/disarm.js';
import * as governor from './commands/governor.js';
import * as positionBrain from './commands/position-brain.js';
import * as status from './commands/status.js';
import * as explain from './commands/explain.js';
import * as acl from './commands/acl.js';

export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

/** Every subcommand, one module each under ./commands (add a line here to add a command). */
const COMMANDS: CommandModule[] = [demo, checkConfig, planId, apply, all, paperExchange];

/** The risk authorities and the arm state (kept apart from COMMANDS so edits do not collide). */
const AUTHORITY_COMMANDS: CommandModule[] = [governor, positionBrain, arm, disarm, status, explain];

/** Security tooling (SECURITY.md). */
const SECURITY_COMMANDS: CommandModule[] = [acl];

function packageVersion(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('quantum-apply')
    .description('Permit-gated exit execution for Binance USD-M futures')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  for (const cmd of [...COMMANDS, ...AUTHORITY_COMMANDS, ...SECURITY_COMMANDS]) cmd.register(program, ctx);
  return program;
}

/** Runs the CLI; resolves with the process exit code. `io` injects env and output for tests. */
export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const ctx = createContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    ctx.err(`quantum-apply: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
