import { describe, expect, it } from 'vitest';
import {
  KNOWN_VARIABLES,
  ignoredVariables,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  loadPaperConfig,
  type Env,
} from '../../src/ops/config.js';

/** An env that records every name a loader looks up. */
function recording(base: Env, seen: Set<string>): Env {
  return new Proxy(base, {
    get(target, prop) {
      if (typeof prop === 'string') seen.add(prop);
      return (target as Record<string, string | undefined>)[prop as string];
    },
  });
}

describe('known variables', () => {
  it('when every loader runs in every mode then the names read are exactly KNOWN_VARIABLES', () => {
    const seen = new Set<string>();
    const envs: Env[] = [
      {},
      { APPLY_MODE: 'testnet' },
      {
        APPLY_MODE: 'live',
        APPLY_LIVE_CONFIRM: 'yes-real-money',
        BINANCE_API_KEY: 'k',
        BINANCE_API_SECRET: 's',
      },
    ];
    for (const env of envs) {
      for (const load of [loadApplyConfig, loadGovernorConfig, loadP33Config, loadPaperConfig]) {
        load(recording(env, seen));
      }
    }
    expect([...seen].sort()).toEqual([...KNOWN_VARIABLES].sort());
  });

  it('when the env holds a misspelt variable of ours then ignoredVariables names it, and foreign ones are left alone', () => {
    const env = {
      APPLY_KILLSWITCH: 'true',
      GOV_MAX_OPEN_POSITIONS: '10',
      APPLY_MODE: 'dry_run',
      HOME: '/',
      PATH: '/bin',
    };
    expect(ignoredVariables(env)).toEqual(['APPLY_KILLSWITCH', 'GOV_MAX_OPEN_POSITIONS']);
  });
});
