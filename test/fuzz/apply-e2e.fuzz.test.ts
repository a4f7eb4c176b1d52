/**
 * End to end through the Apply service (memory store, recording exchange double): random
 * proposals and random permit bodies (or none). Every plan gets exactly one result; an order
 * request reaches the exchange only for an EXECUTE plan whose permit set the independent oracle
 * calls valid, and at most once per plan.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionFraction, decide, planIdOf } from '../../src/domain/plan.js';
import { parseProposal } from '../../src/domain/proposal.js';
import { captureLogger } from '../../src/ops/logger.js';
import { systemClock } from '../../src/ops/clock.js';
import { ApplyService } from '../../src/services/apply/service.js';
import { MemoryStore } from '../../src/store/index.js';
import { freshComputedAt } from '../helpers/decide.js';
import { FakeExchange } from '../helpers/fake-exchange.js';
import { BASE_OPTIONS } from '../services/apply/harness.js';
import { bodyOf, govObject, mustRefuse, p33Object } from './permit-oracle.js';
import { sleep, until } from '../helpers/wait.js';

const E2E_RUNS = Number(process.env.FUZZ_E2E_RUNS ?? 300);
const ALLOW = ['BTCUSDT', 'ETHUSDT'];

let seq = 0;
const proposalArb = fc.record({
  symbol: fc.constantFrom('BTCUSDT', 'BTCUSDT', 'BTCUSDT', 'ETHUSDT', 'SOLUSDT'),
  harvest_action: fc.constantFrom(
    'FULL_CLOSE_PROPOSED',
    'PARTIAL_75',
    'PARTIAL_50',
    'PARTIAL_50',
    'UPDATE_SL',
    'HOLD',
    'OPEN',
  ),
  kill_score: fc.constantFrom('0.1', '0.1', '0.5', '0.65', '0.9', 'nan', '-inf'),
  new_sl_proposed: fc.constantFrom('', '59000.123', '59000.123', '0', '-5', 'inf'),
});
/**
 * Four in five well-formed bodies ($S: the plan's symbol; the oracle still judges them, and the
 * quantity may exceed the position), the rest anything (mismatched symbols included).
 */
const govArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constant(
      JSON.stringify({ granted: true, symbol: '$S', decision: 'EXECUTE', consumed: false }),
    ),
  },
  bodyOf(govObject, 'granted'),
);
/**
 * Three in five well-formed allows ($S, $P: the plan's symbol and the position this run sets, so
 * that enough sets pass the plan-share check to send orders), the rest anything.
 */
const p33Arb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constant('$S'),
        fc.constantFrom(0.25, 0.5, 0.004, 1, '0.3'),
        // Mostly the position P3.3 would have seen ($P: the one this run sets), sometimes another.
        fc.oneof({ weight: 5, arbitrary: fc.constant('$P') }, fc.constantFrom(0.5, -2, 3, 0.004)),
      )
      .map(([s, q, seen]) =>
        JSON.stringify({
          allow: true,
          symbol: s,
          safe_close_qty: q,
          exchange_position_amt: seen,
          reason: 'sanity_checks_passed',
        }),
      ),
  },
  bodyOf(p33Object, 'allow'),
  fc.constant('$S').map((s) => JSON.stringify({ allow: true, symbol: s, safe_close_qty: 0.004 })),
);

describe('fuzz: proposals and permits through the apply service', () => {
  const store = new MemoryStore({ clock: systemClock });
  const exchange = new FakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2, SOLUSDT: 3 });
  const log = captureLogger({ level: 'warn' });
  const service = new ApplyService(
    { store, exchange, clock: systemClock, logger: log.logger },
    { ...BASE_OPTIONS, allowlist: ALLOW, permitWaitMs: 15, permitStepMs: 5, pollSec: 0.02 },
  );
  beforeAll(() => service.start());
  afterAll(async () => {
    await service.stop();
    await store.close();
  });

  it('when proposal hashes and permit bodies are random then orders only follow valid permit sets and every plan has one result', async () => {
    const orderCalls = () =>
      exchange.calls.filter((c) => c.method === 'placeReduceOnlyMarket' || c.method === 'placeStopLoss');
    let sent = 0;
    let executePlans = 0;
    await fc.assert(
      fc.asyncProperty(
        proposalArb,
        fc.option(govArb, { nil: undefined, freq: 8 }),
        fc.option(p33Arb, { nil: undefined, freq: 8 }),
        fc.constantFrom(0, 0.5, -0.5, 0.004, 3, -3),
        async (p, govRaw, p33Raw, position) => {
          const gov = govRaw?.replaceAll('"$S"', JSON.stringify(p.symbol));
          const p33 = p33Raw
            ?.replaceAll('"$S"', JSON.stringify(p.symbol))
            .replaceAll('"$P"', JSON.stringify(position));
          const fields = { ...p, computed_at_utc: freshComputedAt(++seq) };
          const parsed = parseProposal(p.symbol, fields);
          if (!parsed.ok) throw new Error(`generator produced an unparseable proposal: ${parsed.reason}`);
          const planId = planIdOf(parsed.proposal);
          const plan = decide(parsed.proposal, {
            killSwitch: false,
            allowlist: new Set(ALLOW),
            kBlockCritical: 0.8,
            kBlockWarning: 0.6,
            nowSec: Date.now() / 1000,
            maxProposalAgeSec: BASE_OPTIONS.maxProposalAgeSec,
          });
          exchange.setPosition(p.symbol, position);
          if (gov !== undefined) await store.set(store.keys.permit('governor', planId), gov, { ttlSec: 60 });
          if (p33 !== undefined) await store.set(store.keys.permit('p33', planId), p33, { ttlSec: 60 });
          const before = orderCalls().length;
          await store.hset(store.keys.proposal(p.symbol), fields);
          const results = await waitForResult(store, planId);
          expect(results).toHaveLength(1);
          const calls = orderCalls().slice(before);
          expect(calls.length).toBeLessThanOrEqual(1);
          if (plan.decision === 'EXECUTE') executePlans++;
          if (calls.length === 1) {
            sent++;
            expect(plan.decision).toBe('EXECUTE');
            expect(
              mustRefuse(gov ?? '', p33 ?? '', p.symbol, position, actionFraction(p.harvest_action)),
            ).toBeNull();
            expect(position).not.toBe(0);
          }
          // Re-reading the same proposal never yields a second result or order.
          service.sweep();
          await sleep(1);
          expect(await resultsFor(store, planId)).toHaveLength(1);
          expect(orderCalls().length).toBe(before + calls.length);
        },
      ),
      { numRuns: E2E_RUNS },
    );
    expect(executePlans).toBeGreaterThan(E2E_RUNS / 10);
    if (process.env.FUZZ_DEBUG) console.log('apply-e2e.fuzz.test.ts sent', sent);
    expect(sent).toBeGreaterThan(E2E_RUNS / 50);
  });
});

async function resultsFor(store: MemoryStore, planId: string) {
  const all = await store.xrange(store.keys.resultStream(), '-', '+');
  return all.filter((e) => e.fields.plan_id === planId);
}

async function waitForResult(store: MemoryStore, planId: string) {
  return until(
    async () => {
      const r = await resultsFor(store, planId);
      return r.length > 0 && r;
    },
    15_000,
    `a result for plan ${planId}`,
    2,
  );
}
