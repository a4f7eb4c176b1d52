import { describe, expect, it } from 'vitest';
import { KNOWN_VARIABLES, ignoredVariables } from '../../src/ops/config.js';
import { SERVICE_CONFIGS, SERVICE_NAMES, variablesReadBy } from '../../src/ops/config/per-service.js';

describe('known variables', () => {
  it('when every service loader runs in every mode then the names read are exactly KNOWN_VARIABLES', () => {
    // The same per-service lists each service's --help prints.
    const read = new Set(SERVICE_NAMES.flatMap((n) => variablesReadBy(SERVICE_CONFIGS[n])));
    expect([...read].sort()).toEqual([...KNOWN_VARIABLES].sort());
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
