import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/main.js';
import { createContext } from '../../src/cli/util.js';
import type { Env } from '../../src/ops/config.js';

async function run(args: string[], env: Env = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'quantum-apply', ...args], {
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    // A command that wrongly went on past a bad config must not wait for a real signal.
    waitForStop: async () => 'test',
    handleProcessErrors: false,
    opsHost: '127.0.0.1',
  });
  return { code, out: out.join(''), err: err.join('') };
}

// Long-running service commands (those registered so far); each must refuse a bad env with exit 2.
const SERVICES = new Set(['apply', 'governor', 'position-brain', 'paper-exchange', 'all']);
const serviceCommands = (await buildProgram(createContext({ env: {} }))).commands
  .map((c) => c.name())
  .filter((n) => SERVICES.has(n));

describe('cli main', () => {
  it('when --version is given then it prints the package.json version and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await run(['--version']);
    expect(r).toMatchObject({ code: 0, out: `${pkg.version}\n` });
  });

  it('when --help is given then it lists the commands and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Commands:/);
    expect(r.out).toMatch(/\bdemo\b/);
    expect(r.out).toMatch(/\bcheck-config\b/);
  });

  it('when a subcommand is asked for help then it exits 0 without running it', async () => {
    const r = await run(['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: quantum-apply demo/);
  });

  it('when the command is unknown then it exits non-zero with a message on stderr', async () => {
    const r = await run(['launch-rockets']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("unknown command 'launch-rockets'");
  });

  it('when check-config sees a bad env then it exits 2 and lists every bad variable without secrets', async () => {
    const secret = 'TOPSECRET-0042';
    const r = await run(['check-config', 'apply'], {
      APPLY_POLL_SEC: 'soon',
      K_BLOCK_CRITICAL: '2',
      BINANCE_TESTNET_API_SECRET: ` ${secret} `,
    });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    for (const name of ['APPLY_POLL_SEC', 'K_BLOCK_CRITICAL', 'BINANCE_TESTNET_API_SECRET']) {
      expect(r.err).toContain(name);
    }
    expect(r.err).not.toContain(secret);
  });

  it('when check-config sees a good env then it exits 0 and prints the redacted config', async () => {
    const r = await run(['check-config', 'governor'], {
      GOV_MAX_EXEC_PER_HOUR: '5',
      BINANCE_TESTNET_API_KEY: 'tk-123456',
      BINANCE_TESTNET_API_SECRET: 'ts-123456',
    });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as { governor: { maxExecPerHour: number; binance: object } };
    expect(printed.governor.maxExecPerHour).toBe(5);
    expect(printed.governor.binance).toMatchObject({ apiKey: '<redacted>', apiSecret: '<redacted>' });
    expect(r.out).not.toContain('tk-123456');
  });

  it('when check-config has no argument then every service is checked', async () => {
    const r = await run(['check-config'], { P33_POLL_SEC: '-1', PAPER_EXCHANGE_PORT: 'x' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('P33_POLL_SEC');
    expect(r.err).toContain('PAPER_EXCHANGE_PORT');
    expect((await run(['check-config'])).code).toBe(0);
  });

  it('when check-config sees a misspelt variable then it warns with the name only and still exits 0', async () => {
    const r = await run(['check-config', 'apply'], { APPLY_KILLSWITCH: 'on-7731' });
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: variables not read by quantum-apply: APPLY_KILLSWITCH');
    expect(r.err).not.toContain('on-7731');
  });

  it.each([
    ['apply', { APPLY_MODE: 'yolo', K_BLOCK_WARNING: '0.95' }, ['APPLY_MODE', 'K_BLOCK_WARNING']],
    ['paper-exchange', { PAPER_EXCHANGE_PORT: 'eighty' }, ['PAPER_EXCHANGE_PORT']],
  ])(
    'when the %s service command sees a bad env then it exits 2 before connecting anywhere',
    async (cmd, env, names) => {
      const r = await run([cmd], env);
      expect(r.code).toBe(2);
      for (const n of names) expect(r.err).toContain(n);
    },
  );

  it('when the program is built then the service commands are registered', () => {
    expect(serviceCommands).toEqual(expect.arrayContaining(['apply', 'paper-exchange']));
  });

  it.each(serviceCommands)(
    'when the registered command %s sees a bad LOG_LEVEL then it exits 2',
    async (cmd) => {
      const r = await run([cmd], {
        LOG_LEVEL: 'loud',
        // Should the command go on anyway, it finds nothing to talk to.
        REDIS_URL: 'redis://127.0.0.1:1',
        BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:1',
      });
      expect(r.code).toBe(2);
      expect(r.err).toContain('LOG_LEVEL');
    },
  );
});
