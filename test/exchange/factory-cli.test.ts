import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseAmounts } from '../../src/cli/commands/paper-exchange.js';
import { openApplyExchange } from '../../src/cli/commands/apply.js';
import { openExchange } from '../../src/exchange/index.js';
import { loadApplyConfig, type Env } from '../../src/ops/config.js';
import { captureLogger } from '../../src/ops/logger.js';
import { createRegistry } from '../../src/ops/metrics.js';
import { configError } from '../helpers/config-error.js';

/** From the environment to the adapter: the config loader checks, openExchange builds. */
function opened(env: Env) {
  const cfg = loadApplyConfig(env);
  return { cfg, ...openExchange(cfg.mode, cfg.binance) };
}

describe('openExchange', () => {
  const liveKeys = { BINANCE_API_KEY: 'k', BINANCE_API_SECRET: 's' };
  const live = { APPLY_MODE: 'live', APPLY_LIVE_CONFIRM: 'yes-real-money' };
  const testnetKeys = { BINANCE_TESTNET_API_KEY: 't', BINANCE_TESTNET_API_SECRET: 't' };
  it('when live is asked without the confirmation phrase then the config refuses and says how to confirm', () => {
    const err = configError(() => opened({ ...liveKeys, APPLY_MODE: 'live', APPLY_LIVE_CONFIRM: 'yes' }));
    expect(err.problems.map((p) => p.variable)).toEqual(['APPLY_LIVE_CONFIRM']);
    expect(err.message).toContain('yes-real-money');
  });
  it('when live is confirmed but a live key is missing then the config refuses, even with testnet keys set', () => {
    expect(() => opened({ ...live, ...testnetKeys, BINANCE_API_KEY: 'k' })).toThrow(/BINANCE_API_SECRET/);
  });
  it('when live is confirmed with its own keys then it opens on production and says REAL MONEY without secrets', async () => {
    const r = opened({ ...live, ...liveKeys, BINANCE_API_SECRET: 'topsecret' });
    expect(r.cfg.binance.baseUrl).toBe('https://fapi.binance.com');
    expect(r.credentialed).toBe(true);
    expect(r.message).toContain('REAL MONEY');
    expect(r.message).not.toContain('topsecret');
    await r.exchange.close();
  });
  it('when testnet mode is pointed at production then the config refuses', () => {
    expect(() =>
      opened({ APPLY_MODE: 'testnet', BINANCE_FUTURES_BASE_URL: 'https://fapi.binance.com', ...testnetKeys }),
    ).toThrow(/BINANCE_FUTURES_BASE_URL/);
  });
  it('when testnet mode has only the live keys then it opens on public endpoints rather than using them', async () => {
    const r = opened({ APPLY_MODE: 'testnet', ...liveKeys });
    expect(r.credentialed).toBe(false);
    await r.exchange.close();
  });
  it('when testnet mode has its keys then it defaults to the testnet URL, or BINANCE_FUTURES_BASE_URL', async () => {
    const r = opened({ APPLY_MODE: 'testnet', ...testnetKeys });
    expect(r).toMatchObject({ credentialed: true });
    expect(r.message).toContain('https://testnet.binancefuture.com');
    expect(r.message).toContain('BINANCE_TESTNET_API_KEY');
    const local = opened({ ...testnetKeys, BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:8090' });
    expect(local.message).toBe(
      'dry_run mode: exchange http://127.0.0.1:8090 (credentials from BINANCE_TESTNET_API_KEY/BINANCE_TESTNET_API_SECRET)',
    );
    await Promise.all([r.exchange.close(), local.exchange.close()]);
  });
  it('when apply opens its exchange then it uses the loaded config, not the raw environment again', async () => {
    const cfg = loadApplyConfig({ APPLY_MODE: 'testnet', ...testnetKeys });
    const log = captureLogger({ level: 'info' });
    const exchange = openApplyExchange(cfg, {
      logger: log.logger,
      registry: createRegistry(),
      env: {},
      requestStop: () => undefined,
    });
    expect(
      log
        .lines()
        .some((l) => String(l.msg).startsWith('testnet mode: exchange https://testnet.binancefuture.com')),
    ).toBe(true);
    await exchange.close();
  });
});

describe('quantum-apply paper-exchange', () => {
  it('when started with --positions then it prints where it listens and serves those positions until stopped', async () => {
    let out = '';
    let state: { positions: Record<string, string> } | null = null;
    const code = await main(
      ['node', 'quantum-apply', 'paper-exchange', '--port', '0', '--positions', 'BTCUSDT=0.5,ETHUSDT=-2'],
      {
        env: {},
        stdout: (t) => (out += t),
        stderr: (t) => (out += t),
        waitForStop: async () => {
          const url = /listening on (http:\/\/[^\s]+)/.exec(out)?.[1];
          state = (await (await fetch(`${url}/paper/state`)).json()) as typeof state;
          return 'test';
        },
      },
    );
    expect(code).toBe(0);
    expect(out).toMatch(/paper exchange listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(state!.positions).toMatchObject({ BTCUSDT: '0.5', ETHUSDT: '-2' });
    expect(out).toContain('stopped (test)');
  });
  it('when --positions is malformed then the command fails with the offending pair', async () => {
    let err = '';
    const code = await main(['node', 'quantum-apply', 'paper-exchange', '--positions', 'BTCUSDT:0.5'], {
      env: {},
      stdout: () => undefined,
      stderr: (t) => (err += t),
    });
    expect(code).not.toBe(0);
    expect(err).toContain('BTCUSDT:0.5');
    expect(() => parseAmounts('ETHUSDT=-2,SOLUSDT=10')).not.toThrow();
    expect(parseAmounts('ETHUSDT=-2,SOLUSDT=10')).toEqual({ ETHUSDT: -2, SOLUSDT: 10 });
  });
});
