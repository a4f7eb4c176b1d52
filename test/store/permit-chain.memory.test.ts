import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { chainSuite } from './chain-suite.js';

chainSuite(
  'memory',
  async () => {
    const store = new MemoryStore({ sweepMs: 20, prefix: 'c:' });
    return {
      consumers: Array.from({ length: 8 }, () => store),
      writer: store,
      openSubscriptions: async () => store.listenerCount(),
      close: () => store.close(),
    };
  },
  1000,
);
