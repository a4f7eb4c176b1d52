import { describe, expect, it } from 'vitest';
import {
  describeConfig,
  isSecretVariable,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
} from '../../src/ops/config.js';
import { applyOptionsFrom } from '../../src/cli/commands/apply.js';
import { configError } from '../helpers/config-error.js';

const GOV = 'governor-secret-0123456789abcdef-XYZ';
const GOV_OLD = 'governor-previous-0123456789abcdef';
const P33 = 'p33-secret-0123456789abcdef-0123456';
const P33_OLD = 'p33-previous-0123456789abcdef-01234';

describe('signed permit configuration', () => {
  it('when nothing is set then signing is off, not required and the defaults load', () => {
    expect(loadApplyConfig({}).signedPermits).toEqual({
      required: false,
      maxSkewSec: 5,
      permitTtlSec: { governor: 60, p33: 60 },
      governor: { secret: null, previousSecret: null },
      p33: { secret: null, previousSecret: null },
    });
    expect(loadGovernorConfig({}).permitSecret).toBeNull();
    expect(loadP33Config({}).permitSecret).toBeNull();
  });

  it('when secrets are set then each service reads its own and apply reads current and previous', () => {
    const env = {
      APPLY_REQUIRE_SIGNED_PERMITS: 'true',
      PERMIT_SECRET_GOVERNOR: GOV,
      PERMIT_SECRET_GOVERNOR_PREVIOUS: GOV_OLD,
      PERMIT_SECRET_P33: P33,
      PERMIT_SECRET_P33_PREVIOUS: P33_OLD,
    };
    expect(loadApplyConfig(env).signedPermits).toMatchObject({
      required: true,
      governor: { secret: GOV, previousSecret: GOV_OLD },
      p33: { secret: P33, previousSecret: P33_OLD },
    });
    expect(loadGovernorConfig(env).permitSecret).toBe(GOV);
    expect(loadP33Config(env).permitSecret).toBe(P33);
  });

  it('when signing is required but an authority has no secret then apply refuses to start', () => {
    const err = configError(() =>
      loadApplyConfig({ APPLY_REQUIRE_SIGNED_PERMITS: 'true', PERMIT_SECRET_GOVERNOR: GOV }),
    );
    expect(err.problems.map((p) => p.variable)).toEqual(['PERMIT_SECRET_P33']);
    const desk = configError(() =>
      loadApplyConfig({
        APPLY_REQUIRE_SIGNED_PERMITS: 'true',
        APPLY_REQUIRED_AUTHORITIES: 'governor,p33,desk',
        PERMIT_SECRET_GOVERNOR: GOV,
        PERMIT_SECRET_P33: P33,
      }),
    );
    expect(desk.problems.map((p) => p.variable)).toEqual(['APPLY_REQUIRED_AUTHORITIES']);
  });

  it('when P33_PERMIT_TTL is set then apply bounds P3.3 permits by it, as P3.3 reads it, and the governor by 60', () => {
    const env = {
      APPLY_REQUIRE_SIGNED_PERMITS: 'true',
      PERMIT_SECRET_GOVERNOR: GOV,
      PERMIT_SECRET_P33: P33,
      P33_PERMIT_TTL: '120',
    };
    expect(loadApplyConfig(env).signedPermits.permitTtlSec).toEqual({ governor: 60, p33: 120 });
    expect(loadP33Config(env).permitTtlSec).toBe(120);
    expect(applyOptionsFrom(loadApplyConfig(env)).signedPermits).toMatchObject({
      maxSkewSec: 5,
      permitTtlSec: { governor: 60, p33: 120 },
    });
  });

  it.each(['0', '1.5', '-60', 'soon', '86401'])(
    'when P33_PERMIT_TTL=%j then apply and P3.3 both refuse it, naming the variable',
    (raw) => {
      expect(
        configError(() => loadApplyConfig({ P33_PERMIT_TTL: raw })).problems.map((p) => p.variable),
      ).toEqual(['P33_PERMIT_TTL']);
      expect(
        configError(() => loadP33Config({ P33_PERMIT_TTL: raw })).problems.map((p) => p.variable),
      ).toEqual(['P33_PERMIT_TTL']);
    },
  );

  it('when only the previous secret is left during a rotation then apply still starts', () => {
    const cfg = loadApplyConfig({
      APPLY_REQUIRE_SIGNED_PERMITS: 'true',
      PERMIT_SECRET_GOVERNOR_PREVIOUS: GOV_OLD,
      PERMIT_SECRET_P33: P33,
    });
    expect(cfg.signedPermits.governor).toEqual({ secret: null, previousSecret: GOV_OLD });
  });

  it('when a permit secret is short or padded then the error names the variable and never the value', () => {
    const short = 'tooshort-secret';
    const err = configError(() =>
      loadApplyConfig({ PERMIT_SECRET_GOVERNOR: short, PERMIT_SECRET_P33_PREVIOUS: ` ${P33_OLD}` }),
    );
    expect(err.problems.map((p) => p.variable).sort()).toEqual([
      'PERMIT_SECRET_GOVERNOR',
      'PERMIT_SECRET_P33_PREVIOUS',
    ]);
    expect(err.message).toContain('at least 32 characters');
    expect(err.message).not.toContain(short);
    expect(err.message).not.toContain(P33_OLD);
    expect(configError(() => loadGovernorConfig({ PERMIT_SECRET_GOVERNOR: short })).message).not.toContain(
      short,
    );
  });

  it('when variable names are checked then every permit secret, current or previous, counts as secret', () => {
    for (const n of [
      'PERMIT_SECRET_GOVERNOR',
      'PERMIT_SECRET_GOVERNOR_PREVIOUS',
      'PERMIT_SECRET_P33',
      'PERMIT_SECRET_P33_PREVIOUS',
      'BINANCE_API_SECRET',
    ]) {
      expect(isSecretVariable(n)).toBe(true);
    }
    expect(isSecretVariable('APPLY_REQUIRE_SIGNED_PERMITS')).toBe(false);
  });

  it('when describeConfig shows the configs then no permit secret appears', () => {
    const env = {
      PERMIT_SECRET_GOVERNOR: GOV,
      PERMIT_SECRET_GOVERNOR_PREVIOUS: GOV_OLD,
      PERMIT_SECRET_P33: P33,
      PERMIT_SECRET_P33_PREVIOUS: P33_OLD,
    };
    const text = JSON.stringify([
      describeConfig(loadApplyConfig(env)),
      describeConfig(loadGovernorConfig(env)),
      describeConfig(loadP33Config(env)),
    ]);
    for (const s of [GOV, GOV_OLD, P33, P33_OLD]) expect(text).not.toContain(s);
    expect(describeConfig(loadApplyConfig(env))).toMatchObject({
      signedPermits: { governor: { secret: '<redacted>', previousSecret: '<redacted>' } },
    });
    expect(describeConfig(loadGovernorConfig(env))).toMatchObject({ permitSecret: '<redacted>' });
  });
});
