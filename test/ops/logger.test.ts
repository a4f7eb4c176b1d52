import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { request } from 'node:http';
import { captureLogger, createLogger, flushLogger, planLogger, scrub } from '../../src/ops/logger.js';

describe('logger', () => {
  it('when secrets are logged as fields then they are redacted at any of the first levels', () => {
    const { logger, lines, text } = captureLogger();
    logger.info(
      {
        apiKey: 'K-111',
        config: { binance: { apiSecret: 'S-222', apiKey: 'K-333' } },
        headers: { 'X-MBX-APIKEY': 'K-444', authorization: 'Bearer A-555' },
        password: 'P-666',
        query: { signature: 'SIG-777' },
        a: { b: { c: { 'x-mbx-apikey': 'K-888', list: [{ Password: 'P-999' }] } } },
      },
      'request',
    );
    for (const s of ['K-111', 'S-222', 'K-333', 'K-444', 'A-555', 'P-666', 'SIG-777', 'K-888', 'P-999']) {
      expect(text()).not.toContain(s);
    }
    expect(lines()[0]).toMatchObject({
      apiKey: '<redacted>',
      config: { binance: { apiSecret: '<redacted>' } },
      headers: { 'X-MBX-APIKEY': '<redacted>', authorization: '<redacted>' },
      msg: 'request',
    });
  });

  it('when a child logger is bound to a secret then the binding is redacted', () => {
    const { logger, text, lines } = captureLogger();
    logger.child({ component: 'exchange', apiKey: 'K-CHILD' }).info('ready');
    expect(text()).not.toContain('K-CHILD');
    expect(lines()[0]).toMatchObject({ component: 'exchange', apiKey: '<redacted>' });
  });

  it('when an HTTP client error carries the request and its headers then no key is logged', () => {
    const { logger, text, lines } = captureLogger();
    const req = request({ host: '127.0.0.1', port: 9, headers: { 'X-MBX-APIKEY': 'K-RAW' } });
    req.on('error', () => {});
    const e = Object.assign(new Error('Request failed with status code 400'), {
      code: 'ERR_BAD_REQUEST',
      config: { url: '/fapi/v1/order', headers: { 'X-MBX-APIKEY': 'K-CONFIG' } },
      request: req,
      response: { status: 400, data: { code: -2022 } },
    });
    logger.error({ err: e }, 'order failed');
    logger.error(new Error('wrapped', { cause: e }));
    req.destroy();
    expect(text()).not.toMatch(/K-RAW|K-CONFIG/);
    expect(lines()[0]).toMatchObject({
      err: {
        type: 'Error',
        message: 'Request failed with status code 400',
        code: 'ERR_BAD_REQUEST',
        config: { headers: { 'X-MBX-APIKEY': '<redacted>' } },
        response: { status: 400, data: { code: -2022 } },
      },
    });
    expect(lines()[0]?.err).not.toHaveProperty('request');
    expect(lines()[1]).toMatchObject({ err: { message: 'wrapped', cause: { code: 'ERR_BAD_REQUEST' } } });
  });

  it('when an object holds no secret then scrub returns the same object', () => {
    const o = { plan: 'p', nested: { qty: '0.001', list: [1, 2] } };
    expect(scrub(o)).toBe(o);
    const withSecret = { nested: { apiSecret: 's' } };
    expect(scrub(withSecret)).toEqual({ nested: { apiSecret: '<redacted>' } });
    expect(withSecret.nested.apiSecret).toBe('s');
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
