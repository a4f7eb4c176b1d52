import { describe, expect, it } from 'vitest';
import {
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  PRODUCTION_BASE_URL,
} from '../../src/ops/config.js';
import { loadInspectConfig } from '../../src/inspect/config.js';
import { nonLiveHostProblem } from '../../src/ops/config/exchange-host.js';
import { configError } from '../helpers/config-error.js';

const LOADERS = {
  apply: loadApplyConfig,
  governor: loadGovernorConfig,
  p33: loadP33Config,
  inspect: loadInspectConfig,
};

const PRODUCTION_SPELLINGS = [
  'https://fapi.binance.com.',
  'https://fapi.binance.com..',
  'https://FAPI.Binance.COM',
  'https://FAPI.BINANCE.COM./',
  'https://fapi%2ebinance.com',
  'https://ｆａｐｉ.binance.com',
  'https://fapi.binance.com:443/fapi',
  'https://binance.com',
  'https://www.binance.com',
  'https://fapi-mm.binance.com',
  'https://dapi.binance.com.',
];

const PUBLIC_IPS = [
  'https://52.84.150.39',
  'https://0x34.0x54.0x96.0x27',
  'https://877958695',
  'https://52.84.150.39.',
  'https://[2600:9000:2000::1]',
  'https://[::ffff:52.84.150.39]',
  'http://100.64.0.1:8090',
  'http://0.0.0.0:8090',
];

const ALLOWED = [
  'https://testnet.binancefuture.com',
  'https://TESTNET.binancefuture.com.',
  'https://demo-fapi.binance.com',
  'https://Demo-FAPI.binance.com./',
  'http://localhost:8090',
  'http://paper.internal:8090',
  'http://127.0.0.1:8090',
  'http://0x7f.1:8090',
  'http://10.1.2.3:8090',
  'http://172.31.0.9:8090',
  'http://192.168.1.20:8090',
  'http://169.254.10.10:8090',
  'http://[::1]:8090',
  'http://[fd12:3456::1]:8090',
  'http://[fe80::1]:8090',
  'http://[::ffff:127.0.0.1]:8090',
  'https://fapi.binance.com.evil.example',
];

/** Every service's config names only BINANCE_FUTURES_BASE_URL, saying `says` (the one place that refuses it). */
function expectRefusedInTestnet(url: string, says: readonly string[]) {
  for (const [name, load] of Object.entries(LOADERS)) {
    const err = configError(() => load({ APPLY_MODE: 'testnet', BINANCE_FUTURES_BASE_URL: url }));
    expect(
      err.problems.map((p) => p.variable),
      name,
    ).toEqual(['BINANCE_FUTURES_BASE_URL']);
    for (const text of says) expect(err.message, name).toContain(text);
  }
}

describe('BINANCE_FUTURES_BASE_URL outside live mode', () => {
  it.each(PRODUCTION_SPELLINGS)(
    'when APPLY_MODE=testnet and the URL is %j then every service refuses it as a Binance production host',
    (url) => {
      expectRefusedInTestnet(url, [
        'BINANCE_FUTURES_BASE_URL: expected a test-trading host unless APPLY_MODE=live',
        'may trade real money',
      ]);
    },
  );

  it.each(PUBLIC_IPS)(
    'when APPLY_MODE=testnet and the URL is the public address %j then every service refuses it',
    (url) => {
      expectRefusedInTestnet(url, ['public IP address, which may be the production exchange']);
      expect(nonLiveHostProblem(url)).toBe('public_ip_address');
    },
  );

  it.each(ALLOWED)('when APPLY_MODE=testnet and the URL is %j then it is accepted', (url) => {
    expect(nonLiveHostProblem(url)).toBeNull();
    for (const load of Object.values(LOADERS)) {
      expect(() => load({ APPLY_MODE: 'testnet', BINANCE_FUTURES_BASE_URL: url })).not.toThrow();
    }
  });

  it('when APPLY_MODE=dry_run then a production host is refused as in testnet', () => {
    expect(
      configError(() => loadGovernorConfig({ BINANCE_FUTURES_BASE_URL: 'https://FAPI.binance.com.' }))
        .problems[0]?.variable,
    ).toBe('BINANCE_FUTURES_BASE_URL');
  });

  it('when APPLY_MODE=live then the production host is accepted however spelt', () => {
    const live = {
      APPLY_MODE: 'live',
      APPLY_LIVE_CONFIRM: 'yes-real-money',
      BINANCE_API_KEY: 'k',
      BINANCE_API_SECRET: 's',
    };
    expect(loadApplyConfig(live).binance.baseUrl).toBe(PRODUCTION_BASE_URL);
    expect(
      loadP33Config({ ...live, BINANCE_FUTURES_BASE_URL: 'https://FAPI.binance.com.' }).binance.credentials,
    ).toBe('live');
  });
});
