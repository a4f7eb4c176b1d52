import { describe, expect, it } from 'vitest';
import { loadApplyConfig, loadGovernorConfig, loadP33Config } from '../../src/ops/config.js';
import { PRODUCTION_WS_URL, TESTNET_WS_URL } from '../../src/ops/config/user-stream.js';
import { configError } from '../helpers/config-error.js';

const LIVE = {
  APPLY_MODE: 'live',
  APPLY_LIVE_CONFIRM: 'yes-real-money',
  BINANCE_API_KEY: 'k',
  BINANCE_API_SECRET: 's',
};

describe('BINANCE_USER_STREAM', () => {
  it('is on by default against Binance in testnet and live, on the private base in live', () => {
    expect(loadApplyConfig({ APPLY_MODE: 'testnet' }).userStream).toEqual({
      enabled: true,
      wsBaseUrl: TESTNET_WS_URL,
      silenceMs: 10_000,
    });
    expect(loadApplyConfig(LIVE).userStream).toMatchObject({ enabled: true, wsBaseUrl: PRODUCTION_WS_URL });
    expect(PRODUCTION_WS_URL).toBe('wss://fstream.binance.com/private');
  });

  it('is off by default in dry_run and against a paper exchange, unless asked', () => {
    expect(loadApplyConfig({}).userStream.enabled).toBe(false);
    const paper = { APPLY_MODE: 'testnet', BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:8090' };
    expect(loadGovernorConfig(paper).userStream.enabled).toBe(false);
    expect(
      loadP33Config({ ...paper, BINANCE_USER_STREAM: 'on', BINANCE_FUTURES_WS_URL: 'ws://127.0.0.1:8090/' })
        .userStream,
    ).toEqual({ enabled: true, wsBaseUrl: 'ws://127.0.0.1:8090', silenceMs: 10_000 });
    expect(loadApplyConfig({ APPLY_MODE: 'testnet', BINANCE_USER_STREAM: 'off' }).userStream.enabled).toBe(
      false,
    );
  });

  it('names the variable on a bad value', () => {
    for (const [variable, value] of [
      ['BINANCE_USER_STREAM', 'yes'],
      ['BINANCE_FUTURES_WS_URL', 'https://fstream.binancefuture.com'],
      ['BINANCE_USER_STREAM_SILENCE_SEC', '0'],
    ] as const) {
      const err = configError(() => loadApplyConfig({ APPLY_MODE: 'testnet', [variable]: value }));
      expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    }
  });

  it('refuses the production stream host outside live mode', () => {
    const err = configError(() =>
      loadGovernorConfig({
        APPLY_MODE: 'testnet',
        BINANCE_FUTURES_WS_URL: 'wss://FSTREAM.binance.com/private',
      }),
    );
    expect(err.problems.map((p) => p.variable)).toEqual(['BINANCE_FUTURES_WS_URL']);
    expect(err.message).toContain('test-trading host');
  });
});
