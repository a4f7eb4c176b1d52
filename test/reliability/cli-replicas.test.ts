/**
 * `quantum-apply apply` twice on one Redis (the CLI as operators run it, leases on by default):
 * the same proposals give one order and one result per plan, and stopping the replica that holds
 * the leases hands its symbols to the other at once (released on a graceful stop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { planIdFor } from '../services/apply/harness.js';
import { audit, FakeAuthority, feed, PAPER_KEYS, POSITIONS, report, SYMBOLS } from './rig.js';
import { until } from '../helpers/wait.js';

function runApply(env: Record<string, string>) {
  let release: (r: string) => void = () => {};
  const stopped = new Promise<string>((r) => (release = r));
  const logs: string[] = [];
  const done = main(['node', 'quantum-apply', 'apply'], {
    env,
    stdout: () => {},
    stderr: () => {},
    waitForStop: () => stopped,
    logDestination: { write: (s: string) => void logs.push(s) },
    opsHost: '127.0.0.1',
  });
  const lines = () => logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { done, stop: () => release('test'), lines };
}

describe.skipIf(skipRedis)('apply replicas through the CLI', () => {
  const server = usePrivateRedis();
  let paper: PaperExchange;
  let store: Store;
  let authority: FakeAuthority;
  let env: Record<string, string>;
  beforeAll(async () => {
    paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS, positions: POSITIONS });
    const prefix = server.prefix();
    store = await createStore({ url: server.url, prefix });
    authority = new FakeAuthority(await createStore({ url: server.url, prefix }));
    authority.start();
    env = {
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: prefix,
      APPLY_MODE: 'testnet',
      SYMBOLS: SYMBOLS.join(','),
      APPLY_ALLOWLIST: SYMBOLS.join(','),
      APPLY_POLL_SEC: '0.1',
      APPLY_PERMIT_WAIT_MS: '1500',
      APPLY_LEASE_TTL_MS: '1000',
      APPLY_METRICS_PORT: '0',
      BINANCE_FUTURES_BASE_URL: paper.url,
      BINANCE_TESTNET_API_KEY: PAPER_KEYS.apiKey,
      BINANCE_TESTNET_API_SECRET: PAPER_KEYS.apiSecret,
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    await authority?.stop();
    await store?.close();
    await paper?.close();
  });

  it('when two CLI replicas run and the lease holder stops then every plan still has one order and one result', async () => {
    const a = runApply(env);
    await until(
      async () => (await store.get(store.keys.symbolLease('SOLUSDT'))) !== null,
      10_000,
      'a holds the leases',
    );
    const b = runApply(env);
    const ids: string[] = [];
    const round = async () => {
      const batch = await Promise.all(SYMBOLS.map(async (s) => planIdFor(s, await feed(store, s))));
      ids.push(...batch);
      await until(
        async () => {
          const have = new Set(
            (await store.xrange(store.keys.resultStream(), '-', '+')).map((e) => e.fields.plan_id),
          );
          return batch.every((id) => have.has(id));
        },
        10_000,
        'results',
      );
    };
    try {
      await round();
      await round();
      a.stop();
      expect(await a.done).toBe(0);
      await round();
      await round();
      expect(b.lines().some((l) => String(l.msg).startsWith('apply: lease on'))).toBe(true);
    } finally {
      a.stop();
      b.stop();
      await Promise.all([a.done, b.done]);
    }
    const r = await audit(store, paper);
    report('cli-replicas', r);
    expect(r.orders).toBe(ids.length);
    expect(r).toMatchObject({
      lost: [],
      duplicateResults: [],
      duplicateOrders: [],
      unpermitted: [],
      misreported: [],
      overclosed: [],
      doubleFilled: [],
    });
  }, 60_000);
});
