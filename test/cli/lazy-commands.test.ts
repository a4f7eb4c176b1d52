/**
 * main() imports only the module of the command asked for (so `all` does not carry the paper
 * exchange, the demo or the inspect views, and `plan-id` neither Redis nor the exchange), and
 * the name → module table matches what each module registers.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createContext } from '../../src/cli/context.js';

const MODULES: Record<string, string> = {
  demo: '../../src/cli/commands/demo.js',
  'check-config': '../../src/cli/commands/check-config.js',
  'plan-id': '../../src/cli/plan-id.js',
  apply: '../../src/cli/commands/apply.js',
  all: '../../src/cli/commands/all.js',
  'paper-exchange': '../../src/cli/commands/paper-exchange.js',
  propose: '../../src/cli/commands/propose.js',
  governor: '../../src/cli/commands/governor.js',
  'position-brain': '../../src/cli/commands/position-brain.js',
  arm: '../../src/cli/commands/arm.js',
  disarm: '../../src/cli/commands/disarm.js',
  status: '../../src/cli/commands/status.js',
  ledger: '../../src/cli/commands/ledger.js',
  explain: '../../src/cli/commands/explain.js',
  canary: '../../src/cli/commands/canary.js',
  acl: '../../src/cli/commands/acl.js',
  history: '../../src/cli/commands/history.js',
  replay: '../../src/cli/commands/replay.js',
  recorder: '../../src/cli/commands/recorder.js',
};

const loaded: string[] = [];
let cli: typeof import('../../src/cli/main.js');

beforeAll(async () => {
  // Each command module records its first import, then behaves as itself.
  for (const [name, path] of Object.entries(MODULES)) {
    vi.doMock(path, async (importOriginal) => {
      loaded.push(name);
      return importOriginal();
    });
  }
  cli = await import('../../src/cli/main.js');
});
afterAll(() => {
  for (const path of Object.values(MODULES)) vi.doUnmock(path);
});

async function run(args: string[], env: Record<string, string> = {}) {
  const err: string[] = [];
  const code = await cli.main(['node', 'quantum-apply', ...args], {
    env,
    stdout: () => undefined,
    stderr: (t) => void err.push(t),
    waitForStop: async () => 'test',
    handleProcessErrors: false,
  });
  return { code, err: err.join('') };
}

describe('cli: one command module per run', () => {
  // These two run first: a module, once imported, stays imported for the rest of the file.
  it('when check-config runs then only its module is imported', async () => {
    const before = loaded.length;
    expect((await run(['check-config', 'apply'])).code).toBe(0);
    expect(loaded.slice(before)).toEqual(['check-config']);
  });

  it('when all runs (and refuses a bad env) then only it and the services it composes (the recorder too) are imported', async () => {
    const before = loaded.length;
    // A bad LOG_LEVEL: refused before anything connects (should it go on, nothing listens).
    const r = await run(['all'], {
      LOG_LEVEL: 'loud',
      REDIS_URL: 'redis://127.0.0.1:1',
      BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:1',
    });
    expect(r.code).toBe(2);
    expect(loaded.slice(before).sort()).toEqual(['all', 'apply', 'governor', 'position-brain', 'recorder']);
  });

  it('when the table is read then every command name maps to a module registering exactly that name', async () => {
    expect([...cli.COMMAND_NAMES].sort()).toEqual(Object.keys(MODULES).sort());
    for (const name of cli.COMMAND_NAMES) {
      const program = await cli.buildProgram(createContext({ env: {} }), [name]);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
    }
  });

  it('when help or an unknown command is asked for then every command is there to list or suggest', () => {
    expect(cli.commandsFor(['node', 'q', '--help'])).toEqual(cli.COMMAND_NAMES);
    expect(cli.commandsFor(['node', 'q', 'help', 'all'])).toEqual(cli.COMMAND_NAMES);
    expect(cli.commandsFor(['node', 'q', 'statu'])).toEqual(cli.COMMAND_NAMES);
    expect(cli.commandsFor(['node', 'q'])).toEqual(cli.COMMAND_NAMES);
    expect(cli.commandsFor(['node', 'q', 'position-brain', '--help'])).toEqual(['position-brain']);
  });
});
