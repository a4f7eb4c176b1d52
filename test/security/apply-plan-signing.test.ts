/**
 * The apply layer signs the plan entries it publishes when it holds PLAN_SECRET_APPLY, and
 * publishes the fleet's entry unchanged when it does not (SECURITY.md "Signed plan entries").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyOptionsFrom } from '../../src/cli/commands/apply.js';
import { parseCheckedPlan } from '../../src/domain/governor/plan-input.js';
import { PermitKey } from '../../src/domain/permit-signing.js';
import { planEntrySigner, signPlanFields, verifyPlanSignature } from '../../src/domain/plan-signing.js';
import { loadApplyConfig } from '../../src/ops/config.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { makeHarness, PLAN_ENTRY_FIELDS, proposal, type Harness } from '../services/apply/harness.js';
import { until } from '../helpers/wait.js';

const SECRET = 'plan-secret-0123456789abcdef-current';
const KEY = new PermitKey(SECRET);

const plansAtLeast = (h: Harness, n: number) =>
  until(
    async () => {
      const plans = await h.plans();
      return plans.length >= n && plans;
    },
    5000,
    `${n} plan entries`,
  );

describe('apply plan signing options', () => {
  it('when PLAN_SECRET_APPLY is set then the options carry a signer, else none', () => {
    expect(applyOptionsFrom(loadApplyConfig({})).signPlanEntry).toBeNull();
    const sign = applyOptionsFrom(loadApplyConfig({ PLAN_SECRET_APPLY: SECRET })).signPlanEntry;
    expect(sign?.({ plan_id: 'x' })).toEqual(signPlanFields({ plan_id: 'x' }, KEY));
  });
});

describe('apply publishing plan entries on the memory store', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('when apply holds no plan key then the entry is the fleet fields in order, without sig', async () => {
    h = await makeHarness('memory');
    await h.service.start();
    await h.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    const [entry] = await plansAtLeast(h, 1);
    expect(Object.keys(entry!.fields)).toEqual(PLAN_ENTRY_FIELDS);
  });
});

describe.skipIf(skipRedis)('apply publishing signed plan entries (real Redis)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('when apply holds a plan key then every entry read back from Redis verifies and adds only sig to the fleet fields', async () => {
    h = await makeHarness(
      { redisUrl: redis.url, prefix: redis.prefix() },
      { signPlanEntry: planEntrySigner(KEY), permitWaitMs: 50 },
    );
    await h.service.start();
    await h.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    await h.writeProposal(
      'BTCUSDT',
      proposal('PARTIAL_50', '0.3', { computed_at_utc: new Date().toISOString() }),
    );
    const entries = await plansAtLeast(h, 2);
    for (const { fields } of entries) {
      expect(Object.keys(fields)).toEqual([...PLAN_ENTRY_FIELDS, 'sig']);
      expect(verifyPlanSignature(fields, [KEY])).toEqual({ ok: true, keyId: KEY.keyId });
      expect(parseCheckedPlan(fields, { keys: [KEY], required: true })).toMatchObject({ ok: true });
      expect(verifyPlanSignature({ ...fields, action: 'FULL_CLOSE_PROPOSED' }, [KEY])).toMatchObject({
        ok: false,
        reason: 'plan_tampered',
      });
    }
    expect(entries.map((e) => e.fields.decision).sort()).toEqual(['EXECUTE', 'SKIP']);
  });
});
