/**
 * explain over traces left by the real apply service (memory store, exchange double), so the
 * explanation follows what the service actually writes, not only our fixtures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { explainCommand } from '../../src/inspect/commands.js';
import type { ExplainJson } from '../../src/inspect/render.js';
import {
  govBody,
  makeHarness,
  p33Body,
  planIdFor,
  proposal,
  type Harness,
} from '../services/apply/harness.js';
import { until } from '../helpers/wait.js';

describe('explain over the real apply service', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  async function runPlan(fields: Record<string, string>, permits: { gov?: string; p33?: string }) {
    h = await makeHarness('memory');
    await h.service.start();
    const id = planIdFor('BTCUSDT', fields);
    await h.writeProposal('BTCUSDT', fields);
    await until(async () => (await h!.plans()).length > 0, 2000, 'the plan');
    if (permits.gov) await h.setPermit('governor', id, permits.gov);
    if (permits.p33) await h.setPermit('p33', id, permits.p33);
    await h.waitForResults(1);
    const store = h.store;
    const env = { APPLY_PERMIT_WAIT_MS: String(h.opts.permitWaitMs) };
    const r = await explainCommand({ env, openStore: async () => store, closeStore: false }, id, true);
    return { id, code: r.code, body: JSON.parse(r.stdout) as ExplainJson };
  }

  it('when the service executed a plan then explain tells the fill and shows the order intent', async () => {
    const { id, code, body } = await runPlan(proposal('FULL_CLOSE_PROPOSED', '0.3'), {
      gov: govBody('BTCUSDT'),
      p33: p33Body('BTCUSDT', 0.0076),
    });
    expect(code).toBe(0);
    expect(body.plan_id).toBe(id);
    expect(body.verdict.line).toMatch(/^EXECUTED: SELL 0\.007 BTCUSDT reduceOnly, order \S+, filled 0\.007$/);
    const whats = body.timeline.map((e) => e.what);
    expect(whats).toContain('plan published: EXECUTE FULL_CLOSE_PROPOSED');
    expect(whats).toContain('permits consumed atomically (governor + p33)');
    expect(whats.some((w) => w.startsWith('order intent written: SELL 0.007 BTCUSDT'))).toBe(true);
    expect(whats.at(-1)).toBe('result: EXECUTE executed=True');
  });

  it('when P3.3 denied then explain quotes the deny reason the service consumed', async () => {
    const deny = JSON.stringify({
      allow: false,
      symbol: 'BTCUSDT',
      reason: 'cooldown_in_flight',
      context: { since_sec: 3.2 },
      created_at: Date.now() / 1000,
    });
    const { body } = await runPlan(proposal('PARTIAL_50', '0.3'), { gov: govBody('BTCUSDT'), p33: deny });
    expect(body.verdict.line).toBe('BLOCKED: P3.3 denied (cooldown_in_flight)');
  });

  it('when P3.3 never answered then explain says missing_p33 and that the governor permit is still live', async () => {
    const { body } = await runPlan(proposal('PARTIAL_75', '0.3'), { gov: govBody('BTCUSDT') });
    expect(body.verdict.reason).toBe('missing_p33');
    expect(body.verdict.line).toMatch(
      /^BLOCKED: permits missing after \d+ ms \(missing_p33; .*governor permit still live for /,
    );
  });
});
