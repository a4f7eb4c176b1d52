/**
 * One authority in its own process for bench/authorities.ts, as it runs in production:
 *   node --import tsx bench/lib/authority-worker.ts <governor|p33> <redisUrl> <prefix> <double|paperUrl>
 * Prints `ready` once consuming; stops gracefully on SIGTERM.
 */
import { DEFAULT_P33_LIMITS } from '../../src/domain/position/checks.js';
import { createBinanceExchange } from '../../src/exchange/binance/index.js';
import type { ExchangePort } from '../../src/exchange/port.js';
import { systemClock } from '../../src/ops/clock.js';
import { createLogger } from '../../src/ops/logger.js';
import { GovernorService } from '../../src/services/governor/service.js';
import { PositionBrainService } from '../../src/services/position-brain/service.js';
import { createStore } from '../../src/store/index.js';
import { FakeExchange } from '../../test/helpers/fake-exchange.js';
import { BENCH_POSITIONS, BENCH_SYMBOLS, LIFTED_GOVERNOR_LIMITS } from './authority-config.js';

async function main(): Promise<void> {
  const [authority, url, prefix, exchangeArg] = process.argv.slice(2);
  if (!authority || !url || prefix === undefined || !exchangeArg)
    throw new Error('usage: <authority> <url> <prefix> <exchange>');
  const logger = createLogger({ service: `bench-${authority}`, level: 'silent' });
  const store = await createStore({ url, prefix });
  const exchange: ExchangePort =
    exchangeArg === 'double'
      ? new FakeExchange(BENCH_POSITIONS, { BTCUSDT: 60000, ETHUSDT: 3000, SOLUSDT: 150 })
      : createBinanceExchange({ baseUrl: exchangeArg, apiKey: 'k', apiSecret: 's', logger });
  const service =
    authority === 'governor'
      ? new GovernorService({
          store,
          exchange,
          clock: systemClock,
          logger,
          autoApprove: false,
          consumer: `bench-${process.pid}`,
          limits: LIFTED_GOVERNOR_LIMITS,
        })
      : new PositionBrainService({
          store,
          exchange,
          clock: systemClock,
          logger,
          allowlist: BENCH_SYMBOLS,
          limits: DEFAULT_P33_LIMITS,
          pollSec: 2,
          permitTtlSec: 60,
          consumer: `bench-${process.pid}`,
        });
  if (service instanceof PositionBrainService) await service.snapshots.refresh();
  await service.consumer.ensureGroup();
  service.start();
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void (async () => {
      await service.stop();
      await exchange.close();
      await store.close();
      process.exit(0);
    })();
  });
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
