/**
 * A local Redis Cluster for tests: `masters` masters with `replicas` replicas each, as
 * redis-server --cluster-enabled processes on free loopback ports (node files in a temp dir),
 * joined with `redis-cli --cluster create`, stopped by PID. A short `nodeTimeoutMs` makes a
 * replica take over a killed master within seconds. Skips when redis-cli is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REDIS_BIN } from './redis-server.js';
import { sleep, until } from './wait.js';

export const clusterAvailable = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

export interface ClusterNode {
  port: number;
  id: string;
  role: 'master' | 'replica';
  /** Slot ranges served (masters), e.g. [[0, 5460]]. */
  slots: [number, number][];
  /** A replica's master id. */
  masterId: string | null;
  failed: boolean;
}

export interface LocalCluster {
  ports: number[];
  /** CLUSTER NODES as seen from a live node. */
  nodes(): Promise<ClusterNode[]>;
  /** The master serving `slot` now. */
  masterOf(slot: number): Promise<ClusterNode>;
  /** SIGKILL of the node on `port`. */
  kill(port: number): void;
  /** Waits until a live master serves every slot and the cluster says ok. */
  awaitHealthy(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export function redisCli(port: number, ...args: string[]): string {
  return (
    spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 }).stdout ?? ''
  );
}

export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.split(' ');
      const f = (flags ?? '').split(',');
      return {
        id: id ?? '',
        port: Number((addr ?? '').split('@')[0]?.split(':')[1]),
        role: f.includes('master') ? ('master' as const) : ('replica' as const),
        masterId: master === '-' ? null : (master ?? null),
        failed: f.includes('fail') || f.includes('fail?'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-');
            return [Number(a), Number(b ?? a)] as [number, number];
          }),
      };
    });
}

export async function startCluster(
  opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'qa-cluster-'));
  const total = (opts.masters ?? 3) * (1 + (opts.replicas ?? 0));
  const ports: number[] = [];
  for (let i = 0; i < total; i++) ports.push(await freePort());
  const children = new Map<number, ChildProcess>();
  for (const p of ports) {
    const args = [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${p}.conf`),
      '--cluster-node-timeout',
      String(opts.nodeTimeoutMs ?? 15_000),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--notify-keyspace-events',
      'K$hgx',
    ];
    children.set(p, spawn(REDIS_BIN, args, { stdio: 'ignore' }));
  }
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            c.once('exit', () => res());
            c.kill('SIGKILL');
          }),
      ),
    );
  };
  const alive = () =>
    ports.filter((p) => {
      const c = children.get(p);
      return c !== undefined && c.exitCode === null && c.signalCode === null;
    });
  const nodes = async () => {
    for (const p of alive()) {
      const text = redisCli(p, 'cluster', 'nodes');
      if (text.trim() !== '') return parseClusterNodes(text);
    }
    throw new Error('no cluster node answers');
  };
  const awaitHealthy = async (ms = 30_000) => {
    await until(
      async () => {
        const live = new Set(alive());
        for (const p of live) {
          if (!redisCli(p, 'cluster', 'info').includes('cluster_state:ok')) return false;
        }
        const ns = await nodes();
        const served = ns
          .filter((n) => n.role === 'master' && live.has(n.port) && !n.failed)
          .flatMap((n) => n.slots)
          .reduce((a, [x, y]) => a + (y - x + 1), 0);
        return served === 16384;
      },
      ms,
      'a healthy cluster',
      100,
    );
  };
  try {
    for (const p of ports) {
      for (let i = 0; redisCli(p, 'ping').trim() !== 'PONG'; i++) {
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
        String(opts.replicas ?? 0),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`cluster create failed: ${create.stdout}${create.stderr}`);
    await awaitHealthy();
    // Replicas in sync, so a failover has the data.
    await until(
      () => ports.every((p) => !redisCli(p, 'info', 'replication').includes('master_link_status:down')),
      30_000,
      'replicas in sync',
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ports,
    nodes,
    masterOf: async (slot) => {
      const n = (await nodes()).find(
        (x) => x.role === 'master' && !x.failed && x.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!n) throw new Error(`no master serves slot ${slot}`);
      return n;
    },
    kill: (port) => children.get(port)?.kill('SIGKILL'),
    awaitHealthy,
    stop,
  };
}
