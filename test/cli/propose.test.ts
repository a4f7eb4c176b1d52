/**
 * `quantum-apply propose`: writes the proposal hash as the exit brain would, prints the plan id
 * apply derives from it, and with --wait prints that plan's result (exit 0) or gives up (exit 1).
 * Here a stand-in for apply publishes results, so the wait is tested without the services (the
 * README test runs it against the real ones).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { planIdOf } from '../../src/domain/plan.js';
import { computedAtSec, parseProposal } from '../../src/domain/proposal.js';
import { runCli } from '../helpers/cli.js';
import { skipRedis } from '../helpers/redis-server.js';
import { usePrivateRedisStore } from '../helpers/redis-store.js';
import { until } from '../helpers/wait.js';

const { server, store } = usePrivateRedisStore();
let env: Record<string, string>;

beforeAll(() => {
  if (skipRedis) return;
  env = { REDIS_URL: server.url, REDIS_KEY_PREFIX: store.keys.prefix };
});

async function propose(args: string[]) {
  const cli = runCli(['propose', ...args], env);
  const code = await cli.done;
  return { code, out: cli.out.join(''), err: cli.err.join('') };
}

describe.skipIf(skipRedis)('propose', () => {
  it('when run then it writes the exit brain fields and prints the plan id apply derives from them', async () => {
    const before = Date.now() / 1000;
    const r = await propose([
      'ETHUSDT',
      '--action',
      'UPDATE_SL',
      '--kill-score',
      '0.25',
      '--new-sl',
      '3100.5',
    ]);
    expect(r).toMatchObject({ code: 0, err: '' });
    const fields = await store.hgetall(store.keys.proposal('ETHUSDT'));
    expect(fields).toMatchObject({
      harvest_action: 'UPDATE_SL',
      kill_score: '0.25',
      new_sl_proposed: '3100.5',
      k_regime_flip: '0.0',
      R_net: '0.0',
    });
    // Python's utcnow().isoformat(): microseconds, no zone (read as UTC), and it is now.
    expect(fields.computed_at_utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(computedAtSec(fields.computed_at_utc!)).toBeGreaterThanOrEqual(Math.floor(before));
    const parsed = parseProposal('ETHUSDT', fields);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(r.out).toBe(`${planIdOf(parsed.proposal)}\n`);
  });

  it.each([
    [['btcusdt', '--action', 'PARTIAL_50'], /symbol/],
    [['BTCUSDT', '--action', 'SELL_ALL'], /--action: one of FULL_CLOSE_PROPOSED/],
    [['BTCUSDT', '--action', 'PARTIAL_50', '--kill-score', '1.5'], /--kill-score/],
    [['BTCUSDT', '--action', 'PARTIAL_50', '--kill-score', 'nan'], /--kill-score/],
    [['BTCUSDT', '--action', 'PARTIAL_50', '--new-sl', '-3'], /--new-sl/],
    [['BTCUSDT', '--action', 'UPDATE_SL'], /--new-sl: UPDATE_SL needs/],
  ])('when given %j then it exits 2 with the reason and writes nothing', async (args, reason) => {
    const r = await propose(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(reason);
    expect(await store.hgetall(store.keys.proposal('BTCUSDT'))).toEqual({});
  });

  it("when --wait sees the plan's result then it prints it and exits 0, skipping other plans' results", async () => {
    const stream = store.keys.resultStream();
    await store.xadd(stream, { plan_id: 'ffffffffffffffff', symbol: 'BTCUSDT', decision: 'SKIP' });
    const cli = runCli(['propose', 'BTCUSDT', '--action', 'PARTIAL_50', '--wait', '20'], env);
    // The stand-in apply: once the proposal is there, another plan's result, then this plan's.
    const planId = await until(() => /^([0-9a-f]{16})\n/.exec(cli.out.join(''))?.[1]);
    await store.xadd(stream, { plan_id: '0000000000000000', symbol: 'ETHUSDT', decision: 'SKIP' });
    await store.xadd(stream, {
      plan_id: planId,
      symbol: 'BTCUSDT',
      decision: 'EXECUTE',
      executed: 'True',
      would_execute: 'False',
      steps_results: '[{"step": "CLOSE_PARTIAL_50", "status": "success"}]',
      error: '',
      timestamp: '1',
    });
    expect(await cli.done).toBe(0);
    expect(cli.out.join('')).toBe(
      `${planId}\nresult ${planId}: decision=EXECUTE executed=True would_execute=False error=\n` +
        `steps [{"step": "CLOSE_PARTIAL_50", "status": "success"}]\n`,
    );
  });

  it('when apply runs in dry_run then --wait says no order was sent', async () => {
    const cli = runCli(['propose', 'BTCUSDT', '--action', 'FULL_CLOSE_PROPOSED', '--wait'], env);
    const planId = await until(() => /^([0-9a-f]{16})\n/.exec(cli.out.join(''))?.[1]);
    await store.xadd(store.keys.resultStream(), {
      plan_id: planId,
      decision: 'EXECUTE',
      executed: 'False',
      would_execute: 'True',
    });
    expect(await cli.done).toBe(0);
    expect(cli.out.join('')).toContain('APPLY_MODE=dry_run: no order was sent');
  });

  it('when no result comes within --wait then it exits 1 naming the plan and what to check', async () => {
    const r = await propose(['SOLUSDT', '--action', 'HOLD', '--wait', '0.3']);
    expect(r.code).toBe(1);
    const planId = r.out.trim();
    expect(planId).toMatch(/^[0-9a-f]{16}$/);
    expect(r.err).toContain(`no result for plan ${planId} within 0.3 s`);
    expect(r.err).toContain(`explain ${planId}`);
  });

  it('when Redis cannot be reached then it exits 1 and says so', async () => {
    const cli = runCli(['propose', 'BTCUSDT', '--action', 'PARTIAL_50'], {
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(await cli.done).toBe(1);
    expect(cli.err.join('')).toContain('cannot reach redis');
  });
});
