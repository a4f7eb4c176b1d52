import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ConfigError,
  describeConfig,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  loadPaperConfig,
  PRODUCTION_BASE_URL,
  redactUrl,
  TESTNET_BASE_URL,
  type Env,
} from '../../src/ops/config.js';
import { configError } from '../helpers/config-error.js';

const LIVE_OK: Env = {
  APPLY_MODE: 'live',
  APPLY_LIVE_CONFIRM: 'yes-real-money',
  BINANCE_API_KEY: 'live-key-1',
  BINANCE_API_SECRET: 'live-secret-1',
};

describe('config defaults', () => {
  it('when the env is empty then the apply config holds the contract defaults', () => {
    const cfg = loadApplyConfig({});
    expect(cfg).toMatchObject({
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: '', cluster: false },
      logLevel: 'info',
      mode: 'dry_run',
      symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
      allowlist: ['BTCUSDT'],
      pollSec: 5,
      dedupeTtlSec: 21600,
      kBlockCritical: 0.8,
      kBlockWarning: 0.6,
      killSwitch: false,
      metricsPort: 8043,
      permitWaitMs: 1200,
      permitStepMs: 100,
      requiredAuthorities: ['governor', 'p33'],
      binance: { baseUrl: TESTNET_BASE_URL, credentials: 'testnet', apiKey: null, apiSecret: null },
    });
  });

  it('when the env is empty then governor, p33 and paper configs hold their defaults', () => {
    expect(loadGovernorConfig({})).toMatchObject({
      maxExecPerHour: 3,
      maxExecPer5Min: 2,
      maxReduceNotionalPerDayUsd: 5000,
      maxReduceQtyPerDay: 0.02,
      killScoreCritical: 0.8,
      autoApprove: false,
      maxInFlight: 256,
      metricsPort: 8044,
    });
    expect(loadP33Config({})).toMatchObject({
      pollSec: 5,
      staleThresholdSec: 10,
      qtyTolerancePct: 1,
      cooldownSec: 15,
      permitTtlSec: 60,
      allowlist: ['BTCUSDT'],
      maxInFlight: 256,
      metricsPort: 8045,
    });
    expect(loadPaperConfig({})).toMatchObject({ apiKey: 'paper-key', apiSecret: 'paper-secret', port: 8090 });
  });

  it('when a config is loaded then it is deeply frozen', () => {
    const cfg = loadApplyConfig({});
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.symbols)).toBe(true);
    expect(() => {
      (cfg.redis as { url: string }).url = 'redis://elsewhere:1';
    }).toThrow(TypeError);
    expect(() => (cfg.allowlist as string[]).push('ETHUSDT')).toThrow(TypeError);
  });

  it('when unknown variables are present then they are ignored', () => {
    const cfg = loadApplyConfig({ QUANTUM_SOMETHING: '%%', HOME: '/root', EXIT_BRAIN_MODE: 'x' });
    expect(cfg.mode).toBe('dry_run');
  });
});

