/**
 * The fleet services' variables that change behaviour (README "Configuration", the table of the
 * fleet's variables): each is honoured with the fleet's meaning, or a value ours cannot honour
 * stops the start naming it (exit 2), never a warning alone.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { configWarnings, loadGovernorConfig, loadP33Config, type Env } from '../../src/ops/config.js';
import { configError } from '../helpers/config-error.js';

const problemsOf = (env: Env) => configError(() => loadGovernorConfig(env)).problems.map((p) => p.variable);

async function run(args: string[], env: Env) {
  const err: string[] = [];
  const code = await main(['node', 'quantum-apply', ...args], {
    env,
    stdout: () => undefined,
    stderr: (t) => void err.push(t),
    waitForStop: async () => 'test',
    handleProcessErrors: false,
    opsHost: '127.0.0.1',
  });
  return { code, err: err.join('') };
}

/** What the fleet's governor deployment file sets (names and values, its comments left out). */
const FLEET_GOVERNOR_ENV = {
  REDIS_HOST: 'localhost',
  REDIS_PORT: '6379',
  REDIS_DB: '0',
  GOV_MAX_EXEC_PER_HOUR: '3',
  GOV_MAX_EXEC_PER_5MIN: '2',
  GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD: '5000',
  GOV_MAX_REDUCE_QTY_PER_DAY: '0.02',
  GOV_KILL_SCORE_CRITICAL: '0.8',
  GOV_ENABLE_AUTO_DISARM: 'true',
  GOV_DISARM_ON_ERROR_COUNT: '5',
  GOV_DISARM_ON_BURST_BREACH: 'true',
  APPLY_CONFIG_PATH: '/etc/quantum/apply-layer.env',
  METRICS_PORT: '8044',
  STREAM_PLANS: 'quantum:stream:apply.plan',
  STREAM_RESULTS: 'quantum:stream:apply.result',
  STREAM_EVENTS: 'quantum:stream:governor.events',
};

