/**
 * Builds the floor (bench/lib/floor) into one file beside the compiled CLI and starts its three
 * roles as processes named like the services they stand for, so a session's reports line up.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serviceProcess, WORK, type ServiceProcess } from '../pipeline-rig.js';

const BUNDLE = join(WORK, 'floor.mjs');

export function buildFloor(): void {
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/esbuild'),
    [
      join(ROOT, 'bench/lib/floor/worker.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--packages=external',
      `--outfile=${BUNDLE}`,
      '--log-level=warning',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`floor build failed:\n${r.stdout}\n${r.stderr}`);
}

const ROLE = { apply: 'apply', governor: 'governor', 'position-brain': 'p33' } as const;

export async function spawnFloor(
  name: keyof typeof ROLE,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const errFile = join(WORK, `floor-${name}.stderr.log`);
  const errFd = openSync(errFile, 'w');
  const child = spawn(process.execPath, [BUNDLE, ROLE[name]], {
    cwd: WORK,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', errFd],
  });
  closeSync(errFd);
  const out = child.stdout;
  if (!out) throw new Error('floor: no stdout pipe');
  const proc = serviceProcess(name, child, 0, 5000);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`floor ${name} not ready within 15 s; see ${errFile}`)),
      15_000,
    );
    out.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`floor ${name} exited (${code}); see ${errFile}`)));
  });
  out.resume();
  return proc;
}
