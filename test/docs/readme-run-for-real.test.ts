/**
 * README.md "Run it for real", run as written: the fenced block under that heading, command by
 * command, in bash, against the CLI as `npm ci` builds it. It fails when the README and the
 * behaviour drift apart (a flag renamed, a default that stops the order, a command added that
 * does not work).
 *
 * What the test changes, and only that:
 *  - `npm ci` is not run: the same esbuild bundle it builds (scripts/bundle.ts) is built into a
 *    temporary install, and every command runs there (so `node bin/quantum-apply.js` and the
 *    `> x.log` files are that install's, and a stale dist/ in the clone cannot pass or fail it);
 *  - the `redis-server` line is replaced by a private server (test/helpers/redis-server.ts), and
 *    its port replaces 6390 everywhere; the paper exchange's 8090 becomes a free port;
 *  - every command gets APPLY_METRICS_PORT, METRICS_PORT and P33_METRICS_PORT = 0 in its
 *    environment (the defaults 8043-8045 would collide with other test files running alongside);
 *  - a command ending in `&` is started as a child (killed by pid at the end), and the next
 *    command waits until it says it is up (`listening on`, `<service> started`), as a person would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, ROOT } from '../../scripts/bundle.js';
import { freePort, skipRedis, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { until, sleep } from '../helpers/wait.js';

const HEADING = '## Run it for real';
const README_REDIS_PORT = '6390';
const README_PAPER_PORT = '8090';

/** The commands of the first ```sh block under HEADING (comment-only lines dropped). */
export function runForRealCommands(readme: string): string[] {
  const at = readme.indexOf(`\n${HEADING}\n`);
  if (at < 0) throw new Error(`README.md has no "${HEADING}" section`);
  const section = readme.slice(at + 1).split(/\n## /)[0]!;
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error(`"${HEADING}" has no \`\`\`sh block`);
  return block[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

interface Started {
  line: string;
  child: ChildProcess;
  out: string[];
  /** Where its output goes: the `> file` it redirects to, or its stdout. */
  output(): string;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const commands = runForRealCommands(readme);

let install: string;
let redis: RedisServerHandle | undefined;
const started: Started[] = [];

function exportsOf(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of line.replace(/^export\s+/, '').split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`export: expected NAME=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function run(line: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn('bash', ['-c', line], { cwd: install, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out: out.join('') })));
}

function startInBackground(line: string, env: Record<string, string>): Started {
  const command = line.replace(/&$/, '').trim();
  // `exec`: the child's pid is the command's own, so killing it stops the command.
  const child = spawn('bash', ['-c', `exec ${command}`], {
    cwd: install,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  const target = /(?:^|\s)>\s*(\S+)/.exec(command)?.[1];
  const output = () => {
    const file = target === undefined ? null : join(install, target);
    return out.join('') + (file !== null && existsSync(file) ? readFileSync(file, 'utf8') : '');
  };
  const s: Started = { line, child, out, output };
  started.push(s);
  return s;
}

beforeAll(async () => {
  install = mkdtempSync(join(tmpdir(), 'qa-readme-'));
  mkdirSync(join(install, 'bin'));
  cpSync(join(ROOT, 'bin/quantum-apply.js'), join(install, 'bin/quantum-apply.js'));
  cpSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  await bundleCli(join(install, 'dist', 'bundle'));
}, 60_000);

afterAll(async () => {
  for (const s of started) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    const exited = new Promise((r) => s.child.once('exit', r));
    s.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  }
  await redis?.stop();
  if (install) rmSync(install, { recursive: true, force: true });
}, 30_000);

describe('README "Run it for real"', () => {
  it('when read then it is at most 10 commands, names APPLY_MODE=testnet, and runs the three services apart', () => {
    expect(commands.length).toBeLessThanOrEqual(10);
    expect(commands.join('\n')).toContain('APPLY_MODE=testnet');
    for (const service of ['paper-exchange', 'position-brain', 'governor', 'apply']) {
      expect(commands.some((c) => c.includes(`quantum-apply.js ${service}`) && c.endsWith('&'))).toBe(true);
    }
    expect(commands.some((c) => c.includes('propose'))).toBe(true);
  });

  it.skipIf(skipRedis)(
    'when its commands run one by one then propose prints an executed result and the order is at the paper exchange',
    async () => {
      const paperPort = String(await freePort());
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? install,
        APPLY_METRICS_PORT: '0',
        METRICS_PORT: '0',
        P33_METRICS_PORT: '0',
      };
      const outputs: { command: string; out: string }[] = [];
      for (const written of commands) {
        if (/^npm ci\b/.test(written)) continue;
        if (/^redis-server\b/.test(written)) {
          expect(written).toContain(`--port ${README_REDIS_PORT}`);
          redis = await startRedis();
          continue;
        }
        if (redis === undefined) throw new Error(`"${written}" comes before the redis-server line`);
        const line = written
          .replaceAll(README_REDIS_PORT, String(redis.port))
          .replaceAll(README_PAPER_PORT, paperPort);
        if (line.startsWith('export ')) {
          Object.assign(env, exportsOf(line));
          continue;
        }
        if (line.endsWith('&')) {
          const s = startInBackground(line, env);
          await until(
            () => {
              if (s.child.exitCode !== null)
                throw new Error(`"${written}" exited ${s.child.exitCode}: ${s.output()}`);
              return /listening on|"msg":"[a-z-]+ started"/.test(s.output());
            },
            20_000,
            `"${written}" to start`,
          );
          continue;
        }
        const r = await run(line, env);
        expect({ command: written, code: r.code, out: r.out }).toMatchObject({ command: written, code: 0 });
        outputs.push({ command: written, out: r.out });
      }

      const proposed = outputs.find((o) => o.command.includes(' propose '))?.out ?? '';
      expect(proposed).toMatch(/^[0-9a-f]{16}\n/);
      expect(proposed).toContain('decision=EXECUTE executed=True');
      const planId = proposed.slice(0, 16);
      const orders = (await (await fetch(`http://127.0.0.1:${paperPort}/paper/orders`)).json()) as Array<{
        clientOrderId: string;
        status: string;
        reduceOnly: boolean;
      }>;
      expect(orders).toHaveLength(1);
      expect(orders[0]).toMatchObject({ status: 'FILLED', reduceOnly: true });
      expect(orders[0]!.clientOrderId).toContain(planId);
      // The README's last command shows that order.
      expect(outputs[outputs.length - 1]!.out).toContain(orders[0]!.clientOrderId);
    },
    90_000,
  );
});
