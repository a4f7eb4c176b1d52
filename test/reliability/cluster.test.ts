/**
 * Redis Cluster key mode (REDIS_CLUSTER=true → keySpace({ cluster: true })) on a local 3-master
 * cluster: which multi-key operations keep every key in one slot (asked of the cluster itself
 * with CLUSTER KEYSLOT), the lease and fenced-intent scripts and the permit consume running
 * through an ioredis Cluster client across nodes, and the operations that still cross slots,
 * listed exactly so that fixing one (or breaking another) fails this test until the list and
 * RELIABILITY.md are updated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace } from '../../src/store/keys.js';
import { leaseOpsFor } from '../../src/store/lease.js';
import type { Store } from '../../src/store/port.js';
import { RedisLeaseScripts } from '../../src/store/redis/lease-scripts.js';
import { luaDir, parseConsumeReply } from '../../src/store/redis/scripts.js';
import { skipRedis } from '../helpers/redis-server.js';
import { clusterAvailable, startCluster, type LocalCluster } from './cluster.js';

const k = keySpace({ cluster: true, prefix: 'c1:' });
const ID = '9fc366d9a9b3ef10';
const S = 'BTCUSDT';

/** Every multi-key script call the services make, with the keys they pass. */
const MULTI_KEY_OPS: Record<string, string[]> = {
  'consumePermits-3': [k.permitReceipt(ID), k.permit('governor', ID), k.permit('p33', ID)],
  'decideOnce-3 (governor block)': [
    k.authorityDecision('governor', ID),
    k.governorBlock(ID),
    k.governorPermit(ID),
  ],
  'decideOnce-3 (p33)': [k.authorityDecision('p33', ID), k.p33Permit(ID), k.p33Permit(ID)],
  'createIntent-2 (cluster: intent only)': [k.orderIntent(ID)],
  'publishOnce-2 (plan)': [k.streamPublished(ID), k.planStream()],
  'publishOnce-2 (result)': [k.resultPublished(ID), k.resultStream()],
  'grantPermit-5': [
    k.authorityDecision('governor', ID),
    k.governorPermit(ID),
    k.governorBlock(ID),
    k.governorExec(S),
    k.governorDaily(S, '2026-01-25'),
  ],
  'applyLedgerResult-2': [k.positionLedger(S), k.ledgerCursor()],
};

/** Operations whose keys still span slots in cluster mode (see RELIABILITY.md, Redis Cluster). */
const KNOWN_CROSS_SLOT = [
  'publishOnce-2 (plan)',
  'publishOnce-2 (result)',
  'grantPermit-5',
  'applyLedgerResult-2',
];

describe.skipIf(skipRedis || !clusterAvailable)('Redis Cluster key mode on a local 3-master cluster', () => {
  let cluster: LocalCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
    client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    await client.ping();
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('when each multi-key operation keys are hashed by the cluster then exactly the known ones cross slots', async () => {
    const crossing: string[] = [];
    for (const [op, keys] of Object.entries(MULTI_KEY_OPS)) {
      const slots = new Set(await Promise.all(keys.map((key) => client.cluster('KEYSLOT', key))));
      if (slots.size > 1) crossing.push(op);
    }
    expect(crossing).toEqual(KNOWN_CROSS_SLOT);
  });

  it('when plans of many ids are spread over the masters then consume, lease and fenced intent scripts run on every node', async () => {
    const leases = new RedisLeaseScripts(client, true);
    const consume = readFileSync(join(luaDir(), 'consumePermits-3.lua'), 'utf8');
    const nodes = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const id = `${i.toString(16).padStart(2, '0')}${ID.slice(2)}`;
      const keys = [k.permitReceipt(id), k.permit('governor', id), k.permit('p33', id)];
      await client.set(keys[1]!, `{"granted":true,"n":${i}}`, 'EX', 60);
      await client.set(keys[2]!, `{"allow":true,"n":${i}}`, 'EX', 60);
      const out = parseConsumeReply(await client.eval(consume, 3, ...keys, `tok${i}`, 60, '1'), 2);
      expect(out.kind).toBe('consumed');
      expect(await client.exists(keys[1]!, keys[2]!)).toBe(0);
      nodes.add(String(await client.cluster('KEYSLOT', keys[0]!)));

      const lease = k.symbolLease(`SYM${i}USDT`);
      expect((await leases.acquire(lease, 'me', 5000)).kind).toBe('acquired');
      expect(await leases.createIntent(k.orderIntent(id), lease, 'other', { state: 'sending' }, 60)).toBe(
        'lease_lost',
      );
      expect(await leases.createIntent(k.orderIntent(id), lease, 'me', { state: 'sending' }, 60)).toBe(
        'written',
      );
      expect(await leases.createIntent(k.orderIntent(id), lease, 'me', { state: 'sending' }, 60)).toBe(
        'intent_exists',
      );
    }
    expect(nodes.size).toBeGreaterThan(1);
  });

  it('when lease operations are made for a cluster-mode store then the fence runs with the intent key alone', async () => {
    const store = { kind: 'redis', keys: k, client } as unknown as Store;
    const ops = leaseOpsFor(store);
    const lease = k.symbolLease('ETHUSDT');
    await ops.acquire(lease, 'me', 5000);
    expect(await ops.createIntent(k.orderIntent('ab'.repeat(8)), lease, 'me', { state: 'sending' }, 60)).toBe(
      'written',
    );
  });

  it('when publishOnce runs with a plan-tagged marker and the stream then the cluster refuses it (the known gap)', async () => {
    const lua = readFileSync(join(luaDir(), 'publishOnce-2.lua'), 'utf8');
    await expect(
      client.eval(lua, 2, k.resultPublished(ID), k.resultStream(), 60, 0, 'plan_id', ID),
    ).rejects.toThrow(/CROSSSLOT/);
  });
});
