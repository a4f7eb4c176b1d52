import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { setArmState } from '../../../src/services/arm-state.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { logLines, makeHarness, PLAN_ENTRY_FIELDS, planIdFor, proposal, type Harness } from './harness.js';
import { sleep } from '../../helpers/wait.js';

const VECTORS: [string, Record<string, string>, string][] = [
  [
    'BTCUSDT',
    {
      harvest_action: 'PARTIAL_75',
      kill_score: '0.539',
      new_sl_proposed: '',
      computed_at_utc: '2026-01-25T00:43:45Z',
    },
    '9fc366d9a9b3ef10',
  ],
  [
    'ETHUSDT',
    {
      harvest_action: 'FULL_CLOSE_PROPOSED',
      kill_score: '0.81',
      new_sl_proposed: '100',
      computed_at_utc: '2026-01-25T00:45:45.123456+00:00',
    },
    '7db55e142b929234',
  ],
  [
    'SOLUSDT',
    {
      harvest_action: 'UPDATE_SL',
      kill_score: '0.2',
      new_sl_proposed: '142.35',
      computed_at_utc: '2026-01-25T01:00:00Z',
    },
    'c46aa3399ef524cb',
  ],
  // Derived edge cases: a %.6f tie (0.0078125 → 0.007812), an exponent and negative zero.
  ['BTCUSDT', { harvest_action: 'HOLD', kill_score: '0.0078125', new_sl_proposed: '1e16' }, ''],
  ['BTCUSDT', { harvest_action: 'HOLD', kill_score: ' -0 ', new_sl_proposed: '-0' }, ''],
  ['BTCUSDT', { harvest_action: 'HOLD', kill_score: '0.5', new_sl_proposed: 'not-a-number' }, ''],
];

