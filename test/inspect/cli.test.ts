/** explain and status through the real CLI entry: registration, exit codes, secrets. */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Env } from '../../src/ops/config.js';
import { createStore } from '../../src/store/index.js';
import { freePort, skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { planOf, proposalFields, TraceWriter } from './fixtures.js';
import { systemClock } from '../../src/ops/clock.js';

async function run(args: string[], env: Env = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'quantum-apply', ...args], {
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, out: out.join(''), err: err.join('') };
}

describe('explain and status on the command line', () => {
  it('when --help is given then both commands are listed and explain documents its exit codes', async () => {
    expect((await run(['--help'])).out).toMatch(/explain[\s\S]*status|status[\s\S]*explain/);
    const help = await run(['explain', '--help']);
    expect(help.out).toContain('Exit codes: 0 found, 1 no trace of the plan id');
  });

  it('when the plan id is not 16 hex digits then explain exits 2 without touching Redis', async () => {
    const r = await run(['explain', 'not-a-plan'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('invalid_plan_id');
  });

  it('when the environment is invalid then both exit 2 naming the variable, never a secret', async () => {
    const env = { APPLY_PERMIT_WAIT_MS: 'soon', BINANCE_TESTNET_API_SECRET: ' s3cret-0042 ' };
    for (const args of [['explain', '0123456789abcdef'], ['status']]) {
      const r = await run(args, env);
      expect(r.code).toBe(2);
      expect(r.err).toContain('APPLY_PERMIT_WAIT_MS');
      expect(r.err).not.toContain('s3cret-0042');
    }
  });

  it('when Redis cannot be reached then both exit 1 (a runtime failure) with the URL shown without its password', async () => {
    const env = { REDIS_URL: `redis://ops:pw-0042@127.0.0.1:${await freePort()}` };
    for (const args of [
      ['explain', '0123456789abcdef'],
      ['status', '--json'],
    ]) {
      const r = await run(args, env);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/cannot reach Redis at redis:\/\/ops:<redacted>@127\.0\.0\.1:\d+/);
      expect(r.err).not.toContain('pw-0042');
      expect(r.out).toBe('');
    }
  });
});

describe.skipIf(skipRedis)('explain and status on the command line against a private Redis', () => {
  const server = usePrivateRedis();

  it('when a plan is in Redis then explain exits 0, an unknown one 1, and status 0', async () => {
    const prefix = server.prefix();
    const store = await createStore({ url: server.url, prefix });
    const plan = planOf(proposalFields('2026-01-25T02:00:00Z'));
    await new TraceWriter(store, systemClock).executed(plan);
    await store.close();
    const env = { REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix };
    const found = await run(['explain', plan.planId], env);
    expect(found.code).toBe(0);
    expect(found.out.trimEnd().split('\n').at(-1)).toBe(
      'EXECUTED: SELL 0.375 BTCUSDT reduceOnly, order 123, filled 0.375',
    );
    const missing = await run(['explain', 'ffffffffffffffff', '--json'], env);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({ found: false, verdict: { kind: 'UNKNOWN' } });
    const status = await run(['status', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ mode: 'dry_run', streams: { plan: { length: 1 } } });
  });
});
