import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { captureLogger, createLogger, flushLogger, planLogger } from '../../src/ops/logger.js';

describe('logger', () => {
  it('when secrets are logged as fields then they are redacted at any of three levels', () => {
    const { logger, lines, text } = captureLogger();
    logger.info(
      {
        apiKey: 'K-111',
        config: { binance: { apiSecret: 'S-222', apiKey: 'K-333' } },
        headers: { 'X-MBX-APIKEY': 'K-444', authorization: 'Bearer A-555' },
        password: 'P-666',
        query: { signature: 'SIG-777' },
      },
      'request',
    );
    for (const s of ['K-111', 'S-222', 'K-333', 'K-444', 'A-555', 'P-666', 'SIG-777']) {
      expect(text()).not.toContain(s);
    }
    expect(lines()[0]).toMatchObject({
      apiKey: '<redacted>',
      config: { binance: { apiSecret: '<redacted>' } },
      headers: { 'X-MBX-APIKEY': '<redacted>', authorization: '<redacted>' },
      msg: 'request',
    });
  });

  it('when a plan logger is used then every line carries service, plan and symbol', () => {
    const { logger, lines } = captureLogger({ service: 'apply' });
    planLogger(logger, '9fc366d9a9b3ef10', 'BTCUSDT').info('[PERMIT_WAIT] OK plan=9fc366d9a9b3ef10');
    planLogger(logger, 'abc').warn('no symbol');
    expect(lines()).toMatchObject([
      { level: 'info', service: 'apply', plan: '9fc366d9a9b3ef10', symbol: 'BTCUSDT' },
      { level: 'warn', plan: 'abc' },
    ]);
    expect(lines()[1]).not.toHaveProperty('symbol');
  });

  it('when the level is warn then info lines are dropped', () => {
    const { logger, lines } = captureLogger({ level: 'warn' });
    logger.info('quiet');
    logger.error('loud');
    expect(lines().map((l) => l.msg)).toEqual(['loud']);
  });

  it('when an asynchronous destination is flushed then every line is on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qa-log-'));
    try {
      const file = join(dir, 'out.log');
      const dest = pino.destination({ dest: file, sync: false, mkdir: true });
      await new Promise((r) => dest.once('ready', r));
      const logger = createLogger({ service: 'apply', destination: dest });
      for (let i = 0; i < 200; i++) logger.info({ i }, 'line');
      await flushLogger(logger);
      const written = readFileSync(file, 'utf8').trim().split('\n');
      expect(written).toHaveLength(200);
      expect(JSON.parse(written[199] as string)).toMatchObject({ i: 199, service: 'apply' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
