/**
 * One pipeline bench session: a private redis-server, the paper exchange (in this process, with
 * synthetic held positions), the services as child processes, and the feeder. `phase()` runs one
 * paced load and measures it: latency, results, Redis commands (INFO commandstats, every client),
 * CPU seconds per process (/proc/<pid>/stat) over the measured window.
 */
import { Redis } from 'ioredis';
import { startPaperExchange, syntheticMarkets, type PaperExchange } from '../../src/exchange/paper/index.js';
import { keySpace } from '../../src/store/keys.js';
import { startRedis, type RedisServerHandle } from '../../test/helpers/redis-server.js';
import { Feeder, type PhaseStats } from './feeder.js';
import { spawnFloor } from './floor/spawn.js';
import { pipelineEnv, spawnService, type ServiceProcess, type SpawnOptions } from './pipeline-rig.js';
import { cpuMeter, memory, type Memory } from './procstat.js';
import { commandStats, diffCounts, monitor, type CommandCounts, type MonitorCount } from './redis-stats.js';
import { sleep } from '../../test/helpers/wait.js';

const KEY = 'bench-key';
const SECRET = 'bench-secret';
export const POSITION = 5;

export interface SessionOptions {
  symbols: number;
  /**
   * 'split': apply, governor, position-brain as three processes; 'all': one process; 'floor': the
   * contract's work alone in three processes (bench/lib/floor), in their place.
   */
  layout: 'split' | 'all' | 'floor';
  /** false: the server refuses CONFIG and sends no keyspace events (polling-only baseline). */
  notifications: boolean;
  pollSec?: number;
  permitStepMs?: number;
  logLevel?: string;
  spawn?: (name: string) => SpawnOptions;
  /** Extra service variables (A/B of a setting, e.g. APPLY_LEASE_TTL_MS=0). */
  env?: Record<string, string>;
  /**
   * true: the paper exchange sends Binance's weight and order-count headers, so the adapters pace
   * themselves to one account's limits as on the venue (default false: our side is measured).
   */
  venueLimits?: boolean;
}

export interface PhaseResult {
  stats: PhaseStats;
  commands: CommandCounts;
  /** CPU seconds over the measured window, per process (services, redis, bench). */
  cpu: Record<string, number>;
  executed: number;
  /** With `split`: commands clients sent vs run inside scripts (MONITOR) over the window. */
  sent?: MonitorCount;
  /** Requests the paper exchange received over the window, by `METHOD path`. */
  exchange: Record<string, number>;
  /** P3.3's p33_decision_snapshot_age_seconds over the window: p50/p99 as bucket bounds (s). */
  decisionAge?: { p50: number; p99: number; n: number };
}