describe('config parsing', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    [' Yes ', true],
    ['false', false],
    ['0', false],
    ['NO', false],
  ])('when APPLY_KILL_SWITCH=%j then killSwitch is %s', (raw, expected) => {
    expect(loadApplyConfig({ APPLY_KILL_SWITCH: raw }).killSwitch).toBe(expected);
  });

  it.each(['nan', 'NaN', 'inf', 'Infinity', '-inf', '', ' ', '5abc', '0x10', '1e', '1,5', '--1'])(
    'when APPLY_POLL_SEC=%j then it is rejected',
    (raw) => {
      const err = configError(() => loadApplyConfig({ APPLY_POLL_SEC: raw }));
      expect(err.problems.map((p) => p.variable)).toEqual(['APPLY_POLL_SEC']);
    },
  );

  it('when APPLY_POLL_SEC is a fraction then it is accepted, and zero or negative is not', () => {
    expect(loadApplyConfig({ APPLY_POLL_SEC: ' 0.25 ' }).pollSec).toBe(0.25);
    expect(loadApplyConfig({ APPLY_POLL_SEC: '1e-1' }).pollSec).toBe(0.1);
    expect(configError(() => loadApplyConfig({ APPLY_POLL_SEC: '0' })).problems).toHaveLength(1);
    expect(configError(() => loadApplyConfig({ APPLY_POLL_SEC: '-1' })).problems).toHaveLength(1);
  });

  it('when an integer variable gets a fraction then it is rejected', () => {
    const err = configError(() => loadGovernorConfig({ GOV_MAX_EXEC_PER_HOUR: '2.5' }));
    expect(err.message).toContain('GOV_MAX_EXEC_PER_HOUR: expected an integer');
  });

  it('when symbol lists are messy then they are trimmed, upper-cased and deduplicated', () => {
    const cfg = loadApplyConfig({ SYMBOLS: ' btcusdt , ethusdt ,,BTCUSDT,', APPLY_ALLOWLIST: 'ethusdt' });
    expect(cfg.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(cfg.allowlist).toEqual(['ETHUSDT']);
  });

  it('when a symbol is malformed or SYMBOLS is empty then it is rejected; an empty allowlist is allowed', () => {
    expect(configError(() => loadApplyConfig({ SYMBOLS: 'BTC-USDT' })).problems[0]?.variable).toBe('SYMBOLS');
    expect(configError(() => loadApplyConfig({ SYMBOLS: ' , ' })).problems[0]?.variable).toBe('SYMBOLS');
    expect(configError(() => loadApplyConfig({ APPLY_ALLOWLIST: 'B' })).problems).toHaveLength(1);
    expect(loadApplyConfig({ APPLY_ALLOWLIST: '' }).allowlist).toEqual([]);
  });

  it('when REDIS_URL is set then it wins over REDIS_HOST and REDIS_PORT', () => {
    const env = { REDIS_URL: 'redis://r1:7000/3', REDIS_HOST: 'other', REDIS_PORT: 'bad' };
    expect(loadApplyConfig(env).redis.url).toBe('redis://r1:7000/3');
    expect(loadApplyConfig({ REDIS_HOST: 'r2', REDIS_PORT: '6380', REDIS_DB: '2' }).redis.url).toBe(
      'redis://r2:6380/2',
    );
  });

  it('when REDIS_KEY_PREFIX and REDIS_CLUSTER are set then they are read', () => {
    const cfg = loadP33Config({ REDIS_KEY_PREFIX: 'qa:', REDIS_CLUSTER: 'yes' });
    expect(cfg.redis).toMatchObject({ keyPrefix: 'qa:', cluster: true });
  });

  it('when log levels use the fleet spelling then they map to pino levels and the service variable wins', () => {
    expect(loadApplyConfig({ LOG_LEVEL: 'WARNING' }).logLevel).toBe('warn');
    expect(loadApplyConfig({ LOG_LEVEL: 'debug', APPLY_LOG_LEVEL: 'ERROR' }).logLevel).toBe('error');
    expect(loadP33Config({ P33_LOG_LEVEL: 'CRITICAL' }).logLevel).toBe('fatal');
    expect(configError(() => loadGovernorConfig({ LOG_LEVEL: 'loud' })).problems[0]?.variable).toBe(
      'LOG_LEVEL',
    );
  });

  it('when the in-flight bound of an authority is set then it is taken, and a bad one names its variable', () => {
    expect(loadGovernorConfig({ GOV_MAX_IN_FLIGHT: '32' }).maxInFlight).toBe(32);
    expect(loadP33Config({ P33_MAX_IN_FLIGHT: '8' }).maxInFlight).toBe(8);
    expect(configError(() => loadGovernorConfig({ GOV_MAX_IN_FLIGHT: '0' })).problems[0]?.variable).toBe(
      'GOV_MAX_IN_FLIGHT',
    );
    expect(configError(() => loadP33Config({ P33_MAX_IN_FLIGHT: '1.5' })).problems[0]?.variable).toBe(
      'P33_MAX_IN_FLIGHT',
    );
  });

  it('when P33_ALLOWLIST is unset then it follows APPLY_ALLOWLIST', () => {
    expect(loadP33Config({ APPLY_ALLOWLIST: 'ETHUSDT,SOLUSDT' }).allowlist).toEqual(['ETHUSDT', 'SOLUSDT']);
    expect(loadP33Config({ APPLY_ALLOWLIST: 'ETHUSDT', P33_ALLOWLIST: 'BTCUSDT' }).allowlist).toEqual([
      'BTCUSDT',
    ]);
  });

  it('when APPLY_REQUIRED_AUTHORITIES is empty then it is rejected (no order without permits)', () => {
    expect(
      configError(() => loadApplyConfig({ APPLY_REQUIRED_AUTHORITIES: ' , ' })).problems[0]?.variable,
    ).toBe('APPLY_REQUIRED_AUTHORITIES');
    expect(
      loadApplyConfig({ APPLY_REQUIRED_AUTHORITIES: 'Governor, p33, risk_x' }).requiredAuthorities,
    ).toEqual(['governor', 'p33', 'risk_x']);
  });
});