describe('the fleet governor auto-disarm switches', () => {
  it("when none is set then auto-disarm is on, on bursts, after the fleet's 5 errors", () => {
    expect(loadGovernorConfig({}).autoDisarm).toEqual({
      enabled: true,
      onBurst: true,
      errorCount: 5,
      fleetApply: null,
    });
  });

  it.each([
    ['false', false],
    ['FALSE', false],
    [' False ', false],
    ['0', false],
    ['no', false],
    ['off', false],
    ['true', true],
    ['TRUE', true],
    [' True ', true],
  ])('when GOV_ENABLE_AUTO_DISARM=%j then auto-disarm is %s, as in the fleet', (raw, on) => {
    expect(loadGovernorConfig({ GOV_ENABLE_AUTO_DISARM: raw }).autoDisarm.enabled).toBe(on);
  });

  it.each(['1', 'yes', 'on', 'enabled', ''])(
    'when GOV_ENABLE_AUTO_DISARM=%j (off in the fleet, on by our other switches) then the start is refused naming it',
    (raw) => {
      const err = configError(() => loadGovernorConfig({ GOV_ENABLE_AUTO_DISARM: raw }));
      expect(err.problems.map((p) => p.variable)).toEqual(['GOV_ENABLE_AUTO_DISARM']);
      expect(err.problems[0]!.expected).toMatch(/the fleet reads every value but "true" as false/);
    },
  );

  it.each([
    ['false', false],
    ['off', false],
    ['true', true],
  ])('when GOV_DISARM_ON_BURST_BREACH=%j then a burst disarms: %s', (raw, on) => {
    expect(loadGovernorConfig({ GOV_DISARM_ON_BURST_BREACH: raw }).autoDisarm.onBurst).toBe(on);
  });

  it.each(['1', 'yes', 'maybe'])(
    'when GOV_DISARM_ON_BURST_BREACH=%j then the start is refused naming it',
    (raw) => {
      expect(problemsOf({ GOV_DISARM_ON_BURST_BREACH: raw })).toEqual(['GOV_DISARM_ON_BURST_BREACH']);
    },
  );

  it('when GOV_DISARM_ON_ERROR_COUNT is a positive integer then it is the error count that disarms', () => {
    expect(loadGovernorConfig({ GOV_DISARM_ON_ERROR_COUNT: '12' }).autoDisarm.errorCount).toBe(12);
  });

  it.each(['0', '-3', '2.5', 'five', ''])(
    'when GOV_DISARM_ON_ERROR_COUNT=%j then the start is refused naming it (at 0 or below the fleet disarms without errors)',
    (raw) => {
      const err = configError(() => loadGovernorConfig({ GOV_DISARM_ON_ERROR_COUNT: raw }));
      expect(err.problems.map((p) => p.variable)).toEqual(['GOV_DISARM_ON_ERROR_COUNT']);
    },
  );

  it('when APPLY_CONFIG_PATH is set while auto-disarm is on, without GOV_DISARM_FLEET_APPLY, then the start is refused naming it', () => {
    const err = configError(() => loadGovernorConfig({ APPLY_CONFIG_PATH: '/etc/quantum/apply-layer.env' }));
    expect(err.problems.map((p) => p.variable)).toEqual(['APPLY_CONFIG_PATH']);
    expect(err.message).toContain("as the fleet's governor does");
    expect(err.message).toContain('GOV_DISARM_FLEET_APPLY');
  });

  it('when GOV_DISARM_FLEET_APPLY says which then APPLY_CONFIG_PATH is accepted: the file ours edits, or none', () => {
    const on = loadGovernorConfig({
      APPLY_CONFIG_PATH: '/srv/fleet/apply.env',
      GOV_DISARM_FLEET_APPLY: 'true',
    });
    expect(on.autoDisarm.fleetApply).toEqual({
      envFile: '/srv/fleet/apply.env',
      restartCommand: ['systemctl', 'restart', 'quantum-apply-layer'],
    });
    const off = loadGovernorConfig({
      APPLY_CONFIG_PATH: '/srv/fleet/apply.env',
      GOV_DISARM_FLEET_APPLY: 'false',
    });
    expect(off.autoDisarm.fleetApply).toBeNull();
  });

  it("when GOV_DISARM_FLEET_APPLY=true alone then the fleet's file and unit are the defaults", () => {
    expect(loadGovernorConfig({ GOV_DISARM_FLEET_APPLY: 'true' }).autoDisarm.fleetApply).toEqual({
      envFile: '/etc/quantum/apply-layer.env',
      restartCommand: ['systemctl', 'restart', 'quantum-apply-layer'],
    });
  });

  it('when GOV_DISARM_FLEET_RESTART_COMMAND is set then it is split on blanks and run without a shell', () => {
    const cfg = loadGovernorConfig({
      GOV_DISARM_FLEET_APPLY: 'true',
      GOV_DISARM_FLEET_RESTART_COMMAND: ' /usr/bin/systemctl  restart apply-layer.service ',
    });
    expect(cfg.autoDisarm.fleetApply?.restartCommand).toEqual([
      '/usr/bin/systemctl',
      'restart',
      'apply-layer.service',
    ]);
  });

  it.each([
    ['GOV_DISARM_FLEET_RESTART_COMMAND', 'systemctl restart x; rm -rf /'],
    ['GOV_DISARM_FLEET_RESTART_COMMAND', "sh -c 'systemctl restart x'"],
    ['GOV_DISARM_FLEET_RESTART_COMMAND', '  '],
    ['APPLY_CONFIG_PATH', 'apply-layer.env'],
    ['APPLY_CONFIG_PATH', '/etc/quantum/'],
    ['GOV_DISARM_FLEET_APPLY', 'sometimes'],
  ])('when %s=%j then the start is refused naming it', (name, value) => {
    expect(problemsOf({ GOV_DISARM_FLEET_APPLY: 'true', [name]: value })).toEqual([name]);
  });

  it('when APPLY_CONFIG_PATH is set with GOV_ENABLE_AUTO_DISARM=false then it is accepted: neither governor would use it', () => {
    const cfg = loadGovernorConfig({ APPLY_CONFIG_PATH: '/x/apply.env', GOV_ENABLE_AUTO_DISARM: 'false' });
    expect(cfg.autoDisarm.enabled).toBe(false);
  });

  it("when the fleet's governor env file is used as it is then APPLY_CONFIG_PATH is its only problem, solved by GOV_DISARM_FLEET_APPLY", () => {
    expect(problemsOf(FLEET_GOVERNOR_ENV)).toEqual(['APPLY_CONFIG_PATH']);
    const cfg = loadGovernorConfig({ ...FLEET_GOVERNOR_ENV, GOV_DISARM_FLEET_APPLY: 'true' });
    expect(cfg.autoDisarm.fleetApply?.envFile).toBe('/etc/quantum/apply-layer.env');
  });
});