describe.skipIf(skipRedis)('apply decisions (real Redis)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });
  const harness = async (
    ...args: Parameters<typeof makeHarness> extends [unknown, ...infer R] ? R : never
  ) => {
    const [over, ...rest] = args;
    // The contract's vectors are dated 2026-01-25: these tests check ids and decisions, so the
    // freshness bound is set past their age (stale proposals: test/domain/plan.test.ts).
    h = await makeHarness(
      { redisUrl: redis.url, prefix: redis.prefix() },
      { maxProposalAgeSec: 20 * 365 * 86_400, ...over },
      ...rest,
    );
    await h.service.start();
    return h;
  };

  it.each(VECTORS)(
    'when the proposal of %s is in Redis then the plan id on the stream is the fleet id',
    async (symbol, fields, expected) => {
      const t = await harness();
      await t.writeProposal(symbol, fields);
      const [res] = await t.waitForResults(1);
      const [plan] = await t.plans();
      const id = expected || planIdFor(symbol, fields);
      expect(plan?.fields.plan_id).toBe(id);
      expect(res?.fields.plan_id).toBe(id);
      expect(plan?.fields.symbol).toBe(symbol);
    },
  );

  it.each([
    [VECTORS[3]![1], 'BTCUSDT:HOLD:0.007812:1e+16:'],
    [VECTORS[4]![1], 'BTCUSDT:HOLD:-0.000000:-0.0:'],
    [VECTORS[5]![1], 'BTCUSDT:HOLD:0.500000:None:'],
  ])('when the edge-case proposal %j is planned then the id hashes %s', async (fields, text) => {
    const t = await harness();
    await t.writeProposal('BTCUSDT', fields);
    await t.waitForResults(1);
    const expected = createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
    expect((await t.plans())[0]?.fields.plan_id).toBe(expected);
  });

  it('when a plan is published then the entry has every contract field as text', async () => {
    const t = await harness();
    await t.writeProposal('SOLUSDT', VECTORS[2]![1]);
    await t.waitForResults(1);
    const [plan] = await t.plans();
    expect(Object.keys(plan!.fields).sort()).toEqual([...PLAN_ENTRY_FIELDS].sort());
    expect(plan!.fields).toMatchObject({
      action: 'UPDATE_SL',
      decision: 'EXECUTE',
      new_sl_proposed: '142.35',
    });
    expect(JSON.parse(plan!.fields.steps!)).toEqual([
      { step: 'UPDATE_SL', type: 'stop_loss_order', price: 142.35 },
    ]);
    const [res] = await t.results();
    expect(Object.keys(res!.fields).sort()).toEqual(
      [
        'plan_id',
        'symbol',
        'decision',
        'executed',
        'would_execute',
        'steps_results',
        'error',
        'timestamp',
      ].sort(),
    );
  });

  it('when the tie and exponent vectors are hashed then the fingerprint follows Python formatting', () => {
    // sha256("BTCUSDT:HOLD:0.007812:1e+16:")[:16] and sha256("BTCUSDT:HOLD:-0.000000:-0.0:")[:16]
    expect(planIdFor('BTCUSDT', VECTORS[3]![1])).toBe(
      planIdFor('BTCUSDT', {
        harvest_action: 'HOLD',
        kill_score: '0.00781250',
        new_sl_proposed: '10000000000000000',
      }),
    );
    expect(planIdFor('BTCUSDT', VECTORS[3]![1])).not.toBe(
      planIdFor('BTCUSDT', { harvest_action: 'HOLD', kill_score: '0.0078126', new_sl_proposed: '1e16' }),
    );
    expect(planIdFor('BTCUSDT', VECTORS[5]![1])).toBe(
      planIdFor('BTCUSDT', { harvest_action: 'HOLD', kill_score: '0.5' }),
    );
  });

  const cases: [
    string,
    Partial<Parameters<typeof makeHarness>[1]>,
    string,
    Record<string, string>,
    string,
    string,
  ][] = [
    [
      'the env kill switch is on',
      { killSwitch: true },
      'BTCUSDT',
      proposal('FULL_CLOSE_PROPOSED', '0.1'),
      'BLOCKED',
      'kill_switch_active',
    ],
    [
      'the symbol is not allowlisted',
      { allowlist: ['ETHUSDT'] },
      'BTCUSDT',
      proposal('FULL_CLOSE_PROPOSED', '0.1'),
      'SKIP',
      'not_in_allowlist',
    ],
    [
      'kill_score is critical',
      {},
      'BTCUSDT',
      proposal('FULL_CLOSE_PROPOSED', '0.8'),
      'BLOCKED',
      'kill_score_critical',
    ],
    [
      'kill_score is at warning on a non-close action',
      {},
      'BTCUSDT',
      proposal('UPDATE_SL', '0.6', { new_sl_proposed: '90' }),
      'BLOCKED',
      'kill_score_warning_risk_increase',
    ],
    ['the action is HOLD', {}, 'BTCUSDT', proposal('HOLD', '0.1'), 'SKIP', 'action_hold'],
    [
      'the action is unknown',
      {},
      'BTCUSDT',
      proposal('OPEN_MORE', '0.1'),
      'ERROR',
      'unknown_action_OPEN_MORE',
    ],
    ['UPDATE_SL has no new_sl', {}, 'BTCUSDT', proposal('UPDATE_SL', '0.1'), 'ERROR', 'missing_new_sl'],
  ];
  it.each(cases)(
    'when %s then plan and result carry the decision and no order is sent',
    async (_name, over, symbol, fields, decision, reason) => {
      const t = await harness(over);
      await t.writeProposal(symbol, fields);
      const [res] = await t.waitForResults(1);
      const [plan] = await t.plans();
      expect(plan?.fields.decision).toBe(decision);
      expect(plan?.fields.reason_codes).toBe(reason);
      expect(plan?.fields.steps).toBe('[]');
      expect(res?.fields).toMatchObject({
        decision,
        executed: 'False',
        would_execute: 'False',
        error: reason,
      });
      // The result metric says the plan itself decided this (alerts count only EXECUTE plans that ended so).
      expect(t.metrics.count('result', symbol, decision, decision)).toBe(1);
      expect(t.exchange.calls).toEqual([]);
    },
  );

  it('when the live arm state is disarmed then plans are BLOCKED kill_switch_active', async () => {
    const t = await harness();
    await setArmState(t.store, { armed: false, reason: 'burst', by: 'governor', atMs: Date.now() });
    await t.writeProposal('BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'));
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ decision: 'BLOCKED', error: 'kill_switch_active' });
    expect(t.exchange.orders).toEqual([]);
  });

  it('when kill_score is at warning on a close action then it stays EXECUTE with the warning code', async () => {
    const t = await harness();
    const fields = proposal('PARTIAL_50', '0.7');
    const id = planIdFor('BTCUSDT', fields);
    await t.setPermit(
      'governor',
      id,
      JSON.stringify({ granted: true, symbol: 'BTCUSDT', decision: 'EXECUTE' }),
    );
    await t.setPermit(
      'p33',
      id,
      JSON.stringify({ allow: true, symbol: 'BTCUSDT', safe_close_qty: 0.005, exchange_position_amt: 0.01 }),
    );
    await t.writeProposal('BTCUSDT', fields);
    const [res] = await t.waitForResults(1);
    const [plan] = await t.plans();
    expect(plan?.fields).toMatchObject({ decision: 'EXECUTE', reason_codes: 'kill_score_warning_close_ok' });
    expect(JSON.parse(plan!.fields.steps!)).toEqual([
      { step: 'CLOSE_PARTIAL_50', type: 'market_reduce_only', side: 'close', pct: 50 },
    ]);
    expect(res?.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
  });

  it('when a proposal has no harvest_action then no plan is made and it is logged and counted once', async () => {
    const t = await harness();
    const fields = proposal('HOLD', '0.1');
    delete (fields as Record<string, string>).harvest_action;
    await t.writeProposal('BTCUSDT', fields);
    await t.writeProposal('ETHUSDT', proposal('HOLD', 'abc'));
    await t.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    await t.waitForResults(1);
    // several sweeps (50 ms each) pass over the same bad proposals
    await sleep(300);
    expect(await t.plans()).toHaveLength(1);
    expect(t.metrics.count('inputRejected', 'missing_harvest_action')).toBe(1);
    expect(t.metrics.count('inputRejected', 'invalid_kill_score')).toBe(1);
    expect(logLines(t.log, 'apply: proposal for BTCUSDT yields no plan')).toHaveLength(1);
  });

  it('when the dedupe key already exists then the EXECUTE plan becomes SKIP duplicate_plan', async () => {
    const t = await harness();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    await t.store.set(t.store.keys.dedupe(planIdFor('BTCUSDT', fields)), '1769300000');
    await t.writeProposal('BTCUSDT', fields);
    const [res] = await t.waitForResults(1);
    expect((await t.plans())[0]?.fields).toMatchObject({ decision: 'SKIP', reason_codes: 'duplicate_plan' });
    expect(res?.fields).toMatchObject({ decision: 'SKIP', executed: 'False', error: 'duplicate_plan' });
    expect(t.metrics.count('dedupeHit')).toBe(1);
    expect(t.exchange.orders).toEqual([]);
  });

  it('when a plan is EXECUTE then the dedupe key holds unix seconds with the configured TTL', async () => {
    const t = await harness({ dedupeTtlSec: 777 });
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    await t.writeProposal('BTCUSDT', fields);
    await t.waitForResults(1);
    const key = t.store.keys.dedupe(planIdFor('BTCUSDT', fields));
    const v = Number(await t.store.get(key));
    expect(Math.abs(v - Date.now() / 1000)).toBeLessThan(60);
    expect(await t.store.pttl(key)).toBeGreaterThan(700_000);
    expect(await t.store.pttl(key)).toBeLessThanOrEqual(777_000);
  });
});
