/**
 * Three apply replicas on one Redis, the same proposals, a fake authority granting every
 * EXECUTE plan, the paper exchange: exactly one order per EXECUTE plan, exactly one result per
 * plan, none lost, also when one replica crashes mid-run (its symbols move after the lease TTL).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { baseEnv, killAllWorkers, spawnWorker, type WorkerProc } from './procs.js';
import {
  audit,
  report,
  FakeAuthority,
  feed,
  grantBodies,
  PAPER_KEYS,
  POSITIONS,
  startReplica,
  SYMBOLS,
  type Replica,
} from './rig.js';
import { until } from '../helpers/wait.js';
import { planIdFor, proposal } from '../services/apply/harness.js';
import { freshComputedAt } from '../helpers/decide.js';

/** Feeds `rounds` proposals per symbol, one symbol's next only after its previous has a result. */
async function drive(store: Store, rounds: number, between?: (round: number) => Promise<void>) {
  const ids: string[] = [];
  for (let r = 0; r < rounds; r++) {
    await between?.(r);
    const batch = await Promise.all(SYMBOLS.map(async (s) => planIdFor(s, await feed(store, s))));
    ids.push(...batch);
    await until(
      async () => {
        const res = await store.xrange(store.keys.resultStream(), '-', '+');
        const have = new Set(res.map((e) => e.fields.plan_id));
        return batch.every((id) => have.has(id));
      },
      15_000,
      `results of round ${r}`,
    );
  }
  return ids;
}

describe.skipIf(skipRedis)('apply replicas', () => {
  const server = usePrivateRedis();
  let paper: PaperExchange;
  afterAll(async () => {
    killAllWorkers();
  });

  async function setup() {
    paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS, positions: POSITIONS });
    const prefix = server.prefix();
    const store = await createStore({ url: server.url, prefix });
    const authority = new FakeAuthority(await createStore({ url: server.url, prefix }));
    authority.start();
    return { prefix, store, authority };
  }

  it('when three in-process replicas run the same proposals and one crashes then every EXECUTE plan has one order and one result', async () => {
    const { prefix, store, authority } = await setup();
    const replicas: Replica[] = [];
    try {
      for (const n of ['r1', 'r2', 'r3']) replicas.push(await startReplica(n, server.url, prefix, paper));
      const owners = SYMBOLS.map((s) => replicas.filter((r) => r.leases.owns(s)).length);
      expect(owners).toEqual([1, 1, 1]);
      const ids = await drive(store, 8, async (round) => {
        if (round !== 4) return;
        const victim = replicas.find((r) => r.leases.owned().length > 0)!;
        await victim.kill();
        replicas.splice(replicas.indexOf(victim), 1);
      });
      const a = await audit(store, paper);
      report('replicas-in-process', a);
      expect(a.executePlans).toBe(ids.length);
      expect(a.orders).toBe(ids.length);
      expect(a.lost).toEqual([]);
      expect(a.duplicateResults).toEqual([]);
      expect(a.duplicateOrders).toEqual([]);
      expect(a.unpermitted).toEqual([]);
      expect(a.misreported).toEqual([]);
    } finally {
      await authority.stop();
      await Promise.allSettled(replicas.map((r) => r.stop()));
      await store.close();
      await paper.close();
    }
  }, 60_000);

  it('when three replica processes run the same proposals and one is SIGKILLed then every EXECUTE plan has one order and one result', async () => {
    const { prefix, store, authority } = await setup();
    const env = baseEnv(server.url, prefix, paper.url);
    const procs: WorkerProc[] = ['p1', 'p2', 'p3'].map((n) => spawnWorker(n, env));
    try {
      await Promise.all(procs.map((p) => p.waitReady()));
      const ids = await drive(store, 6, async (round) => {
        if (round !== 3) return;
        const owner = await store.get(store.keys.symbolLease('BTCUSDT'));
        const victim = procs.find((p) => p.lines().some((l) => l.token === owner)) ?? procs[0]!;
        await victim.kill();
      });
      const a = await audit(store, paper);
      report('replicas-processes', a);
      expect(a.executePlans).toBe(ids.length);
      expect(a.orders).toBe(ids.length);
      expect({ lost: a.lost, dupResults: a.duplicateResults, dupOrders: a.duplicateOrders }).toEqual({
        lost: [],
        dupResults: [],
        dupOrders: [],
      });
      expect(a.unpermitted).toEqual([]);
      expect(a.misreported).toEqual([]);
    } finally {
      await authority.stop();
      await Promise.allSettled(procs.map((p) => p.stop()));
      await store.close();
      await paper.close();
    }
  }, 90_000);
});

describe.skipIf(skipRedis)('apply replicas: a takeover finishes the previous holder’s plans', () => {
  const server = usePrivateRedis();

  it('when the holder dies mid-plan and the proposal changes before the takeover then the old plan still gets its one result', async () => {
    const paper = await startPaperExchange({
      host: '127.0.0.1',
      port: 0,
      ...PAPER_KEYS,
      positions: POSITIONS,
    });
    const prefix = server.prefix();
    const store = await createStore({ url: server.url, prefix });
    const stalled = new Set<string>();
    const authority = new FakeAuthority(await createStore({ url: server.url, prefix }), (id, symbol) =>
      stalled.has(id) ? null : grantBodies(symbol),
    );
    authority.start();
    const replicas: Replica[] = [];
    try {
      replicas.push(
        await startReplica('holder', server.url, prefix, paper, { opts: { permitWaitMs: 5000 } }),
      );
      const at = freshComputedAt();
      const old = planIdFor('BTCUSDT', proposal('PARTIAL_50', '0.3', { computed_at_utc: at }));
      stalled.add(old);
      await feed(store, 'BTCUSDT', 'PARTIAL_50', '0.3', { computed_at_utc: at });
      await until(
        async () =>
          (await store.xrange(store.keys.planStream(), '-', '+')).some((e) => e.fields.plan_id === old),
        10_000,
        'the old plan on the stream',
      );
      await replicas[0]!.kill(); // waiting for permits that never come: no intent, no result
      const next = planIdFor('BTCUSDT', await feed(store, 'BTCUSDT'));
      replicas.push(await startReplica('taker', server.url, prefix, paper));
      const results = await until(
        async () => {
          const r = await store.xrange(store.keys.resultStream(), '-', '+');
          const byId = new Map(r.map((e) => [e.fields.plan_id, e.fields]));
          return byId.has(old) && byId.has(next) ? byId : null;
        },
        10_000,
        'both results',
      );
      expect(results.get(old)).toMatchObject({
        decision: 'ERROR',
        error: 'interrupted_before_send',
        executed: 'False',
      });
      expect(results.get(next)).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
      const a = await audit(store, paper);
      report('takeover-orphan', a);
      expect(a.orders).toBe(1);
      expect(a).toMatchObject({
        lost: [],
        duplicateResults: [],
        duplicateOrders: [],
        unpermitted: [],
        misreported: [],
        overclosed: [],
        doubleFilled: [],
      });
    } finally {
      await authority.stop();
      await Promise.allSettled(replicas.map((r) => r.stop()));
      await store.close();
      await paper.close();
    }
  }, 30_000);
});
