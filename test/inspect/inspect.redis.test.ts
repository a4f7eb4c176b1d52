import { describe } from 'vitest';
import { systemClock } from '../../src/ops/clock.js';
import { createStore } from '../../src/store/index.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { explainSuite, type InspectUnderTest } from './explain-suite.js';
import { statusSuite } from './status-suite.js';

describe.skipIf(skipRedis)('inspect on a private Redis', () => {
  const server = usePrivateRedis();

  // Each test gets its own key prefix, so the suites share one server without seeing each other.
  const redis = async (): Promise<InspectUnderTest> => {
    const store = await createStore({ url: server.url, prefix: server.prefix() });
    return { store, clock: systemClock, exactTimes: false, cleanup: async () => {} };
  };
  explainSuite('redis store', redis);
  statusSuite('redis store', redis);
});
