import { Command, CommanderError } from 'commander';
import { ConfigError } from '../ops/config/env.js';
import { EnvFileError, readEnvFile, withEnvFile } from '../ops/config/env-file.js';
import { packageVersion } from './version.js';
import { createContext, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, type CliContext, type CliIo } from './context.js';

export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

type Loader = () => Promise<CommandModule>;

/**
 * Every subcommand, by the name it registers, one module each (add a line here to add a
 * command). Modules are imported only when needed: a run loads the module of the command asked
 * for and nothing else (`all` never loads the paper exchange, the demo or the inspect views;
 * `plan-id` loads neither Redis nor the exchange); help and unknown commands load them all.
 */
const COMMANDS: Record<string, Loader> = {
  demo: () => import('./commands/demo.js'),
  'check-config': () => import('./commands/check-config.js'),
  'plan-id': () => import('./plan-id.js'),
  apply: () => import('./commands/apply.js'),
  all: () => import('./commands/all.js'),
  'paper-exchange': () => import('./commands/paper-exchange.js'),
  propose: () => import('./commands/propose.js'),
};

/** The risk authorities and the arm state (kept apart from COMMANDS so edits do not collide). */
const AUTHORITY_COMMANDS: Record<string, Loader> = {
  governor: () => import('./commands/governor.js'),
  'position-brain': () => import('./commands/position-brain.js'),
  arm: () => import('./commands/arm.js'),
  disarm: () => import('./commands/disarm.js'),
  status: () => import('./commands/status.js'),
  ledger: () => import('./commands/ledger.js'),
  explain: () => import('./commands/explain.js'),
  canary: () => import('./commands/canary.js'),
};

/** Security tooling (SECURITY.md). */
const SECURITY_COMMANDS: Record<string, Loader> = {
  acl: () => import('./commands/acl.js'),
};

/** The history database: what was recorded, and what other settings would have changed. */
const HISTORY_COMMANDS: Record<string, Loader> = {
  history: () => import('./commands/history.js'),
  replay: () => import('./commands/replay.js'),
  recorder: () => import('./commands/recorder.js'),
};

const LOADERS: Record<string, Loader> = {
  ...COMMANDS,
  ...AUTHORITY_COMMANDS,
  ...SECURITY_COMMANDS,
  ...HISTORY_COMMANDS,
};

/** Every command name main() knows, in help order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(LOADERS);

/** Other names of commands (the fleet calls the Position State Brain `p33`). */
const ALIASES: Record<string, string> = { p33: 'position-brain' };

/**
 * The commands an argv needs: the subcommand named first (as commander reads `process.argv`:
 * from argv[2], past a leading `--env-file <path>`), or every command for anything else (help,
 * another option, an unknown name).
 */
export function commandsFor(argv: readonly string[]): string[] {
  let i = 2;
  while (argv[i] === '--env-file' || argv[i]?.startsWith('--env-file='))
    i += argv[i] === '--env-file' ? 2 : 1;
  const first = argv[i];
  const name = first !== undefined ? (ALIASES[first] ?? first) : undefined;
  if (name !== undefined && Object.hasOwn(LOADERS, name)) return [name];
  return [...COMMAND_NAMES];
}

/**
 * The program with the given commands registered (default: every command); with
 * `withVariablesHelp`, each service's help lists the variables it reads (loaded only for help).
 */
export async function buildProgram(
  ctx: CliContext,
  names: readonly string[] = COMMAND_NAMES,
  withVariablesHelp = false,
): Promise<Command> {
  const program = new Command('quantum-apply')
    .description('Permit-gated exit execution for Binance USD-M futures')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
    // Each command's help shows --env-file too: it is the program's, taken after the command.
    .configureHelp({ showGlobalOptions: true })
    .option(
      '--env-file <path>',
      'read variables from a dotenv-style file (KEY=VALUE, # comments, quotes) before the command runs; a variable already in the environment wins over the file',
    );
  // Here, before any action, so every command (those added later too) sees the file's variables.
  program.hook('preAction', () => {
    const path = program.opts<{ envFile?: string }>().envFile;
    if (path === undefined) return;
    try {
      ctx.env = withEnvFile(ctx.env, readEnvFile(path));
    } catch (err) {
      if (!(err instanceof EnvFileError)) throw err;
      program.error(`quantum-apply: ${err.message}`, {
        exitCode: EXIT_CONFIG,
        code: 'quantum-apply.envFile',
      });
    }
  });
  const modules = await Promise.all(names.map((n) => LOADERS[n]!()));
  for (const m of modules) m.register(program, ctx);
  if (withVariablesHelp) {
    const { variablesHelp } = await import('./env-help.js');
    for (const c of program.commands) {
      const text = variablesHelp(c.name());
      if (text !== null) c.addHelpText('after', text);
    }
  }
  return program;
}

/**
 * Runs the CLI; resolves with the process exit code: 0 ok, 1 a runtime failure, 2 a usage or
 * config error. `io` injects env and output for tests.
 */
export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const ctx = createContext(io);
  try {
    const help = argv.slice(2).some((a) => a === '--help' || a === '-h' || a === 'help');
    const program = await buildProgram(ctx, commandsFor(argv), help);
    await program.parseAsync(argv);
    // The three codes are the contract; a command's own other code counts as a failure.
    return [EXIT_OK, EXIT_FAILURE, EXIT_CONFIG].includes(ctx.exitCode) ? ctx.exitCode : EXIT_FAILURE;
  } catch (err) {
    // Commander's own exits: help and --version are 0; every other (an unknown command or
    // option, a missing or invalid argument, no command at all) is a usage error.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_CONFIG;
    ctx.err(`quantum-apply: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }
}
