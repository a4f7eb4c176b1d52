import { afterAll, beforeAll, describe } from 'vitest';
import { systemClock } from '../../src/ops/clock.js';
import { createStore } from '../../src/store/index.js';
import { skipRedis, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { explainSuite } from './explain-suite.js';

describe.skipIf(skipRedis)('explain on a private Redis', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  explainSuite('redis store', async () => {
    const store = await createStore({ url: server.url, prefix: server.prefix() });
    return { store, clock: systemClock, exactTimes: false, cleanup: async () => {} };
  });
});
