/**
 * Permit hand-off: time from the last permit write (a plain SETEX from another connection) to
 * waitAndConsumePermits returning, event-driven vs polling-only (stepMs 100, like the fleet),
 * against a floor (raw keyspace message → one consume script, no chain), plus Redis commands
 * per successful consume from INFO commandstats (all clients, server side).
 *
 *   npm run bench:handoff [-- --trials 1000 --no-write]
 *
 * `--cluster`: the same chain on a local 3-master Redis Cluster, event-driven (a subscriber per
 * master) against the path before it (clusterEvents off: every wait polls), in one run; its
 * own block.
 */
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import { createStore } from '../src/store/index.js';
import { RedisStore } from '../src/store/redis/redis-store.js';
import { startCluster } from '../test/helpers/redis-cluster.js';
import type { Store } from '../src/store/port.js';
import { waitAndConsumePermits } from '../src/store/permit-chain.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';
import { sleep } from '../test/helpers/wait.js';

const args = process.argv.slice(2);
const argIndex = args.indexOf('--trials');
const TRIALS = argIndex >= 0 ? Number(args[argIndex + 1]) : 1000;
const WARMUP = 50;
const STEP_MS = 100;
const WAIT_MS = 1200;
/** The last write lands uniformly this long after the wait started (after its first attempt). */
const EVENT_DELAY_MS = 20;

type ModeName = 'floor' | 'event' | 'poll';
const CLUSTER = args.includes('--cluster');
/** Cluster mode: plans spread over this many symbols, so their keys spread over the masters. */
const SYMBOLS = Array.from({ length: 30 }, (_, i) => `S${i}USDT`);

/** One private redis-server (or cluster) per mode, so INFO commandstats counts that mode alone. */
interface Rig {
  name: ModeName;
  stop: () => Promise<void>;
  store: Store;
  writer: Redis | Cluster;
  /** INFO commandstats, summed over the mode's servers. */
  stats: () => Promise<Record<string, number>>;
  /** Cluster key mode: the plans' symbols are part of their key names. */
  cluster: boolean;
  sub: Redis;
  samples: number[];
  ok: number;
  via: Record<string, number>;
}

let seq = 0;

async function rig(name: ModeName): Promise<Rig> {
  const server = await startRedis();
  const store = await createStore({ url: server.url, prefix: 'bench:' });
  if (!store.notificationsActive()) throw new Error('keyspace notifications could not be enabled');
  const sub = new Redis(server.url);
  if (name === 'floor') await sub.psubscribe(`__keyspace@0__:${store.keys.permitPattern()}`);
  const [writer, admin] = [new Redis(server.url), new Redis(server.url)];
  const stop = async () => {
    await store.close();
    for (const c of [writer, admin, sub]) c.disconnect();
    await server.stop();
  };
  return {
    name,
    stop,
    store,
    writer,
    stats: () => commandStats([admin]),
    cluster: false,
    sub,
    samples: [],
    ok: 0,
    via: {},
  };
}

/** A 3-master cluster of its own; `poll` runs the store as before per-master subscribers. */
async function clusterRig(name: 'event' | 'poll'): Promise<Rig> {
  const cluster = await startCluster();
  const seed = { host: '127.0.0.1', port: cluster.ports[0]! };
  const store = new RedisStore({
    url: `redis://127.0.0.1:${seed.port}`,
    prefix: 'bench:',
    cluster: true,
    clusterEvents: name === 'event',
  });
  await store.init();
  if (store.notificationsActive() !== (name === 'event'))
    throw new Error(`cluster ${name}: notifications wrong`);
  const writer = new Cluster([seed]);
  writer.on('error', () => {}); // the clusters stop under it at the end
  const admins = cluster.ports.map((port) => new Redis({ host: '127.0.0.1', port }));
  const sub = new Redis({ ...seed, lazyConnect: true });
  const stop = async () => {
    await store.close();
    writer.disconnect();
    for (const a of admins) a.disconnect();
    await cluster.stop();
  };
  return {
    name,
    stop,
    store,
    writer,
    stats: () => commandStats(admins),
    cluster: true,
    sub,
    samples: [],
    ok: 0,
    via: {},
  };
}