describe('config cross-checks and modes', () => {
  it('when K_BLOCK_WARNING exceeds K_BLOCK_CRITICAL then it is reported, also when the warning is the default', () => {
    const set = configError(() => loadApplyConfig({ K_BLOCK_WARNING: '0.9' }));
    expect(set.problems).toEqual([
      { variable: 'K_BLOCK_WARNING', expected: 'a number <= K_BLOCK_CRITICAL (0.8)', given: '"0.9"' },
    ]);
    const dflt = configError(() => loadApplyConfig({ K_BLOCK_CRITICAL: '0.5' }));
    expect(dflt.problems[0]).toMatchObject({ variable: 'K_BLOCK_WARNING', given: '(unset; default 0.6)' });
  });

  it('when APPLY_MAX_PROPOSAL_AGE_SEC is not below the dedupe TTL then it is reported by name', () => {
    expect(loadApplyConfig({}).maxProposalAgeSec).toBe(300);
    expect(loadApplyConfig({ APPLY_MAX_PROPOSAL_AGE_SEC: '42.5' }).maxProposalAgeSec).toBe(42.5);
    const set = configError(() => loadApplyConfig({ APPLY_MAX_PROPOSAL_AGE_SEC: '21600' }));
    expect(set.problems).toEqual([
      {
        variable: 'APPLY_MAX_PROPOSAL_AGE_SEC',
        expected: 'a number of seconds below APPLY_DEDUPE_TTL_SEC (21600)',
        given: '"21600"',
      },
    ]);
    const dflt = configError(() => loadApplyConfig({ APPLY_DEDUPE_TTL_SEC: '60' }));
    expect(dflt.problems[0]).toMatchObject({
      variable: 'APPLY_MAX_PROPOSAL_AGE_SEC',
      given: '(unset; default 300)',
    });
    expect(configError(() => loadApplyConfig({ APPLY_MAX_PROPOSAL_AGE_SEC: '0' })).problems[0]).toMatchObject(
      {
        variable: 'APPLY_MAX_PROPOSAL_AGE_SEC',
      },
    );
  });

  it('when APPLY_FAILOVER_LOOKBACK_SEC is not a whole number of seconds up to 1800 and the dedupe TTL then it refuses to start naming it', () => {
    expect(loadApplyConfig({}).failoverLookbackSec).toBe(300);
    expect(loadApplyConfig({ APPLY_FAILOVER_LOOKBACK_SEC: '0' }).failoverLookbackSec).toBe(0);
    for (const bad of ['-1', '1801', '12.5', 'five'])
      expect(
        configError(() => loadApplyConfig({ APPLY_FAILOVER_LOOKBACK_SEC: bad })).problems.map(
          (p) => p.variable,
        ),
        bad,
      ).toEqual(['APPLY_FAILOVER_LOOKBACK_SEC']);
    const ttl = configError(() =>
      loadApplyConfig({ APPLY_FAILOVER_LOOKBACK_SEC: '900', APPLY_DEDUPE_TTL_SEC: '600' }),
    );
    expect(ttl.problems).toEqual([
      expect.objectContaining({
        variable: 'APPLY_FAILOVER_LOOKBACK_SEC',
        expected: expect.stringContaining('at most APPLY_DEDUPE_TTL_SEC (600)'),
      }),
    ]);
  });

  it('when APPLY_MODE=live lacks the confirmation and live keys then each is reported', () => {
    const err = configError(() => loadApplyConfig({ APPLY_MODE: 'live' }));
    expect(err.problems.map((p) => p.variable)).toEqual([
      'APPLY_LIVE_CONFIRM',
      'BINANCE_API_KEY',
      'BINANCE_API_SECRET',
    ]);
    const wrong = configError(() => loadApplyConfig({ ...LIVE_OK, APPLY_LIVE_CONFIRM: 'yes' }));
    expect(wrong.problems.map((p) => p.variable)).toEqual(['APPLY_LIVE_CONFIRM']);
  });

  it('when APPLY_MODE=live is confirmed with live keys then the production URL and live keys are used', () => {
    const cfg = loadApplyConfig({
      ...LIVE_OK,
      BINANCE_TESTNET_API_KEY: 'tk',
      BINANCE_TESTNET_API_SECRET: 'ts',
    });
    expect(cfg.binance).toEqual({
      baseUrl: PRODUCTION_BASE_URL,
      credentials: 'live',
      apiKey: 'live-key-1',
      apiSecret: 'live-secret-1',
      liveKeysIgnored: [],
    });
  });

  it('when a non-live mode points at the production host then it is rejected', () => {
    const err = configError(() =>
      loadApplyConfig({ APPLY_MODE: 'testnet', BINANCE_FUTURES_BASE_URL: 'https://fapi.binance.com/' }),
    );
    expect(err.problems[0]?.variable).toBe('BINANCE_FUTURES_BASE_URL');
    expect(() => loadGovernorConfig({ BINANCE_FUTURES_BASE_URL: 'https://FAPI1.binance.com' })).toThrow(
      ConfigError,
    );
  });

  it('when only the un-prefixed (live) keys are set in testnet mode then every service ignores them', () => {
    // Readers no longer fall back to the live pair (test/ops/config-live-keys.test.ts).
    const env = { APPLY_MODE: 'testnet', BINANCE_API_KEY: 'k', BINANCE_API_SECRET: 's' };
    for (const load of [loadApplyConfig, loadGovernorConfig, loadP33Config])
      expect(load(env).binance).toMatchObject({ apiKey: null, apiSecret: null });
  });

  it('when BINANCE_FUTURES_BASE_URL is a local URL then it is used without the trailing slash', () => {
    const cfg = loadApplyConfig({ BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:8090/' });
    expect(cfg.binance.baseUrl).toBe('http://127.0.0.1:8090');
  });
});

describe('config errors', () => {
  it('when many variables are bad then one ConfigError names each with expected and given', () => {
    const err = configError(() =>
      loadApplyConfig({
        APPLY_MODE: 'paper',
        APPLY_POLL_SEC: 'fast',
        APPLY_KILL_SWITCH: 'maybe',
        APPLY_METRICS_PORT: '70000',
        SYMBOLS: 'BTC/USDT',
        APPLY_DEDUPE_TTL_SEC: '-5',
      }),
    );
    expect(err.problems.map((p) => p.variable).sort()).toEqual([
      'APPLY_DEDUPE_TTL_SEC',
      'APPLY_KILL_SWITCH',
      'APPLY_METRICS_PORT',
      'APPLY_MODE',
      'APPLY_POLL_SEC',
      'SYMBOLS',
    ]);
    expect(err.message).toContain('APPLY_MODE: expected one of dry_run | testnet | live; got "paper"');
    expect(err.message).toContain('APPLY_POLL_SEC: expected a finite number > 0');
    expect(err.message).toContain('got "fast"');
    expect(err.message).toContain('APPLY_METRICS_PORT: expected an integer in [0, 65535]; got "70000"');
  });

  it('when secret variables are bad then their values never appear in the error', () => {
    const secret = 'S3CRET-value-4242';
    const err = configError(() =>
      loadApplyConfig({
        APPLY_MODE: 'live',
        BINANCE_API_KEY: ` ${secret}`,
        BINANCE_API_SECRET: `${secret} `,
        BINANCE_TESTNET_API_SECRET: ` ${secret}`,
        REDIS_URL: `http://admin:${secret}@redis:6379`,
      }),
    );
    expect(err.problems.map((p) => p.variable)).toEqual(
      expect.arrayContaining(['BINANCE_API_KEY', 'BINANCE_API_SECRET', 'REDIS_URL', 'APPLY_LIVE_CONFIRM']),
    );
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.problems)).not.toContain(secret);
    expect(err.message).toContain(
      'BINANCE_API_KEY: expected a non-blank value without surrounding spaces; got <redacted>',
    );
    expect(err.message).toContain('"http://admin:<redacted>@redis:6379"');
  });

  it('when any secret is malformed then the message never contains it (property)', () => {
    const names = [
      'BINANCE_API_KEY',
      'BINANCE_API_SECRET',
      'BINANCE_TESTNET_API_KEY',
      'BINANCE_TESTNET_API_SECRET',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.stringMatching(/^[A-Za-z0-9]{16,40}$/),
        fc.constantFrom(' ', '\t'),
        (name, secret, pad) => {
          // Each pair is read only in its own mode.
          const mode = name.startsWith('BINANCE_TESTNET_') ? 'testnet' : 'live';
          const env = { APPLY_MODE: mode, [name]: `${pad}${secret}` };
          const err = configError(() => loadGovernorConfig(env));
          return err.problems[0]?.variable === name && !err.message.includes(secret);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('when describeConfig runs then credentials and URL passwords are redacted and absent ones stay null', () => {
    const cfg = loadApplyConfig({
      ...LIVE_OK,
      REDIS_URL: 'rediss://user:pw-9876@redis.example:6380',
    });
    const shown = describeConfig(cfg);
    const text = JSON.stringify(shown);
    expect(text).not.toContain('live-key-1');
    expect(text).not.toContain('live-secret-1');
    expect(text).not.toContain('pw-9876');
    expect(shown).toMatchObject({
      redis: { url: 'rediss://user:<redacted>@redis.example:6380' },
      binance: { apiKey: '<redacted>', apiSecret: '<redacted>' },
    });
    expect(describeConfig(loadGovernorConfig({}))).toMatchObject({ binance: { apiKey: null } });
    expect(cfg.binance.apiKey).toBe('live-key-1');
  });

  it.each([
    ['redis://:pw-1@h:6379/0', 'redis://:<redacted>@h:6379/0'],
    ['redis://user:pw-1@h', 'redis://user:<redacted>@h'],
    ['redis://pw-1@h', 'redis://:<redacted>@h'],
    ['rediss://h:6380/?password=pw-1&db=2', 'rediss://h:6380/?password=<redacted>&db=2'],
    ['redis://h:6379', 'redis://h:6379'],
    ['redis//user:pw-1@h:6379', '<redacted>@h:6379'],
    ['redis://u:p@ss/?-1@h:1/0', 'redis://u:<redacted>@h:1/0'],
  ])('when redactUrl sees %j then it shows %j', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('when a redis URL holds any password then redactUrl shows none of it (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (pw) => {
        return (
          redactUrl(`redis://user:${pw}@redis-host:6379/1`) === 'redis://user:<redacted>@redis-host:6379/1'
        );
      }),
      { numRuns: 300 },
    );
  });
});
