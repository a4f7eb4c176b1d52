import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/signal-service.ts', import.meta.url));

interface Run {
  code: number | null;
  err: string;
  lines: { msg: string; i?: number; exitCode?: number }[];
}

function runFixture(mode: string, onStarted: (kill: () => void) => void): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', FIXTURE_MODE: mode },
  });
  let out = '';
  let err = '';
  let started = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!started && out.includes('"svc started"')) {
      started = true;
      onStarted(() => child.kill('SIGTERM'));
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) =>
      resolve({
        code,
        err,
        lines: out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Run['lines'][number]),
      }),
    ),
  );
}

describe('service process', () => {
  it('when SIGTERM arrives then it drains, flushes every log line, closes its server and exits 0 by itself', async () => {
    const r = await runFixture('normal', (kill) => kill());
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines.filter((l) => l.msg === 'drained')).toHaveLength(500);
    expect(r.lines.at(-1)).toMatchObject({ msg: 'svc stopped', exitCode: 0 });
  });

  it('when a promise rejection goes unhandled then it stops gracefully and exits 1', async () => {
    const r = await runFixture('reject', () => {});
    expect(r.code).toBe(1);
    expect(r.lines.some((l) => l.msg === 'svc unhandled rejection; stopping')).toBe(true);
    expect(r.lines.filter((l) => l.msg === 'drained')).toHaveLength(500);
    expect(r.lines.at(-1)).toMatchObject({ msg: 'svc stopped', exitCode: 1 });
  });
});
