/**
 * The pipeline bench's moving parts: a compiled copy of the CLI (so service processes run what
 * production runs, without a TypeScript loader inflating their memory), the services as child
 * processes configured only through their environment, and readiness checks over /healthz.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/helpers/redis-server.js';
import { sleep } from '../../test/helpers/wait.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/** BENCH_PIPELINE_DIR: another build to compare (A/B); it must sit inside the repo (node_modules). */
export const WORK = resolve(process.env.BENCH_PIPELINE_DIR ?? join(ROOT, '.bench-tmp', 'pipeline'));
const LAUNCHER = join(WORK, 'launch.mjs');

/**
 * Compiles src into .bench-tmp/pipeline (gitignored) with the Lua scripts beside the store, and bundles
 * it into dist/bundle as production does; the launcher runs the bundle.
 */
export function buildCli(log: (s: string) => void): void {
  mkdirSync(WORK, { recursive: true });
  const started = Date.now();
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(WORK, 'dist'),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(join(WORK, 'dist/cli/main.js'))) {
    throw new Error(`build failed:\n${tsc.stdout}\n${tsc.stderr}`);
  }
  if (tsc.status !== 0) log(`tsc reported errors (emitted anyway):\n${tsc.stdout.slice(0, 2000)}\n`);
  cpSync(join(ROOT, 'src/store/redis/lua'), join(WORK, 'dist/store/redis/lua'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(WORK, 'package.json'));
  // What bin/quantum-apply.js runs in production: the bundle (scripts/bundle.ts).
  const bundled = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts/bundle.ts'), '--outdir', join(WORK, 'dist/bundle')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (bundled.status !== 0) throw new Error(`bundle failed:\n${bundled.stdout}\n${bundled.stderr}`);
  writeFileSync(
    LAUNCHER,
    "import { main } from './dist/bundle/main.js';\n" +
      "main(process.argv).then((c) => { if (typeof c === 'number') process.exitCode = c; });\n",
  );
  log(`compiled the CLI into ${WORK} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

export interface ServiceProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  opsPort: number;
  /** SIGTERM, wait for the graceful stop (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

/** The text of a command's systemd unit (deploy/systemd), or '' when it has none. */
function unitText(command: string): string {
  const unit = join(ROOT, 'deploy/systemd', `quantum-apply-${command}.service`);
  return existsSync(unit) ? readFileSync(unit, 'utf8') : '';
}

/**
 * The environment a command's systemd unit sets besides its env file (deploy/systemd: NODE_OPTIONS
 * with the V8 heap flags, MALLOC_ARENA_MAX, NODE_ENV), so benched services run as deployed.
 */
export function unitEnvironment(command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of unitText(command).matchAll(/^Environment="?([A-Z_][A-Z0-9_]*)=([^"\n]*)"?$/gm))
    out[m[1]!] = m[2]!;
  return out;
}

/** The node flags on a unit's ExecStart line (`/usr/bin/env node <flags> <script> <command>`). */
export function unitNodeFlags(command: string): string[] {
  const exec = /^ExecStart=(.*)$/m.exec(unitText(command))?.[1] ?? '';
  const words = exec.trim().split(/\s+/);
  const node = words.indexOf('node');
  if (node < 0) return [];
  const flags: string[] = [];
  for (const w of words.slice(node + 1)) {
    if (!w.startsWith('-')) break;
    flags.push(w);
  }
  return flags;
}

export interface SpawnOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=...']. */
  nodeArgs?: string[];
  /**
   * false: leave out the unit's environment (unitEnvironment) and its ExecStart node flags
   * (unitNodeFlags), e.g. to compare node flags.
   */
  unitEnv?: boolean;
  /** Write the service's stdout (its JSON logs) here instead of discarding it. */
  logFile?: string;
}

/** A started child as a ServiceProcess: `stop()` sends SIGTERM, then SIGKILL after the grace. */
export function serviceProcess(
  name: string,
  child: ChildProcess,
  opsPort: number,
  defaultGraceMs: number,
): ServiceProcess {
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    name,
    pid: child.pid ?? -1,
    child,
    opsPort,
    async stop(graceMs = defaultGraceMs) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function spawnService(
  command: 'apply' | 'governor' | 'position-brain' | 'all',
  env: Record<string, string>,
  opts: SpawnOptions = {},
): Promise<ServiceProcess> {
  const opsPort = await freePort();
  const portVar = { apply: 'APPLY_METRICS_PORT', all: 'APPLY_METRICS_PORT', governor: 'METRICS_PORT' }[
    command as string
  ];
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...(opts.unitEnv === false ? {} : unitEnvironment(command)),
    ...env,
    [portVar ?? 'P33_METRICS_PORT']: String(opsPort),
  };
  const errFile = join(WORK, `${command}.stderr.log`);
  const errFd = openSync(errFile, 'w');
  const outFd = opts.logFile ? openSync(opts.logFile, 'w') : 'ignore';
  const unitFlags = opts.unitEnv === false ? [] : unitNodeFlags(command);
  const child = spawn(process.execPath, [...unitFlags, ...(opts.nodeArgs ?? []), LAUNCHER, command], {
    cwd: WORK,
    env: fullEnv,
    stdio: ['ignore', outFd, errFd],
  });
  closeSync(errFd);
  if (typeof outFd === 'number') closeSync(outFd);
  const proc = serviceProcess(command, child, opsPort, 15_000);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}); see ${errFile}`);
    try {
      const r = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
      if (r.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop(1000);
      throw new Error(`${command} not healthy within 30 s; see ${errFile}`);
    }
    await sleep(100);
  }
}

export interface PipelineEnvOptions {
  redisUrl: string;
  paperUrl: string;
  apiKey: string;
  apiSecret: string;
  symbols: readonly string[];
  logLevel?: string;
  /** Polling-only baseline: sweep period and permit poll step. */
  pollSec?: number;
  permitStepMs?: number;
}

/**
 * Every variable of the three services (each reads only its own). The authorities' limits are
 * lifted so that permits can be granted at the benchmark's rate: GOV_* caps huge, P3.3 cooldown 0,
 * and P33_QTY_TOLERANCE_PCT=100 because the paper exchange holds positions (its fills never
 * shrink them) while the ledger follows the fills.
 */
export function pipelineEnv(o: PipelineEnvOptions): Record<string, string> {
  const list = o.symbols.join(',');
  return {
    REDIS_URL: o.redisUrl,
    LOG_LEVEL: o.logLevel ?? 'info',
    APPLY_MODE: 'testnet',
    BINANCE_FUTURES_BASE_URL: o.paperUrl,
    BINANCE_TESTNET_API_KEY: o.apiKey,
    BINANCE_TESTNET_API_SECRET: o.apiSecret,
    SYMBOLS: list,
    APPLY_ALLOWLIST: list,
    APPLY_POLL_SEC: String(o.pollSec ?? 5),
    APPLY_PERMIT_STEP_MS: String(o.permitStepMs ?? 100),
    GOV_MAX_EXEC_PER_HOUR: '1000000000',
    GOV_MAX_EXEC_PER_5MIN: '1000000000',
    GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD: '1000000000000000',
    GOV_MAX_REDUCE_QTY_PER_DAY: '1000000000000000',
    P33_ALLOWLIST: list,
    P33_COOLDOWN_SEC: '0',
    P33_QTY_TOLERANCE_PCT: '100',
  };
}
