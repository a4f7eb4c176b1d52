/**
 * A plan the governor blocked gets no governor permit; its result names the block reason the
 * governor recorded (`permit_timeout_or_missing:missing_governor:<reason>`), read once on that
 * failure path and never on the way to an order.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';
import { govBody, logLines, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';

describe.skipIf(skipRedis)('apply names the governor block reason (real Redis)', () => {
  const redis = usePrivateRedis();
  let fleet: Redis;
  let h: Harness | null = null;
  beforeAll(async () => {
    fleet = new Redis(redis.url);
  });
  afterAll(async () => {
    fleet?.disconnect();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  /** A harness whose store records every key it GETs. */
  const harness = async () => {
    const t = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() });
    h = t;
    const reads: string[] = [];
    const get = t.store.get.bind(t.store);
    t.store.get = (key) => {
      reads.push(key);
      return get(key);
    };
    await t.service.start();
    return { t, reads };
  };

  /**
   * Writes the proposal; once its plan is published, the governor's block record (`block`, as
   * written by a governor: SET EX 3600 from its own connection) and the permits given.
   */
  const runPlan = async (
    t: Harness,
    fields: Record<string, string>,
    o: { block?: (id: string) => string; gov?: boolean; p33?: boolean },
  ) => {
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).some((p) => p.fields.plan_id === id), 3000, 'plan published');
    if (o.block) await fleet.set(t.store.keys.governorBlock(id), o.block(id), 'EX', 3600);
    if (o.gov) await t.setPermit('governor', id, govBody('BTCUSDT'));
    if (o.p33) await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    const [res] = await t.waitForResults(1);
    return { id, res: res!.fields };
  };

  // As the governor's Lua writes it (cjson) and as the fleet's Python writes it (json.dumps).
  const ours = (reason: string, symbol = 'BTCUSDT') =>
    JSON.stringify({ reason, timestamp: 1769904003.072, symbol });
  const fleets = (reason: string) =>
    `{"reason": "${reason}", "timestamp": 1769904003.072, "symbol": "BTCUSDT"}`;

  it('when the governor recorded a block then the result and the BLOCK line name its reason', async () => {
    const { t } = await harness();
    const { id, res } = await runPlan(t, proposal('FULL_CLOSE_PROPOSED', '0.1'), {
      block: () => ours('daily_limit_exceeded'),
      p33: true,
    });
    expect(res).toMatchObject({
      decision: 'BLOCKED',
      executed: 'False',
      error: 'permit_timeout_or_missing:missing_governor:daily_limit_exceeded',
    });
    const [line] = logLines(t.log, '[PERMIT_WAIT] BLOCK');
    expect(line?.msg).toMatch(
      new RegExp(
        `^\\[PERMIT_WAIT\\] BLOCK plan=${id} symbol=BTCUSDT wait_ms=\\d+ reason=missing_governor gov_ttl=-2 p33_ttl=\\d+ governor_reason=daily_limit_exceeded$`,
      ),
    );
    // Counted by the wait's own reason: the label set stays the closed one.
    expect(t.metrics.count('consume', 'missing_governor')).toBe(1);
    expect(t.exchange.orders).toEqual([]);
    expect(await t.store.exists(t.store.keys.p33Permit(id))).toBe(true);
  });

  it("when neither permit came and the governor blocked in the fleet's format then missing_both names it", async () => {
    const { t } = await harness();
    const { res } = await runPlan(t, proposal('FULL_CLOSE_PROPOSED', '0.1'), {
      block: () => fleets('hourly_limit_exceeded'),
    });
    expect(res.error).toBe('permit_timeout_or_missing:missing_both:hourly_limit_exceeded');
  });

  it.each([
    ['not JSON', () => 'daily_limit_exceeded'],
    ['a reason that is not snake_case', () => ours('daily limit exceeded')],
    ['another symbol', () => ours('daily_limit_exceeded', 'ETHUSDT')],
  ])('when the block record is %s then the result is the wait reason alone', async (_what, block) => {
    const { t } = await harness();
    const { res } = await runPlan(t, proposal('FULL_CLOSE_PROPOSED', '0.1'), { block, p33: true });
    expect(res.error).toBe('permit_timeout_or_missing:missing_governor');
    expect(logLines(t.log, '[PERMIT_WAIT] BLOCK')[0]?.msg).not.toContain('governor_reason=');
  });

  it('when the governor permit is there then its block record is never read', async () => {
    const { t, reads } = await harness();
    // Executed: both permits consumed, the order sent.
    const first = await runPlan(t, proposal('FULL_CLOSE_PROPOSED', '0.1'), { gov: true, p33: true });
    expect(first.res).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect(reads.filter((k) => k === t.store.keys.governorBlock(first.id))).toEqual([]);
    // Blocked for P3.3 alone: the governor's permit was there, nothing of it to name.
    const fields = proposal('PARTIAL_50', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).some((p) => p.fields.plan_id === id), 3000, 'plan published');
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    const results = await t.waitForResults(2);
    expect(results[1]!.fields.error).toBe('permit_timeout_or_missing:missing_p33');
    expect(reads.filter((k) => k.includes('quantum:governor:block:'))).toEqual([]);
  });
});
