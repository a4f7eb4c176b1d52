/**
 * Auto-disarm the fleet's way (GOV_DISARM_FLEET_APPLY): the fleet apply layer's env file edited
 * as the fleet's governor edits it, atomically, and its unit restarted by a configurable command.
 * Tests use a temp env file and a fake restart script; never the real systemctl.
 */
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { governorDisarmFrom } from '../../../src/cli/commands/governor.js';
import { loadGovernorConfig } from '../../../src/ops/config.js';
import { captureLogger } from '../../../src/ops/logger.js';
import { readArmState } from '../../../src/services/arm-state.js';
import { disarmEnvText, disarmFleetApply } from '../../../src/services/governor/fleet-disarm.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { counterValue, plan, redisStore, rig } from './harness.js';
import { T0 } from '../../helpers/clock.js';

const FLEET_ENV = [
  '# P3 Apply Layer Configuration',
  'APPLY_MODE=testnet',
  '#APPLY_MODE=live',
  'SYMBOLS=BTCUSDT,ETHUSDT,SOLUSDT',
  'BINANCE_TESTNET_API_SECRET=s3cr\u00e9t',
  '',
].join('\n');

let dir = '';
let envFile: string;
/** Appends its arguments, one call per line, to `calls` beside it; exits with $FAKE_EXIT (0). */
let restart: string;
let failing: string;
const calls = () => {
  try {
    return readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function setUp(content: string | Buffer = FLEET_ENV, mode = 0o640): void {
  dir = mkdtempSync(join(tmpdir(), 'fleet-disarm-'));
  envFile = join(dir, 'apply-layer.env');
  writeFileSync(envFile, content);
  chmodSync(envFile, mode);
  restart = join(dir, 'fake-systemctl');
  writeFileSync(restart, `#!/bin/sh\necho "$*" >> "${join(dir, 'calls')}"\n`);
  chmodSync(restart, 0o755);
  failing = join(dir, 'failing-systemctl');
  writeFileSync(
    failing,
    `#!/bin/sh\necho "$*" >> "${join(dir, 'calls')}"\necho 'Access denied' >&2\nexit 4\n`,
  );
  chmodSync(failing, 0o755);
}

describe('the fleet edit of the env text', () => {
  it("when lines start APPLY_MODE= then each becomes APPLY_MODE=dry_run and every other line is kept, as the fleet's sed", () => {
    const text =
      'A=1\nAPPLY_MODE=live\r\n#APPLY_MODE=live\n APPLY_MODE=live\nexport APPLY_MODE=live\nAPPLY_MODE=\nZ=2';
    expect(disarmEnvText(text)).toEqual({
      text: 'A=1\nAPPLY_MODE=dry_run\n#APPLY_MODE=live\n APPLY_MODE=live\nexport APPLY_MODE=live\nAPPLY_MODE=dry_run\nZ=2',
      previousModes: ['live', ''],
    });
  });

  it('when there is no APPLY_MODE= line then nothing changes', () => {
    expect(disarmEnvText('X=1\n')).toEqual({ text: 'X=1\n', previousModes: [] });
  });
});

describe('disarmFleetApply', () => {
  it('when it runs then the file says dry_run, other bytes and the mode are kept, a .bak copy is left, no temp file, and the unit is restarted once', async () => {
    setUp();
    const log = captureLogger();
    const r = await disarmFleetApply(
      { envFile, restartCommand: [restart, 'restart', 'quantum-apply-layer'] },
      { nowMs: T0, logger: log.logger },
    );
    expect(r).toEqual({
      done: true,
      failed: [],
      backup: `${envFile}.bak.${T0 / 1000}`,
      previousModes: ['testnet'],
    });
    expect(readFileSync(envFile, 'utf8')).toBe(FLEET_ENV.replace('APPLY_MODE=testnet', 'APPLY_MODE=dry_run'));
    expect(readFileSync(`${envFile}.bak.${T0 / 1000}`, 'utf8')).toBe(FLEET_ENV);
    expect(statSync(envFile).mode & 0o777).toBe(0o640);
    expect(statSync(`${envFile}.bak.${T0 / 1000}`).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual(
      [
        'apply-layer.env',
        `apply-layer.env.bak.${T0 / 1000}`,
        'calls',
        'failing-systemctl',
        'fake-systemctl',
      ].sort(),
    );
    expect(calls()).toEqual(['restart quantum-apply-layer']);
  });

  it('when the file holds bytes that are not UTF-8 then they survive the edit', async () => {
    const raw = Buffer.concat([
      Buffer.from('APPLY_MODE=live\nNOTE='),
      Buffer.from([0xff, 0xfe, 0x80]),
      Buffer.from('\n'),
    ]);
    setUp(raw);
    await disarmFleetApply(
      { envFile, restartCommand: [restart, 'restart', 'quantum-apply-layer'] },
      { nowMs: T0, logger: captureLogger().logger },
    );
    expect(
      readFileSync(envFile).equals(
        Buffer.concat([Buffer.from('APPLY_MODE=dry_run\nNOTE='), raw.subarray(21)]),
      ),
    ).toBe(true);
  });

  it('when the restart command fails then the failure is reported and counted, the file still says dry_run, and nothing throws', async () => {
    setUp();
    const log = captureLogger();
    const steps: string[] = [];
    const r = await disarmFleetApply(
      { envFile, restartCommand: [failing, 'restart', 'quantum-apply-layer'] },
      { nowMs: T0, logger: log.logger, onFailure: (s) => void steps.push(s) },
    );
    expect(r).toMatchObject({ done: false, failed: ['restart'] });
    expect(steps).toEqual(['restart']);
    expect(readFileSync(envFile, 'utf8')).toContain('APPLY_MODE=dry_run');
    const line = log.lines().find((l) => l.step === 'restart');
    expect(String(line?.err)).toContain('Access denied');
  });

  it('when the env file cannot be read then nothing is restarted and the failure is reported', async () => {
    setUp();
    const steps: string[] = [];
    const r = await disarmFleetApply(
      { envFile: join(dir, 'missing.env'), restartCommand: [restart] },
      { nowMs: T0, logger: captureLogger().logger, onFailure: (s) => void steps.push(s) },
    );
    expect(r).toMatchObject({ done: false, failed: ['env_file'] });
    expect(steps).toEqual(['env_file']);
    expect(calls()).toEqual([]);
  });

  it('when the file has no APPLY_MODE= line then it is left as it is and the unit restarted (the fleet apply default is dry_run), with a warning', async () => {
    setUp('SYMBOLS=BTCUSDT\n');
    const log = captureLogger();
    const r = await disarmFleetApply(
      { envFile, restartCommand: [restart, 'restart', 'quantum-apply-layer'] },
      { nowMs: T0, logger: log.logger },
    );
    expect(r).toMatchObject({ done: true, previousModes: [] });
    expect(readFileSync(envFile, 'utf8')).toBe('SYMBOLS=BTCUSDT\n');
    expect(calls()).toHaveLength(1);
    expect(log.lines().some((l) => String(l.msg).includes('no APPLY_MODE= line'))).toBe(true);
  });
});

describe.skipIf(skipRedis)('the governor disarms the fleet apply layer too when configured', () => {
  const server = usePrivateRedis();

  const governorFor = (restartCommand: string) =>
    rig(
      () => redisStore(server),
      governorDisarmFrom(
        loadGovernorConfig({
          GOV_DISARM_FLEET_APPLY: 'true',
          APPLY_CONFIG_PATH: envFile,
          GOV_DISARM_FLEET_RESTART_COMMAND: `${restartCommand} restart quantum-apply-layer`,
        }),
      ),
    );

  it('when a burst disarms then our arm state, the fleet env file and its unit are all disarmed, and the event says so', async () => {
    setUp();
    const r = await governorFor(restart);
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'burst_limit_exceeded' });
    expect(await readArmState(r.store)).toMatchObject({ armed: false, reason: 'burst_limit_breach' });
    expect(readFileSync(envFile, 'utf8')).toContain('\nAPPLY_MODE=dry_run\n');
    expect(calls()).toEqual(['restart quantum-apply-layer']);
    const [ev] = await r.store.xrange(r.store.keys.governorEvents(), '-', '+');
    expect(ev!.fields).toMatchObject({
      event: 'AUTO_DISARM',
      reason: 'burst_limit_breach',
      action_taken: 'disarmed + APPLY_MODE=dry_run + restart',
    });
    expect(await counterValue(r.metrics.fleetDisarmFailures)).toBe(0);
    // once per UTC day, as ours: a second burst edits nothing more
    await r.gov.evaluate(plan({ symbol: 'ETHUSDT' }));
    await r.gov.evaluate(plan({ symbol: 'ETHUSDT' }));
    await r.gov.evaluate(plan({ symbol: 'ETHUSDT' }));
    expect(calls()).toHaveLength(1);
    await r.store.close();
  });

  it('when the fleet way fails then the failure is logged and counted, the governor goes on, and our own disarm stands', async () => {
    setUp();
    const r = await governorFor(failing);
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    expect(await r.gov.evaluate(plan())).toEqual({ kind: 'blocked', reason: 'burst_limit_exceeded' });
    expect(await readArmState(r.store)).toMatchObject({ armed: false, reason: 'burst_limit_breach' });
    expect(await counterValue(r.metrics.fleetDisarmFailures, { step: 'restart' })).toBe(1);
    expect(await counterValue(r.metrics.disarm, { reason: 'burst_limit_breach' })).toBe(1);
    const [ev] = await r.store.xrange(r.store.keys.governorEvents(), '-', '+');
    expect(ev!.fields.action_taken).toBe('disarmed; fleet apply layer not disarmed (restart failed)');
    expect(r.log.lines().some((l) => String(l.msg).startsWith('fleet apply disarm failed'))).toBe(true);
    // still deciding plans
    expect(await r.gov.evaluate(plan({ symbol: 'ETHUSDT' }))).toMatchObject({ kind: 'granted' });
    await r.store.close();
  });

  it('when GOV_DISARM_FLEET_APPLY is off (the default) then a burst leaves the fleet env file alone', async () => {
    setUp();
    const r = await rig(() => redisStore(server));
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    await r.gov.evaluate(plan());
    expect((await readArmState(r.store)).armed).toBe(false);
    expect(readFileSync(envFile, 'utf8')).toBe(FLEET_ENV);
    expect(calls()).toEqual([]);
    await r.store.close();
  });
});
