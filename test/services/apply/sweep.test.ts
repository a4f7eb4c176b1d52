/**
 * The periodic sweep with notifications on: a probe write per period instead of re-reading every
 * proposal, and a full re-read whenever the probe shows that a notification may have been missed
 * (subscriber connection lost, notifications not flowing), plus a periodic backstop.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { makeHarness, proposal, type Harness } from './harness.js';
import { sleep, until } from '../../helpers/wait.js';

/** Counts HGETALLs of proposal keys (what a full sweep does once per symbol). */
function countProposalReads(store: Store): { reads: () => number; reset: () => void } {
  let n = 0;
  const prefix = store.keys.proposal('');
  const original = store.hgetall.bind(store);
  store.hgetall = (key: string) => {
    if (key.startsWith(prefix)) n++;
    return original(key);
  };
  return { reads: () => n, reset: () => void (n = 0) };
}

/** True once a window of 8 sweep periods passed without a proposal read (a liveness bound only). */
const quiet =
  (count: { reads: () => number; reset: () => void }, periodMs = 50) =>
  async () => {
    count.reset();
    await sleep(8 * periodMs);
    return count.reads() === 0;
  };

describe('apply sweep on the memory store', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('when nothing changes then the periodic sweeps re-read no proposal, and the backstop re-reads all', async () => {
    h = await makeHarness('memory', { pollSec: 0.05, fullSweepEvery: 1000 });
    const count = countProposalReads(h.store);
    await h.service.start();
    await until(() => count.reads() >= 3, 5000, 'the start-up sweep');
    await until(quiet(count), 5000, 'sweeps that re-read nothing');
    await h.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    await h.waitForResults(1);
    expect(count.reads()).toBe(1); // its own notification

    await h.restartService({ fullSweepEvery: 2 });
    count.reset();
    await until(() => count.reads() >= 3 * 2, 5000, 'backstop sweeps');
  });
  it('when proposal reads keep failing then lastSweepOkMs stays put: a sweep that starts is no success', async () => {
    h = await makeHarness('memory', { notifications: false });
    const { service, store } = h;
    await service.start();
    await until(() => service.health().lastSweepOkMs > 0);
    const prefix = store.keys.proposal('');
    const original = store.hgetall.bind(store);
    store.hgetall = (key: string) =>
      key.startsWith(prefix) ? Promise.reject(new Error('connect ECONNREFUSED')) : original(key);
    await until(() => service.health().consecutiveFailures >= 3);
    const frozen = service.health().lastSweepOkMs;
    await until(() => service.health().consecutiveFailures >= 9);
    expect(service.health().lastSweepOkMs).toBe(frozen);
    store.hgetall = original;
    await until(() => service.health().lastSweepOkMs > frozen);
  });
});

describe.skipIf(skipRedis)('apply sweep on Redis', () => {
  const redis = usePrivateRedis();
  let admin: Redis;
  let h: Harness | null = null;
  beforeAll(async () => {
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
  });
  afterEach(async () => {
    await admin.config('SET', 'notify-keyspace-events', 'K$hgx');
    await h?.close();
    h = null;
  });
  const harness = async (pollSec: number) => {
    h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() }, { pollSec, fullSweepEvery: 1000 });
    const count = countProposalReads(h.store);
    await h.service.start();
    await until(() => count.reads() >= 3, 5000, 'the start-up sweep');
    return { h, count };
  };

  it('when the subscriber connection was lost then the next probe re-reads every proposal', async () => {
    const { count } = await harness(0.05);
    await until(quiet(count), 5000, 'sweeps that re-read nothing');
    const epoch = h!.store.notificationEpoch();
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await until(() => h!.store.notificationEpoch() > epoch, 5000, 'the subscriber to notice');
    await until(() => count.reads() >= 3, 5000, 'a full sweep after the gap');
    // Once reconnected, the chain of probes holds again.
    await until(quiet(count), 5000, 'quiet sweeps after the reconnect');
  });

  it('when notifications stop flowing then a proposal written meanwhile is still picked up by a sweep', async () => {
    await harness(0.05);
    await admin.config('SET', 'notify-keyspace-events', '');
    await h!.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    const [res] = await h!.waitForResults(1, 3000);
    expect(res?.fields).toMatchObject({ symbol: 'SOLUSDT', decision: 'SKIP', error: 'action_hold' });
  });
});
