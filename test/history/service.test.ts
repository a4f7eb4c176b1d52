/**
 * The recorder as a service: a database that cannot be opened at start holds back nothing (the
 * start returns at once, the health says why, a stop ends the retries), and one that opens is
 * recorded into.
 */
import { describe, expect, it } from 'vitest';
import { startHistoryService } from '../../src/history/service.js';
import { systemClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { createRegistry } from '../../src/ops/metrics.js';
import { createStore } from '../../src/store/index.js';
import { freePort } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const settings = (url: string) => ({ url, retentionDays: 0, batch: 100 });

describe('history service', () => {
  it('when the database is unreachable then it reports why, retries, and stops when asked', async () => {
    const store = await createStore({ memory: true });
    const logs = captureLogger({ level: 'info' });
    const port = await freePort();
    const svc = startHistoryService({
      store,
      settings: settings(`postgres://postgres@127.0.0.1:${port}/nothing`),
      clock: systemClock,
      logger: logs.logger,
      registry: createRegistry(),
      openRetryMinMs: 20,
    });
    await until(() => svc.health().detail.history === 'database_unreachable', 8000, 'the health to say so');
    expect(svc.health().ok).toBe(false);
    await until(
      () => logs.lines().filter((l) => l.msg === 'history: database not open yet; retrying').length >= 2,
      8000,
      'a retry',
    );
    await svc.stop();
    await store.close();
  });

  it('when the database opens then what the streams hold is recorded and settle says how much', async () => {
    const store = await createStore({ memory: true });
    await store.xadd(store.keys.governorDecisions(), {
      plan_id: '',
      symbol: '',
      decision: 'DISARMED',
      reason: 'maintenance',
      timestamp: '1769342400.000',
      by: 'ops',
    });
    const svc = startHistoryService({
      store,
      settings: settings('sqlite::memory:'),
      clock: systemClock,
      logger: captureLogger({ level: 'info' }).logger,
      registry: createRegistry(),
      idleMs: 10,
    });
    expect(await svc.settle(Date.now() + 8000)).toEqual({ plans: 0, decisions: 1, results: 0, orders: 0 });
    expect(svc.health()).toEqual({ ok: true, detail: { history: 'recording' } });
    await svc.stop();
    await store.close();
  });
});
