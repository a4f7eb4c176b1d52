import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseAmounts } from '../../src/cli/commands/paper-exchange.js';
import { createExchangeFromConfig } from '../../src/exchange/index.js';

describe('createExchangeFromConfig', () => {
  const liveKeys = { BINANCE_API_KEY: 'k', BINANCE_API_SECRET: 's' };
  it('when live is asked without the confirmation phrase then it refuses and says how to confirm', () => {
    const r = createExchangeFromConfig('live', { ...liveKeys, APPLY_LIVE_CONFIRM: 'yes' });
    expect(r).toMatchObject({ ok: false, reason: 'live_not_confirmed' });
    expect(!r.ok && r.message).toContain('APPLY_LIVE_CONFIRM=yes-real-money');
  });
  it('when live is confirmed but a live key is missing then it refuses, even with testnet keys set', () => {
    const r = createExchangeFromConfig('live', {
      BINANCE_API_KEY: 'k',
      BINANCE_TESTNET_API_KEY: 't',
      BINANCE_TESTNET_API_SECRET: 't',
      APPLY_LIVE_CONFIRM: 'yes-real-money',
    });
    expect(r).toMatchObject({ ok: false, reason: 'missing_binance_credentials' });
  });
  it('when live is confirmed with its own keys then it starts on production and says REAL MONEY without secrets', () => {
    const r = createExchangeFromConfig('live', {
      ...liveKeys,
      BINANCE_API_SECRET: 'topsecret',
      APPLY_LIVE_CONFIRM: 'yes-real-money',
    });
    expect(r).toMatchObject({ ok: true, live: true, baseUrl: 'https://fapi.binance.com' });
    expect(r.message).toContain('REAL MONEY');
    expect(r.message).not.toContain('topsecret');
  });
  it('when testnet mode is pointed at production then it refuses', () => {
    const r = createExchangeFromConfig('testnet', {
      BINANCE_FUTURES_BASE_URL: 'https://fapi.binance.com',
      BINANCE_TESTNET_API_KEY: 't',
      BINANCE_TESTNET_API_SECRET: 't',
    });
    expect(r).toMatchObject({ ok: false, reason: 'production_url_outside_live' });
  });
  it('when testnet mode has only the live keys then it refuses rather than using them', () => {
    expect(createExchangeFromConfig('testnet', liveKeys)).toMatchObject({
      ok: false,
      reason: 'missing_binance_credentials',
    });
  });
  it('when testnet mode has its keys then it defaults to the testnet URL, or BINANCE_FUTURES_BASE_URL', () => {
    const keys = { BINANCE_TESTNET_API_KEY: 't', BINANCE_TESTNET_API_SECRET: 't' };
    expect(createExchangeFromConfig('testnet', keys)).toMatchObject({
      ok: true,
      live: false,
      baseUrl: 'https://testnet.binancefuture.com',
    });
    expect(
      createExchangeFromConfig('dry_run', { ...keys, BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:8090' }),
    ).toMatchObject({ ok: true, baseUrl: 'http://127.0.0.1:8090' });
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
