/**
 * APPLY_INTENT_WAIT_REPLICAS: the order leaves only once the order intent is on that many
 * replicas (Redis WAIT); fewer within APPLY_INTENT_WAIT_MS, and the plan ends
 * intent_not_replicated with no order. A real master with one real replica.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { skipRedis, startRedis, type RedisServerHandle } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';
import { govBody, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';

describe.skipIf(skipRedis)('apply: WAIT on the order intent', () => {
  let master: RedisServerHandle;
  let replica: RedisServerHandle;
  let h: Harness | null = null;
  beforeAll(async () => {
    master = await startRedis();
    // A replica writes the RDB it receives into its dir: keep it out of the work tree.
    const dir = mkdtempSync(join(tmpdir(), 'qa-intent-wait-'));
    replica = await startRedis({ args: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)] });
    const r = new Redis(replica.url);
    await until(async () => String(await r.info('replication')).includes('master_link_status:up'), 15_000);
    r.disconnect();
  });
  afterAll(async () => {
    await replica?.stop();
    await master?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  async function runWith(replicas: number) {
    const t = (h = await makeHarness(
      { redisUrl: master.url, prefix: master.prefix() },
      { intentWait: { replicas, timeoutMs: 200 } },
    ));
    await t.service.start();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.3');
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length > 0, 2000, 'the plan');
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.0076));
    const [res] = await t.waitForResults(1);
    return { t, res: res!.fields };
  }

  it('when the one replica acknowledges the intent then the order is sent', async () => {
    const { t, res } = await runWith(1);
    expect(res).toMatchObject({ executed: 'True', error: '' });
    expect(t.exchange.orders).toHaveLength(1);
  });

  it('when two replicas are asked of a master with one then nothing is sent and the plan says why', async () => {
    const { t, res } = await runWith(2);
    expect(res).toMatchObject({ executed: 'False', error: 'intent_not_replicated' });
    expect(t.exchange.orders).toHaveLength(0);
    expect(t.exchange.calls.some((c) => c.method === 'placeReduceOnlyMarket')).toBe(false);
  });
});
