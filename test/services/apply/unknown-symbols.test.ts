/**
 * A proposal under a symbol not in SYMBOLS (a typo: `BTCUSTD`, `btcusdt`) yields no plan; it is
 * counted, and each symbol is logged once an hour with the symbol it likely meant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../../src/ops/logger.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { UNKNOWN_SYMBOL_LOG_EVERY_MS, UnknownSymbols } from '../../../src/services/apply/unknown-symbols.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { sleep, until } from '../../helpers/wait.js';
import { logLines, makeHarness, proposal, type Harness } from './harness.js';

const WARNING = 'apply: proposal under';

describe.skipIf(skipRedis)('apply and proposals under unknown symbols (real Redis)', () => {
  const redis = usePrivateRedis({ notifyKeyspaceEvents: 'K$hgx' });
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('when proposals are written under typos of a symbol then each write is counted, each symbol logged once, and no plan made', async () => {
    const t = (h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() }));
    await t.service.start();
    expect(t.store.notificationsActive()).toBe(true);
    for (const symbol of ['BTCUSTD', 'BTCUSTD', 'btcusdt', 'BTCUSTD'])
      await t.writeProposal(symbol, proposal('FULL_CLOSE_PROPOSED', '0.1'));
    await until(() => t.metrics.count('unknownSymbolProposal') >= 4, 3000, 'four proposals counted');
    // Deleting a typo'd key writes no proposal.
    await t.store.del([t.store.keys.proposal('BTCUSTD')]);
    await sleep(200);
    expect(t.metrics.count('unknownSymbolProposal')).toBe(4);
    const lines = logLines(t.log, WARNING);
    expect(lines.map((l) => [l.symbol, l.meant, l.level])).toEqual([
      ['BTCUSTD', 'BTCUSDT', 'warn'],
      ['btcusdt', 'BTCUSDT', 'warn'],
    ]);
    expect(lines[0]!.msg).toBe('apply: proposal under "BTCUSTD" ignored: not in SYMBOLS (meant BTCUSDT?)');
    expect(await t.plans()).toEqual([]);
  });
});

describe('the unknown-symbol warning', () => {
  const make = () => {
    const clock = new ManualClock(Date.parse('2026-01-25T03:00:00Z'));
    const log = captureLogger({ level: 'debug' });
    let counted = 0;
    const u = new UnknownSymbols({
      symbols: ['BTCUSDT', 'ETHUSDT'],
      clock,
      logger: log.logger,
      count: () => counted++,
    });
    return { u, clock, log, counted: () => counted };
  };

  it('when a symbol keeps coming then it is logged again only after an hour, and counted every time', () => {
    const { u, clock, log, counted } = make();
    u.seen('BTCUSTD');
    clock.advance(UNKNOWN_SYMBOL_LOG_EVERY_MS - 1);
    u.seen('BTCUSTD');
    expect(logLines(log, WARNING)).toHaveLength(1);
    clock.advance(1);
    u.seen('BTCUSTD');
    expect(logLines(log, WARNING)).toHaveLength(2);
    expect(counted()).toBe(3);
  });

  it('when the key holds a huge symbol then only its first characters are logged and remembered', () => {
    const { u, log } = make();
    u.seen('X'.repeat(100_000));
    u.seen(`${'X'.repeat(64)}Y`);
    const lines = logLines(log, WARNING);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ symbol: 'X'.repeat(64), symbol_chars: 100_000, meant: null });
    expect(lines[0]!.msg).toBe(`apply: proposal under "${'X'.repeat(64)}" ignored: not in SYMBOLS`);
  });
});