describe('the fleet governor stream names', () => {
  it("when STREAM_PLANS, STREAM_RESULTS and STREAM_EVENTS hold the fleet's names then they are accepted", () => {
    const { STREAM_PLANS, STREAM_RESULTS, STREAM_EVENTS } = FLEET_GOVERNOR_ENV;
    expect(() => loadGovernorConfig({ STREAM_PLANS, STREAM_RESULTS, STREAM_EVENTS })).not.toThrow();
  });

  it.each([
    ['STREAM_PLANS', 'quantum:stream:apply.plan.v2'],
    ['STREAM_RESULTS', 'results'],
    ['STREAM_EVENTS', 'quantum:stream:governor.decisions'],
  ])('when %s renames its stream to %j then the start is refused naming it', (name, value) => {
    const err = configError(() => loadGovernorConfig({ [name]: value }));
    expect(err.problems.map((p) => p.variable)).toEqual([name]);
    expect(err.message).toContain('ours cannot rename the stream');
  });

  it('when a key prefix is set then the stream names ours uses with it are the ones accepted', () => {
    expect(() =>
      loadGovernorConfig({ REDIS_KEY_PREFIX: 't:', STREAM_PLANS: 't:quantum:stream:apply.plan' }),
    ).not.toThrow();
    expect(problemsOf({ REDIS_KEY_PREFIX: 't:', STREAM_PLANS: 'quantum:stream:apply.plan' })).toEqual([
      'STREAM_PLANS',
    ]);
  });
});

describe('P33_QTY_TOLERANCE_PCT above 100', () => {
  it('when it is 150 then P3.3 starts with it, and the warning says the quantity check is effectively off', () => {
    const cfg = loadP33Config({ P33_QTY_TOLERANCE_PCT: '150' });
    expect(cfg.qtyTolerancePct).toBe(150);
    const [w, ...more] = configWarnings(cfg);
    expect(more).toEqual([]);
    expect(w).toMatchObject({ variable: 'P33_QTY_TOLERANCE_PCT' });
    expect(w!.message).toMatch(/effectively off/);
  });

  it('when it is 100 or less then there is no warning; below 0 the start is refused', () => {
    expect(configWarnings(loadP33Config({ P33_QTY_TOLERANCE_PCT: '100' }))).toEqual([]);
    expect(configError(() => loadP33Config({ P33_QTY_TOLERANCE_PCT: '-1' })).problems[0]!.variable).toBe(
      'P33_QTY_TOLERANCE_PCT',
    );
  });

  it('when `all` holds a P3.3 config above 100 then the warning is found in it', () => {
    const p33 = loadP33Config({ P33_QTY_TOLERANCE_PCT: '250' });
    expect(configWarnings({ p33, logLevel: 'info' }).map((w) => w.variable)).toEqual([
      'P33_QTY_TOLERANCE_PCT',
    ]);
  });

  it('when check-config sees it then it exits 0 and prints the warning', async () => {
    const r = await run(['check-config', 'p33'], { P33_QTY_TOLERANCE_PCT: '150' });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: P33_QTY_TOLERANCE_PCT=150: .*effectively off/);
  });
});

describe('refusals stop the service command', () => {
  it.each([
    { GOV_ENABLE_AUTO_DISARM: 'yes' },
    { GOV_DISARM_ON_ERROR_COUNT: '0' },
    { STREAM_EVENTS: 'elsewhere' },
    { APPLY_CONFIG_PATH: '/etc/quantum/apply-layer.env' },
  ])('when the governor command sees %j then it exits 2 naming the variable', async (env) => {
    const r = await run(['governor'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.err).toContain(Object.keys(env)[0]);
  });
});