async function commandStats(admins: Redis[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const admin of admins) {
    const text = (await admin.info('commandstats')) as string;
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

/** A view of the store that calls `onFirst` once its first consume attempt has answered. */
function afterFirstAttempt(store: Store, onFirst: () => void): Store {
  let first = true;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'consumePermits') {
        return async (...a: Parameters<Store['consumePermits']>) => {
          const out = await target.consumePermits(...a);
          if (first) {
            first = false;
            onFirst();
          }
          return out;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function chainTrial(r: Rig, maxDelayMs: number): Promise<void> {
  const plan = `p${++seq}`;
  const symbol = r.cluster ? SYMBOLS[seq % SYMBOLS.length] : undefined;
  await r.writer.setex(r.store.keys.governorPermit(plan, symbol), 60, '{"granted":true}');
  let t0 = 0;
  const view = afterFirstAttempt(r.store, () => {
    setTimeout(() => {
      t0 = performance.now();
      void r.writer.setex(r.store.keys.p33Permit(plan, symbol), 60, '{"allow":true}');
    }, Math.random() * maxDelayMs);
  });
  const res = await waitAndConsumePermits(view, plan, undefined, {
    waitMs: WAIT_MS,
    stepMs: STEP_MS,
    events: r.name === 'event',
    ...(symbol ? { symbol } : {}),
  });
  const ms = performance.now() - t0;
  if (!res.ok) return;
  r.ok++;
  r.via[res.via] = (r.via[res.via] ?? 0) + 1;
  r.samples.push(ms);
}

async function floorTrial(r: Rig): Promise<void> {
  const plan = `p${++seq}`;
  const keys = [r.store.keys.governorPermit(plan), r.store.keys.p33Permit(plan)];
  await r.writer.setex(keys[0]!, 60, '{"granted":true}');
  await sleep(Math.random() * EVENT_DELAY_MS);
  const consumed = new Promise<boolean>((resolve) => {
    const onMessage = (_p: string, channel: string, event: string) => {
      if (!channel.endsWith(keys[1]!) || event !== 'set') return;
      r.sub.off('pmessage', onMessage);
      void r.store
        .consumePermits(keys, r.store.keys.permitReceipt(plan), `t${plan}`, 60)
        .then((o) => resolve(o.kind === 'consumed'));
    };
    r.sub.on('pmessage', onMessage);
  });
  const t0 = performance.now();
  void r.writer.setex(keys[1]!, 60, '{"allow":true}');
  if (!(await consumed)) return;
  r.samples.push(performance.now() - t0);
  r.ok++;
  r.via.event = (r.via.event ?? 0) + 1;
}

async function measure(rigs: Rig[], rounds: number, round: () => Promise<void>) {
  for (const r of rigs) Object.assign(r, { samples: [], ok: 0, via: {} });
  const before = await Promise.all(rigs.map((r) => r.stats()));
  for (let i = 0; i < rounds; i++) await round();
  await sleep(50); // fire-and-forget PUNSUBSCRIBEs land before counting
  const after = await Promise.all(rigs.map((r) => r.stats()));
  return rigs.map((r, i) => {
    const commands: Record<string, number> = {};
    for (const [cmd, calls] of Object.entries(after[i]!)) {
      const d = calls - (before[i]![cmd] ?? 0);
      if (d > 0 && cmd !== 'setex' && cmd !== 'info') commands[cmd] = d;
    }
    return { rig: r, latency: summarize(r.samples), commands };
  });
}

type Measured = Awaited<ReturnType<typeof measure>>[number];

/** The results as a markdown table, and commands per successful consume of one of them. */
function resultTable(results: Measured[], label: Record<ModeName, string>) {
  const perConsume = (r: Measured) => Object.values(r.commands).reduce((a, b) => a + b, 0) / r.rig.ok;
  const rows = results.map((r) => [
    label[r.rig.name],
    `${r.rig.ok}/${r.rig.name === 'poll' ? Math.floor(TRIALS / 4) * 4 : TRIALS}`,
    fmt(r.latency.p50),
    fmt(r.latency.p90),
    fmt(r.latency.p99),
    fmt(r.latency.max),
    fmt(perConsume(r)),
    Object.entries(r.commands)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([c, n]) => `${c} ${fmt(n / r.rig.ok)}`)
      .join(', '),
    Object.entries(r.rig.via)
      .map(([v, n]) => `${v} ${n}`)
      .join(', '),
  ]);
  const table = markdownTable(
    ['mode', 'ok', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'cmds/consume', 'per consume', 'via'],
    rows,
  );
  return { table, perConsume };
}

const ratio = (a: Summary, b: Summary, digits: number) =>
  (['p50', 'p90', 'p99'] as const).map((p) => `${p} ${fmt(a[p] / b[p], digits)}×`).join(', ');

/** Polling waits ~50 ms per trial: four lanes side by side (no subscriptions, so the per-consume
 * commands do not depend on the lanes). */
const lanes = (r: Rig) => async () => {
  await Promise.all(Array.from({ length: 4 }, () => chainTrial(r, STEP_MS)));
};

/** `--cluster`: event-driven against the polling path, each on its own 3-master cluster. */
async function clusterMain() {
  const rigs = { event: await clusterRig('event'), poll: await clusterRig('poll') };
  try {
    const node = ((rigs.event.store as RedisStore).client as Cluster).nodes('master')[0]!;
    const machine = machineLine(/redis_version:(\S+)/.exec((await node.info('server')) as string)?.[1]);
    const one = async () => chainTrial(rigs.event, EVENT_DELAY_MS);
    await measure([rigs.event], WARMUP, one);
    await measure([rigs.poll], WARMUP / 4, lanes(rigs.poll));
    const results = [
      ...(await measure([rigs.event], TRIALS, one)),
      ...(await measure([rigs.poll], TRIALS / 4, lanes(rigs.poll))),
    ];
    const { table, perConsume } = resultTable(results, {
      floor: '',
      event: 'cluster, event-driven (a subscriber per master)',
      poll: `cluster, polling only (before; stepMs ${STEP_MS})`,
    });
    const [ev, po] = results as [Measured, Measured];
    const ratios = `Polling / event-driven in cluster mode: ${ratio(po.latency, ev.latency, 0)}; commands per consume ${fmt(perConsume(po))} vs ${fmt(perConsume(ev))}.`;
    process.stdout.write(`${table}\n\n${ratios}\n`);
    if (!args.includes('--no-write')) {
      const text = [
        '`npm run bench:handoff -- --cluster`' + ` — ${new Date().toISOString().slice(0, 10)}, ${machine}.`,
        '',
        `${TRIALS} trials per mode after ${WARMUP} warm-up trials on two local 3-master clusters (one per mode), plans over ${SYMBOLS.length} symbols, event jitter 0–20 ms, polling step ${STEP_MS} ms.`,
        '',
        table,
        '',
        ratios,
      ].join('\n');
      writeMarkedBlock('BENCHMARKS.md', 'handoff-cluster', text);
    }
  } finally {
    for (const r of Object.values(rigs)) await r.stop();
  }
}

async function main() {
  const rigs = { floor: await rig('floor'), event: await rig('event'), poll: await rig('poll') };
  const all = Object.values(rigs);
  try {
    const redisVersion = /redis_version:(\S+)/.exec((await rigs.event.sub.info('server')) as string)?.[1];
    const machine = machineLine(redisVersion);
    // Floor and event trials alternate, so both see the same noise from the shared machine.
    const pair = async () => {
      await floorTrial(rigs.floor);
      await chainTrial(rigs.event, EVENT_DELAY_MS);
    };
    await measure([rigs.floor, rigs.event], WARMUP, pair);
    await measure([rigs.poll], WARMUP / 4, lanes(rigs.poll));
    const results = [
      ...(await measure([rigs.floor, rigs.event], TRIALS, pair)),
      ...(await measure([rigs.poll], TRIALS / 4, lanes(rigs.poll))),
    ];
    const { table, perConsume } = resultTable(results, {
      floor: 'floor: raw keyspace message → one consume, no chain',
      event: 'chain, event-driven',
      poll: `chain, polling only (stepMs ${STEP_MS})`,
    });
    const [fl, ev, po] = results as [
      (typeof results)[number],
      (typeof results)[number],
      (typeof results)[number],
    ];
    const ratios = [
      `Polling only / event-driven: ${ratio(po.latency, ev.latency, 0)}; commands per consume`,
      `${fmt(perConsume(po))} vs ${fmt(perConsume(ev))}. Event-driven / floor (what the chain adds):`,
      `${ratio(ev.latency, fl.latency, 2)}.`,
    ].join(' ');
    process.stdout.write(`${table}\n\n${ratios}\n`);
    if (!args.includes('--no-write')) {
      const verdict = [
        `event p50 ${fmt(ev.latency.p50)} ms (target ≤ 1: ${ev.latency.p50 <= 1 ? 'met' : 'missed'}),`,
        `p99 ${fmt(ev.latency.p99)} ms (target ≤ 3: ${ev.latency.p99 <= 3 ? 'met' : 'missed'}; the floor's p99`,
        `in the same run: ${fmt(fl.latency.p99)} ms), ${fmt(perConsume(ev))} commands per consume`,
        `(target ≤ 8: ${perConsume(ev) <= 8 ? 'met' : 'missed'}).`,
      ].join(' ');
      writeMarkedBlock('BENCHMARKS.md', 'handoff', report(table, ratios, machine, verdict));
    }
  } finally {
    for (const r of all) await r.stop();
  }
}

function report(table: string, ratios: string, machine: string, verdict: string): string {
  return [
    '`npm run bench:handoff`' + ` — ${new Date().toISOString().slice(0, 10)}, ${machine}.`,
    '',
    `${TRIALS} trials per mode after ${WARMUP} warm-up trials, event jitter 0–20 ms, polling step ${STEP_MS} ms.`,
    '',
    table,
    '',
    ratios,
    '',
    `This run: ${verdict}`,
  ].join('\n');
}

(CLUSTER ? clusterMain() : main()).catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
