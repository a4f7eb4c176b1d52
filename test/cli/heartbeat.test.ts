/** Heartbeats of services sharing one exchange adapter (`all`) share its probe. */
import { describe, expect, it } from 'vitest';
import { startHeartbeat } from '../../src/cli/heartbeat.js';
import type { ServiceKit } from '../../src/cli/util.js';
import { systemClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { createRegistry } from '../../src/ops/metrics.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';

const cfg = { mode: 'testnet', binance: { baseUrl: 'http://127.0.0.1:1' } };

function countingExchange() {
  const e = { probes: 0, syncTime: async () => ++e.probes };
  return e;
}

describe('heartbeat exchange probe', () => {
  it('when three services beat over one adapter then the exchange is asked once, and another adapter on its own', async () => {
    const store = new MemoryStore({ clock: systemClock, sweepMs: 0 });
    const kit: ServiceKit = {
      logger: captureLogger().logger,
      registry: createRegistry(),
      env: {},
      requestStop: () => {},
    };
    const shared = countingExchange();
    const other = countingExchange();
    const beats = [
      startHeartbeat('apply', cfg, kit, store, shared, 60_000),
      startHeartbeat('governor', cfg, kit, store, shared, 60_000),
      startHeartbeat('position-brain', cfg, kit, store, shared, 60_000),
      startHeartbeat('apply', cfg, kit, store, other, 60_000),
    ];
    await Promise.all(beats.map((b) => b.stop()));
    expect(shared.probes).toBe(1);
    expect(other.probes).toBe(1);
    for (const b of beats) expect(b.health().exchange.lastOkMs).not.toBeNull();
    await store.close();
  });
});
