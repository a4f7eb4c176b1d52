/**
 * `history backfill` records what the streams hold into HISTORY_URL (schema created on first
 * use), and a second run adds nothing: natural keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, planStreamFields } from '../../src/domain/plan.js';
import { parseProposal } from '../../src/domain/proposal.js';
import { DECISION_DEFAULTS, FIXED_AT } from '../helpers/decide.js';
import { runCli } from '../helpers/cli.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { redisStoreOn } from '../helpers/redis-store.js';

describe.skipIf(skipRedis)('history backfill', () => {
  const redis = usePrivateRedis();
  const dir = mkdtempSync(join(tmpdir(), 'qa-backfill-'));
  const url = `sqlite:${join(dir, 'history.db')}`;
  let planId = '';
  let prefix = '';
  beforeAll(async () => {
    prefix = redis.prefix();
    const store = await redisStoreOn(redis, prefix);
    const parsed = parseProposal('BTCUSDT', {
      harvest_action: 'PARTIAL_50',
      kill_score: '0.3',
      computed_at_utc: FIXED_AT,
    });
    if (!parsed.ok) throw new Error(parsed.reason);
    const plan = decide(parsed.proposal, {
      ...DECISION_DEFAULTS,
      killSwitch: false,
      allowlist: new Set(['BTCUSDT']),
    });
    planId = plan.planId;
    await store.xadd(store.keys.planStream(), planStreamFields(plan, DECISION_DEFAULTS.nowSec), 1000);
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the plan entry once, however often it runs', async () => {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, HISTORY_URL: url };
    const run = async () => {
      const r = runCli(['history', 'backfill', '--json'], env);
      expect(await r.done, r.err.join('')).toBe(0);
      return JSON.parse(r.out.join('')) as { written: { plans: number } };
    };
    expect((await run()).written.plans).toBe(1);
    expect((await run()).written.plans).toBe(0);
    const list = runCli(['history', '--json'], env);
    expect(await list.done).toBe(0);
    expect((JSON.parse(list.out.join('')) as { plan_id: string }[]).map((l) => l.plan_id)).toEqual([planId]);
  });
});
