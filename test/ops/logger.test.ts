import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { request } from 'node:http';
import {
  captureLogger,
  createLogger,
  flushLogger,
  planLogger,
  scrub,
  STDOUT_BUFFER,
} from '../../src/ops/logger.js';

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
      const dest = pino.destination({ dest: file, sync: false, mkdir: true, ...STDOUT_BUFFER });
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

  describe('stdout, buffered (a process of its own)', () => {
    const LOGGER = resolve(import.meta.dirname, '../../src/ops/logger.ts');
    /** Runs `body` after `const log = createLogger(...)` in a child node; resolves with its stdout lines as soon as `until` holds. */
    const run = (body: string, until: (lines: Record<string, unknown>[]) => boolean) =>
      new Promise<{ lines: Record<string, unknown>[]; code: number | null }>((done, fail) => {
        const src = `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst log = createLogger({ service: 'apply' });\n${body}`;
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        const lines = () =>
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          fail(new Error(`no expected lines within 20 s: ${out}`));
        }, 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (until(lines())) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            done({ lines: lines(), code: null });
          }
        });
        child.on('exit', (code) => {
          clearTimeout(timer);
          done({ lines: lines(), code });
        });
      });

    it('when a few lines are logged and the process keeps running then they reach stdout anyway', async () => {
      // Far below the 4 KB that would fill the buffer: only the periodic flush writes them out.
      const { lines } = await run(
        `log.info({ n: 1 }, 'first'); log.info({ n: 2 }, 'second'); setInterval(() => {}, 1000);`,
        (ls) => ls.length >= 2,
      );
      expect(lines.map((l) => l.msg)).toEqual(['first', 'second']);
    });

    it('when the process crashes right after logging then the buffered lines are written before it dies', async () => {
      const { lines, code } = await run(
        `for (let i = 0; i < 5; i++) log.info({ i }, 'before the crash');\nsetImmediate(() => { throw new Error('boom'); });`,
        () => false,
      );
      expect(code).not.toBe(0);
      expect(lines.map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
    });
  });
});
