/**
 * A local 3-master Redis Cluster for tests: three redis-server --cluster-enabled processes on
 * free loopback ports (node files in a temp dir), joined with `redis-cli --cluster create`,
 * stopped by PID. Skips when redis-cli is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REDIS_BIN } from '../helpers/redis-server.js';
import { sleep } from '../helpers/wait.js';

export const clusterAvailable = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

export interface LocalCluster {
  ports: number[];
  stop(): Promise<void>;
}

export async function startCluster(): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'qa-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = ports.map((p) =>
    spawn(
      REDIS_BIN,
      [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${p}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--notify-keyspace-events',
        'K$hgx',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            c.once('exit', () => res());
            c.kill('SIGKILL');
          }),
      ),
    );
  };
  try {
    for (const p of ports) {
      for (
        let i = 0;
        spawnSync('redis-cli', ['-p', String(p), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG';
        i++
      ) {
        if (i > 200) throw new Error(`cluster node ${p} did not start`);
        await sleep(25);
      }
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`cluster create failed: ${create.stdout}${create.stderr}`);
    for (let i = 0; ; i++) {
      const info = spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], {
        encoding: 'utf8',
      }).stdout;
      if (info.includes('cluster_state:ok')) break;
      if (i > 400) throw new Error('cluster did not reach cluster_state:ok');
      await sleep(25);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, stop };
}
