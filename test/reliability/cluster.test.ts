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
import { RedisLeaseScripts } from '../../src/store/redis/lease-scripts.js';
import { luaDir, parseConsumeReply } from '../../src/store/redis/scripts.js';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { aclSetUserArgs, type AclService } from '../../src/ops/redis-acl.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { runCli, serviceEnv } from '../helpers/cli.js';
import { skipRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { clusterAvailable, startCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { freshComputedAt } from '../helpers/decide.js';
import { DONE_MARGIN_SEC } from '../../src/domain/position/reservations.js';

const k = keySpace({ cluster: true, prefix: 'c1:' });
const ID = '9fc366d9a9b3ef10';
const S = 'BTCUSDT';

/** Every multi-key script call the services make, with the keys they pass. */
const MULTI_KEY_OPS: Record<string, string[]> = {
  'consumePermits-N': [k.permitReceipt(ID, S), k.permit('governor', ID, S), k.permit('p33', ID, S)],
  'consumePermits-4 (a third authority)': [
    k.permitReceipt(ID, S),
    k.permit('governor', ID, S),
    k.permit('p33', ID, S),
    k.permit('desk', ID, S),
  ],
  'permit wait MGET (receipt + bodies)': [k.permitReceipt(ID, S), k.permit('governor', ID, S)],
  'decideOnce-3 (governor block)': [
    k.authorityDecision('governor', ID, S),
    k.governorBlock(ID, S),
    k.governorPermit(ID, S),
  ],
  'governor done-check MGET': [
    k.authorityDecision('governor', ID, S),
    k.governorPermit(ID, S),
    k.governorBlock(ID, S),
  ],
  'decideOnce-3 (p33)': [k.authorityDecision('p33', ID, S), k.p33Permit(ID, S), k.p33Permit(ID, S)],
  'createIntent-3': [k.orderIntent(ID, S), k.symbolLease(S), k.permitReceipt(ID, S)],
  'publishOnce-2 (plan)': [k.streamPublished(ID), k.planStream()],
  'publishOnce-2 (result)': [k.resultPublished(ID), k.resultStream()],
  'grantPermit-5': [
    k.authorityDecision('governor', ID, S),
    k.governorPermit(ID, S),
    k.governorBlock(ID, S),
    k.governorExec(S),
    k.governorDaily(S, '2026-01-25'),
  ],
  'applyLedgerResults-N / seedLedgers-N': [
    k.ledgerCursor(),
    k.positionLedger(S),
    k.positionLedger('SOLUSDT'),
  ],
};

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

  it('when each multi-key operation keys are hashed by the cluster then none crosses a slot', async () => {
    const crossing: string[] = [];
    for (const [op, keys] of Object.entries(MULTI_KEY_OPS)) {
      const slots = new Set(await Promise.all(keys.map((key) => client.cluster('KEYSLOT', key))));
      if (slots.size > 1) crossing.push(op);
    }
    expect(crossing).toEqual([]);
  });

  it('when the fleet key mode is asked for the same keys then names are the contract ones and need no symbol', () => {
    const fleet = keySpace();
    expect(fleet.permit('governor', ID)).toBe(`quantum:permit:${ID}`);
    expect(fleet.p33Permit(ID, S)).toBe(`quantum:permit:p33:${ID}`);
    expect(fleet.positionLedger(S)).toBe(`quantum:position:ledger:${S}`);
    expect(fleet.resultPublished(ID)).toBe(`quantum:apply:result_published:${ID}`);
    expect(() => k.permit('governor', ID)).toThrow(/needs the plan's symbol/);
  });

  it('when plans of many ids are spread over the masters then consume, lease and fenced intent scripts run on every node', async () => {
    const leases = new RedisLeaseScripts(client);
    const consume = readFileSync(join(luaDir(), 'consumePermits-N.lua'), 'utf8');
    const nodes = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const id = `${i.toString(16).padStart(2, '0')}${ID.slice(2)}`;
      const sym = `SYM${i}USDT`;
      const keys = [k.permitReceipt(id, sym), k.permit('governor', id, sym), k.permit('p33', id, sym)];
      await client.set(keys[1]!, `{"granted":true,"n":${i}}`, 'EX', 60);
      await client.set(keys[2]!, `{"allow":true,"n":${i}}`, 'EX', 60);
      const out = parseConsumeReply(await client.eval(consume, 3, ...keys, `tok${i}`, 60, '1'), 2);
      expect(out.kind).toBe('consumed');
      expect(await client.exists(keys[1]!, keys[2]!)).toBe(0);
      nodes.add(String(await client.cluster('KEYSLOT', keys[0]!)));

      const lease = k.symbolLease(sym);
      const intent = { intent: k.orderIntent(id, sym), lease, receipt: keys[0]! };
      expect((await leases.acquire(lease, 'me', 5000)).kind).toBe('acquired');
      expect(await leases.createIntent(intent, 'other', { state: 'sending' }, 60)).toBe('lease_lost');
      expect(await leases.createIntent(intent, 'me', { state: 'sending' }, 60, 'not-mine')).toBe(
        'not_consumed',
      );
      expect(await leases.createIntent(intent, 'me', { state: 'sending' }, 60, `tok${i}`)).toBe('written');
      expect(await leases.createIntent(intent, 'me', { state: 'sending' }, 60)).toBe('intent_exists');
    }
    expect(nodes.size).toBeGreaterThan(1);
  });

  it('when publishOnce and the ledger write run on the cluster then each runs in one slot', async () => {
    const publish = readFileSync(join(luaDir(), 'publishOnce-2.lua'), 'utf8');
    const args = [60, 0, 'plan_id', ID];
    expect(await client.eval(publish, 2, k.resultPublished(ID), k.resultStream(), ...args)).toEqual([
      'published',
      expect.any(String),
    ]);
    expect(await client.eval(publish, 2, k.resultPublished(ID), k.resultStream(), ...args)).toEqual([
      'exists',
    ]);
    // Two symbols' ledgers and the cursor in one script: one slot ({<prefix>ledger}).
    const ledgers = readFileSync(join(luaDir(), 'applyLedgerResults-N.lua'), 'utf8');
    const keys = [k.ledgerCursor(), k.positionLedger(S), k.positionLedger('SOLUSDT')];
    const entry = (id: string, ledger: number, amt: string) => [
      id,
      ledger,
      'any',
      '',
      `["last_known_amt","${amt}"]`,
      '1',
    ];
    expect(
      await client.eval(ledgers, 3, ...keys, 60, ...entry('5-0', 2, '1'), ...entry('6-0', 3, '2')),
    ).toEqual(['applied', 'applied']);
    expect(await client.eval(ledgers, 3, ...keys, 60, ...entry('4-0', 2, '9'))).toEqual(['already_applied']);
  });

  it('when the three services run as `all` on the cluster then every plan of three symbols is granted, ordered once and explained', async () => {
    const positions = { BTCUSDT: 0.4, ETHUSDT: -8, SOLUSDT: 400 };
    const symbols = Object.keys(positions);
    const paper: PaperExchange = await startPaperExchange({
      host: '127.0.0.1',
      port: 0,
      apiKey: 'paper-key',
      apiSecret: 'paper-secret',
      positions,
    });
    const prefix = 'e2e:';
    const url = `redis://127.0.0.1:${cluster.ports[1]}`;
    const store = new RedisStore({ url, prefix, cluster: true });
    await store.init();
    const env = {
      ...serviceEnv(url, prefix, paper.url),
      REDIS_CLUSTER: 'true',
      APPLY_POLL_SEC: '0.2',
      APPLY_PERMIT_STEP_MS: '20',
      SYMBOLS: symbols.join(','),
      APPLY_ALLOWLIST: symbols.join(','),
      P33_ALLOWLIST: symbols.join(','),
      P33_COOLDOWN_SEC: '0',
      GOV_MAX_EXEC_PER_HOUR: '1000',
      GOV_MAX_EXEC_PER_5MIN: '1000',
      GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD: '1000000000',
      GOV_MAX_REDUCE_QTY_PER_DAY: '1000000000',
      LOG_LEVEL: 'info',
    };
    const cli = runCli(['all'], env);
    try {
      for (const s of symbols) {
        await until(async () => Object.keys(await store.hgetall(store.keys.positionSnapshot(s))).length > 0);
      }
      const rounds = 3;
      for (let r = 0; r < rounds; r++) {
        // P3.3 allows only once its snapshot and its ledger both show the previous round's fill
        // (as in production: a plan between the two is denied as a quantity mismatch), and the
        // snapshot was read after the fill was seen (before that, its reservation still counts).
        for (const s of symbols) {
          const amt = Number(paper.state.positions.get(s));
          await until(async () => {
            const snap = await store.hgetall(store.keys.positionSnapshot(s));
            const done = Object.entries(await store.hgetall(store.keys.p33Reserved(s)))
              .filter(([f]) => f.startsWith('done:'))
              .map(([, at]) => Number(at));
            return (
              Number(snap.position_amt) === amt &&
              Number((await store.hgetall(store.keys.positionLedger(s))).last_known_amt) === amt &&
              done.every((at) => Number(snap.ts_epoch) > at + DONE_MARGIN_SEC)
            );
          }, 20_000);
        }
        for (const s of symbols) {
          await store.del([store.keys.proposal(s)]);
          await store.hset(store.keys.proposal(s), {
            harvest_action: 'PARTIAL_50',
            kill_score: '0.3',
            new_sl_proposed: '',
            computed_at_utc: freshComputedAt(r),
          });
        }
        await until(
          async () =>
            (await store.xrange(store.keys.resultStream(), '-', '+')).length === (r + 1) * symbols.length,
          20_000,
        );
      }
      const plans = await store.xrange(store.keys.planStream(), '-', '+');
      const results = await store.xrange(store.keys.resultStream(), '-', '+');
      expect(
        plans.map((p) => p.fields.decision),
        JSON.stringify(plans[0]?.fields),
      ).toEqual(Array(rounds * symbols.length).fill('EXECUTE'));
      for (const r of results) {
        const p33 = await store.get(store.keys.permitReceipt(r.fields.plan_id!, r.fields.symbol));
        expect(r.fields, `${JSON.stringify(r.fields)} p33: ${p33}`).toMatchObject({ executed: 'True' });
      }
      expect(new Set(results.map((r) => r.fields.plan_id)).size).toBe(results.length);
      const clientIds = paper.state.orders.map((o) => o.clientOrderId);
      expect(clientIds).toHaveLength(rounds * symbols.length);
      expect(new Set(clientIds).size).toBe(clientIds.length);
      // Every plan's keys live in its symbol's slot, and the symbols are spread over the masters.
      const slots = new Set(await Promise.all(symbols.map((s) => client.cluster('KEYSLOT', `{${s}}`))));
      expect(slots.size).toBeGreaterThan(1);
      const r0 = results[0]!.fields;
      const receipt = await store.get(store.keys.permitReceipt(r0.plan_id!, r0.symbol));
      expect(JSON.parse(receipt!)).toMatchObject({ bodies: [expect.any(String), expect.any(String)] });
      // The ledger followed the fills (cursor and ledgers in one slot).
      await until(async () => (await store.get(store.keys.ledgerCursor())) === results.at(-1)!.id);

      const explain = runCli(['explain', r0.plan_id!], env);
      explain.stop();
      expect(await explain.done).toBe(0);
      expect(explain.out.join('')).toMatch(/EXECUTE/);
      // status scans every master and reads permits by hash tag.
      await store.set(store.keys.permit('governor', 'ab'.repeat(8), 'SOLUSDT'), '{"granted":true}', {
        ttlSec: 60,
      });
      await store.set(store.keys.permit('p33', 'cd'.repeat(8), 'ETHUSDT'), '{"allow":true}', { ttlSec: 60 });
      const status = runCli(['status', '--json'], env);
      status.stop();
      expect(await status.done).toBe(0);
      const report = JSON.parse(status.out.join('')) as { permits: { scanned: number } };
      expect(report.permits.scanned).toBe(2);
    } finally {
      cli.stop();
      expect(await cli.done).toBe(0);
      await store.close();
      await paper.close();
    }
  }, 60_000);

  it('when the cluster ACLs are set on a node then each service may run its cluster-mode commands and apply still cannot mint a permit', async () => {
    const node = client.nodes('master')[0]!;
    const user = (svc: AclService) => `qa-${svc}`;
    for (const svc of ['apply', 'governor', 'p33'] as const)
      await node.call(
        'ACL',
        'SETUSER',
        ...aclSetUserArgs(user(svc), 'pw', svc, { prefix: 'c1:', cluster: true }),
      );
    const dry = (svc: AclService, ...cmd: string[]) => node.call('ACL', 'DRYRUN', user(svc), ...cmd);
    expect(await dry('governor', 'SET', k.governorPermit(ID, S), '{}')).toBe('OK');
    expect(await dry('governor', 'CLUSTER', 'SLOTS')).toBe('OK');
    expect(await dry('p33', 'SET', k.p33Permit(ID, S), '{}')).toBe('OK');
    expect(await dry('p33', 'HSET', k.positionLedger(S), 'last_known_amt', '1')).toBe('OK');
    expect(await dry('apply', 'SET', k.orderIntent(ID, S), 'x')).toBe('OK');
    expect(await dry('apply', 'DEL', k.governorPermit(ID, S))).toBe('OK');
    expect(await dry('apply', 'CLUSTER', 'INFO')).toBe('OK');
    expect(String(await dry('apply', 'SET', k.governorPermit(ID, S), '{}'))).toMatch(/no permissions/);
    expect(String(await dry('governor', 'SET', k.p33Permit(ID, S), '{}'))).toMatch(/no permissions/);
  });
});
