/**
 * A local Sentinel topology for tests: one master, `replicas` replicas of it and `sentinels`
 * sentinels (`redis-server <conf> --sentinel`), all on free loopback ports, with short timeouts so
 * a failover takes about a second. Servers are private redis-servers (redis-server.ts); every
 * process is stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, REDIS_BIN, startRedis, type RedisServerHandle } from './redis-server.js';
import { until } from './wait.js';

export const SENTINEL_NAME = 'qamaster';

export interface LocalSentinel {
  /** Every data server, the first one the master at start. */
  servers: RedisServerHandle[];
  sentinelPorts: number[];
  /** REDIS_SENTINELS for these sentinels. */
  sentinelsEnv: string;
  /** The port the sentinels name as master now. */
  masterPort(): Promise<number>;
  /** The data server the sentinels name as master now. */
  master(): Promise<RedisServerHandle>;
  /** SENTINEL FAILOVER, then waits until the sentinels name another master that accepts writes. */
  failover(): Promise<number>;
  /** The highest config epoch the sentinels report for the master: it moves once per failover. */
  configEpoch(): Promise<number>;
  /** Waits until the sentinels name a master other than `oldPort` and it is writable. */
  awaitNewMaster(oldPort: number, ms?: number): Promise<number>;
  stop(): Promise<void>;
}

const NOTIFY = 'K$hgx';

function sentinelConf(port: number, masterPort: number, downMs: number): string {
  return [
    `port ${port}`,
    'bind 127.0.0.1',
    'daemonize no',
    'loglevel warning',
    `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${SENTINEL_NAME} ${downMs}`,
    `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
    `sentinel parallel-syncs ${SENTINEL_NAME} 2`,
    '',
  ].join('\n');
}

async function ask(port: number, ...args: string[]): Promise<unknown> {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(args[0] as string, ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

export async function startSentinel(
  opts: { replicas?: number; sentinels?: number; downMs?: number } = {},
): Promise<LocalSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'qa-sentinel-'));
  const servers: RedisServerHandle[] = [];
  const children: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
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
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // A replica writes the RDB it receives into its dir: keep it out of the work tree.
    const master = await startRedis({ notifyKeyspaceEvents: NOTIFY, args: ['--dir', dir] });
    servers.push(master);
    for (let i = 0; i < (opts.replicas ?? 2); i++) {
      servers.push(
        await startRedis({
          notifyKeyspaceEvents: NOTIFY,
          args: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)],
        }),
      );
    }
    for (const s of servers.slice(1)) {
      await until(
        async () => String(await ask(s.port, 'INFO', 'replication')).includes('master_link_status:up'),
        15_000,
        `replica ${s.port} in sync`,
        50,
      );
    }
    for (let i = 0; i < (opts.sentinels ?? 3); i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(conf, sentinelConf(port, master.port, opts.downMs ?? 1000));
      const c = spawn(REDIS_BIN, [conf, '--sentinel'], { stdio: 'ignore' });
      children.push(c);
      sentinelPorts.push(port);
    }
    for (const p of sentinelPorts) {
      await until(
        async () => {
          const reps = (await ask(p, 'SENTINEL', 'REPLICAS', SENTINEL_NAME).catch(() => [])) as unknown[];
          const sens = (await ask(p, 'SENTINEL', 'SENTINELS', SENTINEL_NAME).catch(() => [])) as unknown[];
          return reps.length === servers.length - 1 && sens.length === sentinelPorts.length - 1;
        },
        20_000,
        `sentinel ${p} sees the replicas and the other sentinels`,
        100,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const masterPort = async (): Promise<number> => {
    for (const p of sentinelPorts) {
      const r = (await ask(p, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME).catch(() => null)) as
        string[] | null;
      if (r) return Number(r[1]);
    }
    throw new Error('no sentinel answered');
  };
  const awaitNewMaster = async (oldPort: number, ms = 30_000): Promise<number> =>
    until(
      async () => {
        const p = await masterPort().catch(() => oldPort);
        if (p === oldPort) return null;
        const role = String(await ask(p, 'INFO', 'replication').catch(() => ''));
        return role.includes('role:master') ? p : null;
      },
      ms,
      `a master other than ${oldPort}`,
      100,
    );
  return {
    servers,
    sentinelPorts,
    sentinelsEnv: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
    masterPort,
    master: async () => {
      const p = await masterPort();
      const s = servers.find((x) => x.port === p);
      if (!s) throw new Error(`master port ${p} is none of ours`);
      return s;
    },
    failover: async () => {
      const old = await masterPort();
      await until(
        async () =>
          (await ask(sentinelPorts[0] as number, 'SENTINEL', 'FAILOVER', SENTINEL_NAME).catch(() => null)) ===
          'OK',
        15_000,
        'SENTINEL FAILOVER accepted',
        200,
      );
      return awaitNewMaster(old);
    },
    configEpoch: async () => {
      let epoch = 0;
      for (const p of sentinelPorts) {
        const kv = (await ask(p, 'SENTINEL', 'MASTER', SENTINEL_NAME).catch(() => [])) as string[];
        const i = kv.indexOf('config-epoch');
        if (i >= 0) epoch = Math.max(epoch, Number(kv[i + 1]));
      }
      return epoch;
    },
    awaitNewMaster,
    stop,
  };
}
