/**
 * Environment values: every loader, fed any mix of known variables with valid or hostile
 * values, returns a frozen config or throws ConfigError (naming each bad variable, never a
 * secret value) and nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  KNOWN_VARIABLES,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  loadPaperConfig,
  isSecretVariable,
} from '../../src/ops/config.js';
import { nastyText, RUNS } from './arbitraries.js';

const GOOD: Record<string, string[]> = {
  REDIS_URL: ['redis://127.0.0.1:6390/0', 'redis://:p%40ss@h:1', 'rediss://x'],
  REDIS_PORT: ['6390', '0', '65536'],
  APPLY_MODE: ['dry_run', 'testnet', 'live', 'paper'],
  SYMBOLS: ['BTCUSDT,ETHUSDT', ' BTCUSDT ', ','],
  APPLY_ALLOWLIST: ['BTCUSDT', ''],
  APPLY_POLL_SEC: ['0.5', '5', '-1'],
  K_BLOCK_CRITICAL: ['0.8', '1.5'],
  APPLY_KILL_SWITCH: ['true', 'false', 'yes', '1'],
  BINANCE_FUTURES_BASE_URL: ['http://127.0.0.1:8090', 'https://fapi.binance.com', 'ftp://x'],
};

const names = [...KNOWN_VARIABLES];
const value = (name: string) =>
  fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...(GOOD[name] ?? ['1', 'true', '0.5'])) }, nastyText);

const envArb = fc
  .subarray(names, { maxLength: 12 })
  .chain((picked) => fc.tuple(...picked.map((n) => value(n).map((v) => [n, v] as const))))
  .map((pairs) => Object.fromEntries(pairs) as Record<string, string>);

const LOADERS = [loadApplyConfig, loadGovernorConfig, loadP33Config, loadPaperConfig];

describe('fuzz: environment values', () => {
  it('when any known variables hold any values then each loader returns a frozen config or throws a ConfigError without secrets', () => {
    let errors = 0;
    let configs = 0;
    fc.assert(
      fc.property(envArb, fc.constantFrom(...LOADERS), (env, load) => {
        try {
          const cfg = load(env);
          configs++;
          expect(Object.isFrozen(cfg)).toBe(true);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          errors++;
          expect(err.problems.length).toBeGreaterThan(0);
          for (const p of err.problems) {
            expect(KNOWN_VARIABLES.has(p.variable) || p.variable.length > 0).toBe(true);
            const raw = env[p.variable];
            if (isSecretVariable(p.variable) && raw && raw.trim().length >= 4) {
              expect(p.given).not.toContain(raw.trim());
              // Long values cannot appear in the message by coincidence.
              if (raw.trim().length >= 12) expect(err.message).not.toContain(raw.trim());
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_DEBUG) console.log('config.fuzz.test.ts errors', errors);
    expect(errors).toBeGreaterThan(RUNS / 20);
    if (process.env.FUZZ_DEBUG) console.log('config.fuzz.test.ts configs', configs);
    expect(configs).toBeGreaterThan(RUNS / 20);
  });
});
