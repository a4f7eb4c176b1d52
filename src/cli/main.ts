import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { createContext, EXIT_FAILURE, type CliContext, type CliIo } from './context.js';

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
};

/** Security tooling (SECURITY.md). */
const SECURITY_COMMANDS: Record<string, Loader> = {
  acl: () => import('./commands/acl.js'),
};

const LOADERS: Record<string, Loader> = { ...COMMANDS, ...AUTHORITY_COMMANDS, ...SECURITY_COMMANDS };

/** Every command name main() knows, in help order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(LOADERS);

function packageVersion(): string {
  // src/cli/main.ts, dist/cli/main.js and dist/bundle/main.js all sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

/**
 * The commands an argv needs: the subcommand named first (argv[2], as commander reads
 * `process.argv`), or every command for anything else (help, an option, an unknown name).
 */
export function commandsFor(argv: readonly string[]): string[] {
  const first = argv[2];
  if (first !== undefined && Object.hasOwn(LOADERS, first)) return [first];
  return [...COMMAND_NAMES];
}

/** The program with the given commands registered (default: every command). */
export async function buildProgram(
  ctx: CliContext,
  names: readonly string[] = COMMAND_NAMES,
): Promise<Command> {
  const program = new Command('quantum-apply')
    .description('Permit-gated exit execution for Binance USD-M futures')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  const modules = await Promise.all(names.map((n) => LOADERS[n]!()));
  for (const m of modules) m.register(program, ctx);
  return program;
}

/** Runs the CLI; resolves with the process exit code. `io` injects env and output for tests. */
export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const ctx = createContext(io);
  try {
    const program = await buildProgram(ctx, commandsFor(argv));
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    ctx.err(`quantum-apply: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
