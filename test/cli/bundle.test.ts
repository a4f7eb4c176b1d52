/**
 * The deployed artifact: bin/quantum-apply.js over the esbuild bundle (scripts/bundle.ts), built
 * fresh from src into a temporary install and run as its own process. The other CLI suites run
 * src in-process; this one checks what only the bundle can get wrong: the Lua scripts found beside
 * the chunks, package.json's version two levels up, node's own modules required from CommonJS
 * packages, and the commands loaded lazily.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, ROOT } from '../../scripts/bundle.js';
import { skipRedis } from '../helpers/redis-server.js';
import { proposeHalfCloseAndAwaitResult, startCliRig } from '../helpers/cli.js';

let install: string;
let files: string[];

beforeAll(async () => {
  install = mkdtempSync(join(tmpdir(), 'qa-bundle-'));
  mkdirSync(join(install, 'bin'));
  cpSync(join(ROOT, 'bin/quantum-apply.js'), join(install, 'bin/quantum-apply.js'));
  cpSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  ({ files } = await bundleCli(join(install, 'dist', 'bundle')));
}, 60_000);
afterAll(() => {
  if (install) rmSync(install, { recursive: true, force: true });
});

interface Proc {
  out: string[];
  err: string[];
  stop(): void;
  done: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Proc {
  // No node_modules in the install: the bundle must carry every package it uses.
  const child = spawn(process.execPath, [join(install, 'bin/quantum-apply.js'), ...args], {
    cwd: install,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => err.push(d.toString()));
  return {
    out,
    err,
    stop: () => child.kill('SIGTERM'),
    done: new Promise((res) => child.once('exit', (code) => res(code))),
  };
}

describe('the bundled CLI (bin/quantum-apply.js over dist/bundle)', () => {
  it('when built then every command is its own entry, with its source map and the Lua scripts beside', () => {
    for (const command of readdirCommands()) {
      expect(files).toContain(`${command}.js`);
      expect(files).toContain(`${command}.js.map`);
    }
    expect(files).toContain('main.js');
    expect(files).toContain('lua');
    // Identifiers are kept: a stack trace names our functions.
    const all = readFileSync(join(install, 'dist/bundle/all.js'), 'utf8');
    expect(all).toMatch(/async function startAll\(/);
  });

  it('when asked for its version then it prints package.json', async () => {
    const p = run(['--version']);
    expect(await p.done).toBe(0);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(p.out.join('').trim()).toBe(version);
  });

  it('when a variable is bad then it names it and exits 2', async () => {
    const p = run(['check-config', 'apply'], { APPLY_PERMIT_WAIT_MS: 'soon' });
    expect(await p.done).toBe(2);
    expect(p.err.join('')).toContain('APPLY_PERMIT_WAIT_MS');
  });

  describe.skipIf(skipRedis)('on Redis', () => {
    let rig: Awaited<ReturnType<typeof startCliRig>>;
    beforeAll(async () => {
      rig = await startCliRig({ BTCUSDT: 0.1 });
    });
    afterAll(async () => {
      await rig?.close();
    });

    it('when `all` gets a proposal then it grants, orders once, publishes the result and stops with exit 0 on SIGTERM', async () => {
      const { store, paper } = rig;
      const p = run(['all'], {
        ...rig.env,
        SYMBOLS: 'BTCUSDT',
        APPLY_ALLOWLIST: 'BTCUSDT',
        LOG_LEVEL: 'info',
      });
      try {
        const result = await proposeHalfCloseAndAwaitResult(store, 'BTCUSDT');
        expect(result.fields, JSON.stringify(result.fields)).toMatchObject({
          decision: 'EXECUTE',
          executed: 'True',
        });
        expect(paper.state.orders).toHaveLength(1);
        expect(paper.state.orders[0]).toMatchObject({
          symbol: 'BTCUSDT',
          side: 'SELL',
          executedQty: '0.050',
        });
      } finally {
        p.stop();
      }
      expect(await p.done, p.err.join('')).toBe(0);
      // The logs are pino JSON lines on stdout.
      const lines = p.out.join('').trim().split('\n');
      expect(lines.every((l) => JSON.parse(l) !== null)).toBe(true);
    });
  });
});

function readdirCommands(): string[] {
  return readdirSync(join(ROOT, 'src/cli/commands'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3));
}
