import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/signal-service.ts', import.meta.url));

describe('service process', () => {
  it('when SIGTERM arrives then it drains, flushes every log line, closes its server and exits 0 by itself', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let out = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!signalled && out.includes('"svc started"')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; i?: number });
    expect(lines.filter((l) => l.msg === 'drained')).toHaveLength(500);
    expect(lines.at(-1)).toMatchObject({ msg: 'svc stopped', exitCode: 0 });
  });
});
