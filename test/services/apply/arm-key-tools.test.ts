/**
 * The other readers and writers of the arm key when it holds another type: the operator commands
 * (arm, disarm, status, explain) say what is wrong with the key, and the governor's auto-disarm
 * reports it instead of failing the plan as if Redis were down.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_NOT_FOUND, explainCommand, statusCommand } from '../../../src/inspect/commands.js';
import { captureLogger } from '../../../src/ops/logger.js';
import { systemClock } from '../../../src/ops/clock.js';
import { AutoDisarm } from '../../../src/services/governor/auto-disarm.js';
import { createStore } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/port.js';
import { runCli } from '../../helpers/cli.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';

describe.skipIf(skipRedis)('an arm key of another type, outside the apply service (real Redis)', () => {
  const redis = usePrivateRedis();
  let raw: Redis;
  let prefix: string;
  let store: Store;
  let armKey: string;
  beforeAll(async () => {
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    raw?.disconnect();
  });
  beforeEach(async () => {
    prefix = redis.prefix();
    store = await createStore({ url: redis.url, prefix });
    armKey = store.keys.armState();
    await raw.set(armKey, 'disarmed');
  });
  afterEach(async () => {
    await store.close();
  });
  const env = () => ({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, APPLY_MODE: 'testnet' });
  const inspect = () => ({ env: env(), openStore: async () => store, closeStore: false });

  it.each([['arm'], ['disarm', '--reason', 'investigating']])(
    'when `%s` meets it then it names the key and the error, exits 1 and leaves the key as it is',
    async (...args) => {
      const cli = runCli(args, env());
      expect(await cli.done).toBe(1);
      const err = cli.err.join('');
      expect(err).toContain(`quantum-apply ${args[0]}: ${armKey} is not a hash (WRONGTYPE `);
      expect(err).toContain('the apply layer reads it as disarmed');
      expect(await raw.get(armKey)).toBe('disarmed');
    },
  );

  it('when `status` meets it then it shows DISARMED with the key and the error instead of failing', async () => {
    const text = await statusCommand(inspect(), false);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`arm state\\s+DISARMED: ${armKey} is not a hash \\(WRONGTYPE `));
    const json = await statusCommand(inspect(), true);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { arm: unknown }).arm).toMatchObject({
      armed: false,
      reason: 'arm_state_wrong_type',
      wrong_type: expect.stringMatching(/^WRONGTYPE /) as unknown,
    });
  });

  it('when `explain` meets it then it still answers for the plan id', async () => {
    const r = await explainCommand(inspect(), '0123456789abcdef', false);
    expect(r.stderr).not.toContain('WRONGTYPE');
    expect(r.code).toBe(EXIT_NOT_FOUND);
  });

  it('when the governor auto-disarms then it logs the key and the error, counts the disarm and does not throw', async () => {
    const log = captureLogger();
    const fired: string[] = [];
    const disarm = new AutoDisarm({
      store,
      clock: systemClock,
      enabled: true,
      onBurst: true,
      errorThreshold: 0,
      onDisarm: (reason) => void fired.push(reason),
      logger: log.logger,
    });
    expect(await disarm.burstBreach({ plan_id: 'p' })).toBe(true);
    expect(fired).toEqual(['burst_limit_breach']);
    const [line] = log.lines().filter((l) => String(l.msg).startsWith('auto-disarm not recorded'));
    expect(line).toMatchObject({ key: armKey, reason: 'burst_limit_breach' });
    expect(String(line?.error)).toMatch(/^WRONGTYPE /);
    expect(await raw.get(armKey)).toBe('disarmed');
  });
});