/** One histogram's cumulative buckets (`le` → count) from a service's /metrics. */
async function bucketsOf(opsPort: number, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const out = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

/** p50/p99 of the observations between two bucket reads, each as the bucket's upper bound. */
function bucketQuantiles(a: Map<number, number>, b: Map<number, number>): PhaseResult['decisionAge'] {
  const les = [...b.keys()].sort((x, y) => x - y);
  const d = les.map((le) => (b.get(le) ?? 0) - (a.get(le) ?? 0));
  const n = d[d.length - 1] ?? 0;
  if (n <= 0) return undefined;
  const q = (f: number) => les[d.findIndex((c) => c >= f * n)] ?? Infinity;
  return { p50: q(0.5), p99: q(0.99), n };
}

export class Session {
  readonly symbols: string[];
  redis!: RedisServerHandle;
  paper!: PaperExchange;
  admin!: Redis;
  feeder!: Feeder;
  services: ServiceProcess[] = [];
  redisVersion = '';

  constructor(readonly o: SessionOptions) {
    this.symbols = syntheticMarkets(o.symbols).map((m) => m.symbol);
  }

  async start(): Promise<void> {
    this.redis = await startRedis({
      notifyKeyspaceEvents: '',
      args: this.o.notifications ? [] : ['--rename-command', 'CONFIG', '""'],
    });
    this.admin = new Redis(this.redis.url);
    this.redisVersion = /redis_version:(\S+)/.exec((await this.admin.info('server')) as string)?.[1] ?? '';
    this.paper = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      syntheticSymbols: this.o.symbols,
      syntheticPosition: POSITION,
      holdPositions: true,
      usageHeaders: this.o.venueLimits === true,
    });
    const env = pipelineEnv({
      redisUrl: this.redis.url,
      paperUrl: this.paper.url,
      apiKey: KEY,
      apiSecret: SECRET,
      symbols: this.symbols,
      logLevel: this.o.logLevel,
      pollSec: this.o.pollSec,
      permitStepMs: this.o.permitStepMs,
    });
    Object.assign(env, this.o.env ?? {});
    // The paper exchange's user data stream, at its private base (a port known only now).
    if (env.BINANCE_USER_STREAM === 'on') env.BINANCE_FUTURES_WS_URL ??= `${this.paper.wsUrl}/private`;
    const names =
      this.o.layout === 'all' ? (['all'] as const) : (['governor', 'position-brain', 'apply'] as const);
    for (const name of names) {
      this.services.push(
        this.o.layout === 'floor' && name !== 'all'
          ? await spawnFloor(name, env)
          : await spawnService(name, env, this.o.spawn?.(name)),
      );
    }
    await this.waitForSnapshots();
    this.feeder = new Feeder(this.redis.url, this.paper, this.symbols);
    await this.feeder.start();
  }

  /** P3.3 denies until it has a snapshot of the symbol: wait for the first full refresh. */
  private async waitForSnapshots(): Promise<void> {
    const keys = keySpace();
    const last = keys.positionSnapshot(this.symbols[this.symbols.length - 1]!);
    const deadline = Date.now() + 30_000;
    while ((await this.admin.exists(last)) === 0) {
      if (Date.now() > deadline) throw new Error('P3.3 wrote no snapshots within 30 s');
      await sleep(100);
    }
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.services.map((s) => [s.name, s.pid]));
    out['redis-server'] = this.redis.pid;
    out['bench (feeder + paper exchange)'] = process.pid;
    return out;
  }

  memory(): Record<string, Memory | null> {
    return Object.fromEntries(this.services.map((s) => [s.name, memory(s.pid)]));
  }

  async phase(rate: number, seconds: number, warmupSec: number, split = false): Promise<PhaseResult> {
    let before: Promise<CommandCounts> | null = null;
    let after: Promise<CommandCounts> | null = null;
    let cpuStop: (() => Record<string, number>) | null = null;
    let cpu: Record<string, number> = {};
    const mon = split ? await monitor(this.redis.port) : null;
    let monStart: MonitorCount | null = null;
    let monEnd: MonitorCount | null = null;
    const counts = this.paper.state.requestCounts;
    let exStart = new Map<string, number>();
    const exchange: Record<string, number> = {};
    const p33 = this.services.find((x) => x.name === 'position-brain');
    const ages = (): Promise<Map<number, number>> =>
      p33 ? bucketsOf(p33.opsPort, 'p33_decision_snapshot_age_seconds') : Promise.resolve(new Map());
    let agesStart: Promise<Map<number, number>> = Promise.resolve(new Map());
    let agesEnd: Promise<Map<number, number>> = Promise.resolve(new Map());
    const stats = await this.feeder.run(rate, seconds, warmupSec, {
      windowStart: () => {
        agesStart = ages();
        before = commandStats(this.admin);
        cpuStop = cpuMeter(this.pids());
        monStart = mon?.read() ?? null;
        exStart = new Map(counts);
      },
      windowEnd: () => {
        agesEnd = ages();
        after = commandStats(this.admin);
        cpu = cpuStop?.() ?? {};
        monEnd = mon?.read() ?? null;
        for (const [k, n] of counts) exchange[k] = n - (exStart.get(k) ?? 0);
      },
    });
    mon?.stop();
    const commands = before && after ? diffCounts(await after, await before) : new Map<string, number>();
    const ms = monStart as MonitorCount | null;
    const me = monEnd as MonitorCount | null;
    const sent = ms && me ? { client: me.client - ms.client, script: me.script - ms.script } : undefined;
    await this.feeder.settle();
    const decisionAge = bucketQuantiles(await agesStart, await agesEnd);
    return {
      ...(decisionAge ? { decisionAge } : {}),
      stats,
      commands,
      cpu,
      exchange,
      executed: stats.results.EXECUTE ?? 0,
      ...(sent ? { sent } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.feeder?.close().catch(() => {});
    // Apply first (it stops asking for permits), then the authorities.
    for (const s of [...this.services].reverse()) await s.stop();
    await this.paper?.close();
    this.admin?.disconnect();
    await this.redis?.stop();
  }
}
