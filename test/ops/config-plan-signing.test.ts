import { describe, expect, it } from 'vitest';
import { loadAllConfig } from '../../src/cli/commands/all.js';
import {
  describeConfig,
  ignoredVariables,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  type Env,
} from '../../src/ops/config.js';
import { configError } from '../helpers/config-error.js';

const PLAN = 'plan-secret-0123456789abcdef-current';
const PLAN_OLD = 'plan-secret-0123456789abcdef-previous';
const GOV = 'governor-secret-0123456789abcdef-XYZ';
const P33 = 'p33-secret-0123456789abcdef-0123456';

const authorities = [
  ['governor', 'GOV_REQUIRE_SIGNED_PLANS', loadGovernorConfig],
  ['p33', 'P33_REQUIRE_SIGNED_PLANS', loadP33Config],
] as const;

describe('signed plan entry configuration', () => {
  it('when nothing is set then apply does not sign and the authorities neither verify nor require', () => {
    expect(loadApplyConfig({}).planSecret).toBeNull();
    for (const [, , load] of authorities) {
      expect(load({}).signedPlans).toEqual({ required: false, secret: null, previousSecret: null });
    }
  });

  it('when the plan secrets are set then apply reads the current one and the authorities both', () => {
    const env = { PLAN_SECRET_APPLY: PLAN, PLAN_SECRET_APPLY_PREVIOUS: PLAN_OLD };
    expect(loadApplyConfig(env).planSecret).toBe(PLAN);
    for (const [, , load] of authorities) {
      expect(load(env).signedPlans).toEqual({ required: false, secret: PLAN, previousSecret: PLAN_OLD });
    }
  });

  for (const [name, variable, load] of authorities) {
    it(`when ${variable}=true without a plan secret then ${name} refuses to start naming PLAN_SECRET_APPLY`, () => {
      const err = configError(() => load({ [variable]: 'true' }));
      expect(err.problems).toEqual([
        { variable: 'PLAN_SECRET_APPLY', expected: `a secret when ${variable}=true`, given: '(unset)' },
      ]);
    });

    it(`when ${variable}=true with only the previous secret then ${name} starts (mid-rotation)`, () => {
      expect(load({ [variable]: 'true', PLAN_SECRET_APPLY_PREVIOUS: PLAN_OLD }).signedPlans).toEqual({
        required: true,
        secret: null,
        previousSecret: PLAN_OLD,
      });
    });

    it(`when ${variable} is not a boolean then ${name} names it, not the secret`, () => {
      const err = configError(() => load({ [variable]: 'maybe' }));
      expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    });
  }

  it('when the other authority requires signed plans then this one still starts without a secret', () => {
    expect(loadGovernorConfig({ P33_REQUIRE_SIGNED_PLANS: 'true' }).signedPlans.required).toBe(false);
  });

  it('when a plan secret is short or padded then every service refuses it without echoing it', () => {
    for (const value of ['too-short', ` ${PLAN} `]) {
      for (const load of [loadApplyConfig, loadGovernorConfig, loadP33Config]) {
        const err = configError(() => load({ PLAN_SECRET_APPLY: value }));
        expect(err.problems.map((p) => p.variable)).toEqual(['PLAN_SECRET_APPLY']);
        expect(err.message).not.toContain(value.trim());
      }
    }
    const err = configError(() => loadGovernorConfig({ PLAN_SECRET_APPLY_PREVIOUS: 'short' }));
    expect(err.problems.map((p) => p.variable)).toEqual(['PLAN_SECRET_APPLY_PREVIOUS']);
  });

  it('when a plan secret equals a permit secret read by the same service then it is refused', () => {
    expect(
      configError(() => loadApplyConfig({ PERMIT_SECRET_P33: P33, PLAN_SECRET_APPLY: P33 })).problems.map(
        (p) => p.variable,
      ),
    ).toEqual(['PLAN_SECRET_APPLY']);
    expect(
      configError(() =>
        loadGovernorConfig({ PERMIT_SECRET_GOVERNOR: GOV, PLAN_SECRET_APPLY_PREVIOUS: GOV }),
      ).problems.map((p) => p.variable),
    ).toEqual(['PLAN_SECRET_APPLY_PREVIOUS']);
    const err = configError(() => loadP33Config({ PERMIT_SECRET_P33: P33, PLAN_SECRET_APPLY: P33 }));
    expect(err.problems[0]!.expected).toContain('different from PERMIT_SECRET_P33');
    expect(err.message).not.toContain(P33);
  });

  it('when configs are described then the plan secrets are redacted', () => {
    const env = { PLAN_SECRET_APPLY: PLAN, PLAN_SECRET_APPLY_PREVIOUS: PLAN_OLD };
    expect(describeConfig(loadApplyConfig(env))).toMatchObject({ planSecret: '<redacted>' });
    const text = JSON.stringify([
      describeConfig(loadGovernorConfig(env)),
      describeConfig(loadP33Config(env)),
    ]);
    expect(text).not.toContain(PLAN);
    expect(text).not.toContain(PLAN_OLD);
  });

  it('when `all` runs with a requirement and no secret then it reports PLAN_SECRET_APPLY once', () => {
    const env: Env = { GOV_REQUIRE_SIGNED_PLANS: 'true', P33_REQUIRE_SIGNED_PLANS: 'true' };
    const err = configError(() => loadAllConfig(env));
    expect(err.problems.map((p) => p.variable)).toEqual(['PLAN_SECRET_APPLY']);
  });

  it('when a plan secret variable is misspelt then it is reported as ignored', () => {
    expect(ignoredVariables({ PLAN_SECRET_APLY: PLAN, PLAN_SECRET_APPLY: PLAN })).toEqual([
      'PLAN_SECRET_APLY',
    ]);
  });
});
