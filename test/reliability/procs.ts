/**
 * Apply replicas as child processes (test/reliability/apply-worker.ts under tsx), their JSON
 * logs kept in a temp file, stopped by PID: SIGTERM for a graceful stop, SIGKILL for a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sleep } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(ROOT, 'test/reliability/apply-worker.ts');
const LOG_DIR = mkdtempSync(join(tmpdir(), 'qa-reliability-'));
const live = new Set<ChildProcess>();

/** SIGKILL every worker still running (afterAll of each suite: a failed test must leave none). */
export function killAllWorkers(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.once('exit', killAllWorkers);

export interface WorkerProc {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  lines(): Record<string, unknown>[];
  waitReady(ms?: number): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export function baseEnv(redisUrl: string, prefix: string, paperUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    APPLY_MODE: 'testnet',
    SYMBOLS: 'BTCUSDT,ETHUSDT,SOLUSDT',
    APPLY_ALLOWLIST: 'BTCUSDT,ETHUSDT,SOLUSDT',
    APPLY_POLL_SEC: '0.1',
    APPLY_PERMIT_WAIT_MS: '1500',
    APPLY_PERMIT_STEP_MS: '50',
    APPLY_LEASE_TTL_MS: '1000',
    BINANCE_FUTURES_BASE_URL: paperUrl,
    BINANCE_TESTNET_API_KEY: 'paper-key',
    BINANCE_TESTNET_API_SECRET: 'paper-secret',
  };
}

export function spawnWorker(name: string, env: Record<string, string>): WorkerProc {
  const logFile = join(LOG_DIR, `${name}-${Date.now()}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    cwd: ROOT,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      res({ code, signal });
    }),
  );
  const lines = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    name,
    pid: child.pid ?? -1,
    logFile,
    exited,
    lines,
    async waitReady(ms = 20_000) {
      const end = Date.now() + ms;
      while (!lines().some((l) => l.msg === 'worker ready')) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${name} exited before ready:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
        if (Date.now() > end) throw new Error(`${name} not ready`);
        await sleep(25);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
