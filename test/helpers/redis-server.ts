/**
 * Private redis-server processes for tests: each on a free loopback port, no persistence,
 * stopped by PID. Never touches the shared 6379 instance.
 *
 * Without redis-server on PATH, Redis-backed suites skip with a reason; with REQUIRE_REDIS=1
 * a missing server fails the suite instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { sleep } from './wait.js';

export const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

function onPath(bin: string): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

export const redisAvailable = onPath(REDIS_BIN);
export const redisRequired = process.env.REQUIRE_REDIS === '1';

if (!redisAvailable && redisRequired) {
  throw new Error(`REQUIRE_REDIS=1 but '${REDIS_BIN}' is not on PATH: install redis-server`);
}

/** Use as `describe.skipIf(skipRedis)(...)`; the reason is printed once per run. */
export const skipRedis = !redisAvailable;
if (skipRedis) {
  process.stderr.write(`[redis] skipping Redis-backed suites: '${REDIS_BIN}' is not on PATH\n`);
}

/** Every server this process started; killed on exit so a timed-out suite leaves none behind. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServerHandle {
  port: number;
  url: string;
  pid: number;
  /** Stop (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL now and start again on the same port (for outage tests). */
  restart(): Promise<void>;
  /** A random key prefix for isolating one test's keys. */
  prefix(): string;
}

export interface RedisServerOptions {
  /** Value for notify-keyspace-events at start ("" disables them). */
  notifyKeyspaceEvents?: string;
  /** Extra argv for redis-server. */
  args?: string[];
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
      });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await sleep(25);
  }
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  if (!redisAvailable) throw new Error(`'${REDIS_BIN}' is not on PATH`);
  const port = await freePort();
  let child: ChildProcess;
  const launch = async () => {
    const argv = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      '--notify-keyspace-events',
      opts.notifyKeyspaceEvents ?? '',
      ...(opts.args ?? []),
    ];
    child = spawn(REDIS_BIN, argv, { stdio: 'ignore' });
    const c = child;
    live.add(c);
    c.once('exit', () => live.delete(c));
    await waitForPort(port, 10_000);
  };
  await launch();
  const stopChild = async (signal: NodeJS.Signals) => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => c.kill('SIGKILL'), 3000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill(signal);
    });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid ?? -1;
    },
    stop: () => stopChild('SIGTERM'),
    restart: async () => {
      await stopChild('SIGKILL');
      await launch();
    },
    prefix: () => `t${randomBytes(4).toString('hex')}:`,
  };
}

/**
 * A private redis-server for the enclosing file or describe block: started before its first
 * test, stopped after its last. The handle forwards to that server, so it can be captured at
 * definition time and read inside tests and hooks.
 */
export function usePrivateRedis(opts: RedisServerOptions = {}): RedisServerHandle {
  let server: RedisServerHandle | undefined;
  beforeAll(async () => {
    server = await startRedis(opts);
  });
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): RedisServerHandle => {
    if (!server) throw new Error('the private redis-server is not started: use it in a test or hook');
    return server;
  };
  return {
    get port() {
      return started().port;
    },
    get url() {
      return started().url;
    },
    get pid() {
      return started().pid;
    },
    stop: () => started().stop(),
    restart: () => started().restart(),
    prefix: () => started().prefix(),
  };
}
