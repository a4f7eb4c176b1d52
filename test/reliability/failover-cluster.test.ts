/**
 * A master dies mid-flow in a Redis Cluster: 3 masters with a replica each on loopback
 * (`cluster-node-timeout 1000`), the paper exchange and the three services as separate
 * processes, proposals at ~50/s over 32 symbols spread across slots. Faults in turn: kill -9 of
 * the master holding the streams, kill -9 of one holding only plan keys, and a graceful
 * CLUSTER FAILOVER. After each: no duplicate order in the exchange's journal, no plan with two
 * results, every lost write dated before the old master stopped taking writes, and the
 * services place orders again without a restart (the time is printed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace } from '../../src/store/keys.js';
import { clusterAvailable, redisCli, startCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { skipRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { FailoverLoad } from './failover-rig.js';

const PREFIX = 'fc:';

describe.skipIf(skipRedis || !clusterAvailable)('failover in a cluster, three services under load', () => {
  let cluster: LocalCluster;
  let load: FailoverLoad;
  const k = keySpace({ prefix: PREFIX, cluster: true });
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1, nodeTimeoutMs: 1000 });
    load = new FailoverLoad(
      { REDIS_URL: `redis://127.0.0.1:${cluster.ports[0]}`, REDIS_CLUSTER: 'true' },
      PREFIX,
    );
    await load.start();
  }, 180_000);
  afterAll(async () => {
    await load?.stop();
    await cluster?.stop();
  });

  const slotOf = (key: string) =>
    Number(redisCli(cluster.ports[0] as number, 'cluster', 'keyslot', key).trim());
  /** Keys every plan touches, whatever its symbol: the streams and the arm state. */
  const sharedKeys = () => [k.planStream(), k.resultStream(), k.armState()];

  /** Kills the master serving `slot` and waits until its replica serves it. */
  async function killMasterOf(slot: number): Promise<number> {
    const master = await cluster.masterOf(slot);
    cluster.kill(master.port);
    const dead = Date.now();
    await until(
      async () => (await cluster.masterOf(slot).catch(() => master)).port !== master.port,
      60_000,
      'a replica promoted',
      100,
    );
    return dead;
  }

  async function underFault(name: string, fault: () => Promise<number>) {
    const { audit, late } = await load.underFault(`cluster ${name}`, fault);
    expect(audit.duplicateOrders).toBe(0);
    expect(audit.doubleResults).toEqual([]);
    expect(late).toEqual([]);
    // The failover reconciliation accounted for every lost write: each plan with an order has
    // its result (or reconciled entry), each lost plan entry, receipt and intent an audit entry.
    expect(audit.ordersWithoutResult).toEqual([]);
    expect(audit.silent).toEqual([]);
  }

  it('when the master holding the streams and the arm key is killed (-9) then no order is doubled and orders resume', async () => {
    await underFault('kill -9 (streams, arm)', () => killMasterOf(slotOf(k.planStream())));
  }, 300_000);

  it('when a master holding only plan keys is killed (-9) then no order is doubled and orders resume', async () => {
    const masterOfKey = async (key: string) => (await cluster.masterOf(slotOf(key))).port;
    const shared = new Set(await Promise.all(sharedKeys().map(masterOfKey)));
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed);
    // With three masters the shared keys may cover them all: then one without either stream.
    const streams = new Set(await Promise.all([k.planStream(), k.resultStream()].map(masterOfKey)));
    const nodes = [
      ...masters.filter((n) => !shared.has(n.port)),
      ...masters.filter((n) => !streams.has(n.port)),
    ];
    expect(nodes.length).toBeGreaterThan(0);
    const victim = nodes[0]!;
    await underFault('kill -9 (plan keys only)', () => killMasterOf(victim.slots[0]![0]));
  }, 300_000);

  it('when a replica takes over by CLUSTER FAILOVER then no order is doubled and orders resume', async () => {
    await underFault('CLUSTER FAILOVER', async () => {
      const ns = await cluster.nodes();
      const replica = ns.find(
        (n) => n.role === 'replica' && !n.failed && ns.some((m) => m.id === n.masterId && !m.failed),
      );
      expect(replica).toBeDefined();
      const old = ns.find((m) => m.id === replica!.masterId)!;
      expect(redisCli(replica!.port, 'cluster', 'failover').trim()).toBe('OK');
      // The old master refuses writes once it is a replica.
      await until(
        () => redisCli(old.port, 'info', 'replication').includes('role:slave'),
        60_000,
        'old master demoted',
        50,
      );
      return Date.now();
    });
  }, 300_000);
});
