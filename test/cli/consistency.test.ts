/**
 * One CLI contract for every command: exit codes (0 ok, 1 runtime failure, 2 usage or config
 * error), `--env-file` before or after the command, the service names (`position-brain`, alias
 * `p33`), `check-config` over every service and `all`, and each service's help listing the
 * variables its loader reads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandsFor } from '../../src/cli/main.js';
import { SERVICE_CONFIGS, SERVICE_NAMES, variablesReadBy } from '../../src/ops/config/per-service.js';
import { runCli } from '../helpers/cli.js';

async function run(args: string[], env: Record<string, string> = {}) {
  const r = runCli(args, env);
  const code = await r.done;
  return { code, out: r.out.join(''), err: r.err.join('') };
}

const dir = mkdtempSync(join(tmpdir(), 'qa-env-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function envFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('cli exit codes', () => {
  it.each([
    ['--help', ['--help']],
    ['--version', ['--version']],
    ['a subcommand --help', ['explain', '--help']],
  ])('when %s is asked for then it exits 0', async (_n, args) => {
    expect((await run(args)).code).toBe(0);
  });

  it.each([
    ['an unknown command', ['launch-rockets'], "unknown command 'launch-rockets'"],
    ['an unknown option', ['status', '--bogus'], "unknown option '--bogus'"],
    ['a missing argument', ['explain'], "missing required argument 'plan_id'"],
    ['a value outside the choices', ['check-config', 'nosuch'], 'nosuch'],
    ['no command', [], 'Usage: quantum-apply'],
  ])('when given %s then it exits 2 (usage) and says why', async (_n, args, text) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(text);
  });

  it('when a config is bad then it exits 2; when Redis cannot be reached then 1', async () => {
    expect((await run(['status'], { APPLY_MODE: 'yolo' })).code).toBe(2);
    const down = await run(['status'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.err).toContain('cannot reach Redis');
  });
});

describe('service names', () => {
  it('when p33 is given then position-brain runs (its config, its name in messages)', async () => {
    expect(commandsFor(['node', 'quantum-apply', 'p33'])).toEqual(['position-brain']);
    const r = await run(['p33'], { P33_POLL_SEC: 'never' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('quantum-apply position-brain:');
    expect(r.err).toContain('P33_POLL_SEC');
  });

  it('when --env-file comes first then only the named command is loaded', () => {
    expect(commandsFor(['node', 'quantum-apply', '--env-file', 'x.env', 'apply'])).toEqual(['apply']);
    expect(commandsFor(['node', 'quantum-apply', '--env-file=x.env', 'p33'])).toEqual(['position-brain']);
  });

  it.each([
    ['apply', 'apply'],
    ['governor', 'governor'],
    ['position-brain', 'position-brain'],
    ['p33', 'position-brain'],
    ['paper-exchange', 'paper-exchange'],
    ['paper', 'paper-exchange'],
    ['all', 'all'],
  ])('when check-config %s runs then it prints the config under %s and exits 0', async (arg, key) => {
    const r = await run(['check-config', arg]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as Record<string, Record<string, unknown>>;
    expect(Object.keys(printed)).toEqual([key]);
    if (key === 'all')
      expect(Object.keys(printed.all!)).toEqual(expect.arrayContaining(['apply', 'governor', 'p33']));
  });

  it('when check-config has no argument then each service is printed on its own', async () => {
    const r = await run(['check-config']);
    expect(Object.keys(JSON.parse(r.out) as object)).toEqual([
      'apply',
      'governor',
      'position-brain',
      'paper-exchange',
      'recorder',
    ]);
  });

  it.each(SERVICE_NAMES)(
    'when %s --help is asked for then it lists every variable its loader reads',
    async (name) => {
      const r = await run([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Global Options:[^]*--env-file <path>/);
      const listed = /Environment variables read[^\n]*\n[^\n]*\n([\s\S]*)$/.exec(r.out)?.[1] ?? '';
      expect(listed.split(/\s+/).filter(Boolean).sort()).toEqual(variablesReadBy(SERVICE_CONFIGS[name]));
    },
  );

  it('when the services list their variables then each lists its own only', () => {
    const apply = variablesReadBy(SERVICE_CONFIGS.apply);
    const p33 = variablesReadBy(SERVICE_CONFIGS['position-brain']);
    expect(apply).toContain('APPLY_POLL_SEC');
    expect(apply).not.toContain('P33_POLL_SEC');
    expect(p33).toContain('P33_POLL_SEC');
    expect(p33).not.toContain('APPLY_POLL_SEC');
  });
});

describe('--env-file', () => {
  const file = () =>
    envFile(
      'governor.env',
      [
        '# the governor of the test box',
        'GOV_MAX_EXEC_PER_HOUR=7',
        'export GOV_MAX_EXEC_PER_5MIN = 4   # inline comment',
        "APPLY_ALLOWLIST='BTCUSDT,ETHUSDT'",
        'BINANCE_TESTNET_API_KEY="tk # not a comment"',
        '',
      ].join('\n'),
    );

  it.each([
    ['before the command', (f: string) => ['--env-file', f, 'check-config', 'governor']],
    ['after the command', (f: string) => ['check-config', 'governor', '--env-file', f]],
    ['as --env-file=', (f: string) => [`--env-file=${f}`, 'check-config', 'governor']],
  ])('when given %s then its variables are read', async (_n, args) => {
    const r = await run(args(file()));
    expect(r.code).toBe(0);
    const g = (JSON.parse(r.out) as { governor: { maxExecPerHour: number; maxExecPer5Min: number } })
      .governor;
    expect(g).toMatchObject({ maxExecPerHour: 7, maxExecPer5Min: 4 });
    expect(r.out).not.toContain('tk # not a comment');
  });

  it('when a variable is both in the environment and in the file then the environment wins', async () => {
    const r = await run(['--env-file', file(), 'check-config', 'governor'], { GOV_MAX_EXEC_PER_HOUR: '9' });
    expect((JSON.parse(r.out) as { governor: { maxExecPerHour: number } }).governor.maxExecPerHour).toBe(9);
  });

  it('when the file cannot be read then it exits 2 naming the path, and the command does not run', async () => {
    const missing = join(dir, 'missing.env');
    const r = await run(['check-config', '--env-file', missing]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(missing);
    expect(r.out).toBe('');
  });

  it('when a line is not KEY=VALUE then it exits 2 naming the line, never its text', async () => {
    const bad = envFile('bad.env', 'LOG_LEVEL=info\nBINANCE_TESTNET_API_SECRET "s3cret-771"\n');
    const r = await run(['--env-file', bad, 'check-config', 'apply']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}: line 2`);
    expect(r.err).not.toContain('s3cret-771');
  });

  it('when a file variable is bad then the config error names it and exits 2', async () => {
    const bad = envFile('loud.env', 'LOG_LEVEL=loud\n');
    const r = await run(['check-config', 'apply', '--env-file', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('LOG_LEVEL');
  });
});
