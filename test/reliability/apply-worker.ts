/**
 * One apply replica in its own process, configured only through its environment like the CLI
 * (REDIS_URL, REDIS_KEY_PREFIX, APPLY_*, BINANCE_FUTURES_BASE_URL), plus APPLY_LEASE_TTL_MS and
 * QUANTUM_TEST_CRASH_AT (read by src/services/apply/orders.ts). Logs JSON to stdout;
 * prints {"msg":"worker ready"} once running; stops gracefully on SIGTERM.
 *   node --import tsx test/reliability/apply-worker.ts
 */
import { applyOptionsFrom } from '../../src/cli/commands/apply.js';
import { systemClock } from '../../src/ops/clock.js';
import { loadApplyConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { SymbolLeases } from '../../src/services/apply/lease.js';
import { ApplyService } from '../../src/services/apply/service.js';
import { createStore } from '../../src/store/index.js';
import { paperAdapter } from './rig.js';

async function main(): Promise<void> {
  const cfg = loadApplyConfig(process.env);
  const logger = createLogger({ service: 'apply', level: 'info' });
  const store = await createStore({
    url: cfg.redis.url,
    prefix: cfg.redis.keyPrefix,
    cluster: cfg.redis.cluster,
    commandTimeout: 1000,
  });
  const exchange = paperAdapter({ url: cfg.binance.baseUrl });
  let service: ApplyService | null = null;
  const ttlMs = Number(process.env.APPLY_LEASE_TTL_MS ?? 1000);
  // APPLY_LEASE_TTL_MS=0: one process without leases (its start-up scan recovers instead).
  const leases =
    ttlMs > 0
      ? new SymbolLeases(store, cfg.symbols, {
          ttlMs,
          clock: systemClock,
          logger,
          onAcquired: () => service?.sweep(),
        })
      : null;
  await leases?.start();
  service = new ApplyService(
    { store, exchange, clock: systemClock, logger, ...(leases ? { ownership: leases } : {}) },
    { ...applyOptionsFrom(cfg), retryMinMs: 50, retryMaxMs: 500 },
  );
  await service.start();
  logger.info({ owned: leases?.owned() ?? cfg.symbols }, 'worker ready');
  const s = service;
  process.once('SIGTERM', () => {
    void (async () => {
      await s.stop();
      await leases?.stop();
      await Promise.allSettled([exchange.close(), store.close()]);
      logger.flush();
      process.exit(0);
    })();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`apply-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
