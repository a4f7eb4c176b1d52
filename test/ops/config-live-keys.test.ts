/**
 * Outside live mode only the testnet pair is read: the live pair (BINANCE_API_KEY/_SECRET) set
 * there is named in a warning and used by no service, whatever it is.
 */
import { describe, expect, it } from 'vitest';
import {
  configWarnings,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  type Env,
} from '../../src/ops/config.js';
import { loadAllConfig } from '../../src/cli/commands/all.js';
import { runCli } from '../helpers/cli.js';

const LIVE_PAIR = { BINANCE_API_KEY: 'LIVE-KEY-5521', BINANCE_API_SECRET: 'LIVE-SECRET-5521' };
const LOADERS = { apply: loadApplyConfig, governor: loadGovernorConfig, p33: loadP33Config } as const;

describe('the live pair outside live mode', () => {
  describe.each(['dry_run', 'testnet'])('APPLY_MODE=%s', (mode) => {
    it.each(Object.keys(LOADERS) as (keyof typeof LOADERS)[])(
      'when only the live pair is set then %s has no credentials and warns naming both variables',
      (name) => {
        const cfg = LOADERS[name]({ APPLY_MODE: mode, ...LIVE_PAIR } as Env);
        expect(cfg.binance).toMatchObject({ credentials: 'testnet', apiKey: null, apiSecret: null });
        const warnings = configWarnings(cfg);
        expect(warnings.map((w) => w.variable)).toEqual(['BINANCE_API_KEY', 'BINANCE_API_SECRET']);
        const text = JSON.stringify(warnings);
        expect(text).not.toContain('LIVE-KEY-5521');
        expect(text).not.toContain('LIVE-SECRET-5521');
      },
    );

    it('when both pairs are set then the testnet pair is used and the live pair is still named', () => {
      const cfg = loadGovernorConfig({
        APPLY_MODE: mode,
        ...LIVE_PAIR,
        BINANCE_TESTNET_API_KEY: 'tk',
        BINANCE_TESTNET_API_SECRET: 'ts',
      });
      expect(cfg.binance).toMatchObject({ apiKey: 'tk', apiSecret: 'ts' });
      expect(configWarnings(cfg).map((w) => w.variable)).toContain('BINANCE_API_KEY');
    });
  });

  it('when the mode is live then the live pair is used without a warning', () => {
    const cfg = loadP33Config({ APPLY_MODE: 'live', ...LIVE_PAIR });
    expect(cfg.binance).toMatchObject({ credentials: 'live', apiKey: 'LIVE-KEY-5521' });
    expect(configWarnings(cfg)).toEqual([]);
  });

  it('when all holds three configs then each live variable is warned about once', () => {
    const warnings = configWarnings(loadAllConfig({ ...LIVE_PAIR }));
    expect(warnings.map((w) => w.variable)).toEqual(['BINANCE_API_KEY', 'BINANCE_API_SECRET']);
  });

  it('when check-config governor runs in dry_run then it warns by name and prints no credentials', async () => {
    const r = runCli(['check-config', 'governor'], { APPLY_MODE: 'dry_run', ...LIVE_PAIR });
    expect(await r.done).toBe(0);
    const err = r.err.join('');
    expect(err).toMatch(/warning: BINANCE_API_KEY is set but APPLY_MODE=dry_run: ignored/);
    expect(err).toMatch(/warning: BINANCE_API_SECRET is set/);
    const printed = JSON.parse(r.out.join('')) as { governor: { binance: object } };
    expect(printed.governor.binance).toMatchObject({ credentials: 'testnet', apiKey: null, apiSecret: null });
    expect(r.out.join('') + err).not.toContain('5521');
  });
});
