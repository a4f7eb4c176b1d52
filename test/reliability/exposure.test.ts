/**
 * Exposure safety end to end: the real apply, governor and position brain on a private Redis,
 * against the paper exchange, judged by the exchange's own fills (exposure.ts):
 * - a second PARTIAL_50 written as soon as the first result is out never closes more than half of
 *   what is left (the fleet sold 5 and 5 of a position of 10);
 * - a plan id never orders twice, neither once its Redis records have expired (an unchanged
 *   proposal left in Redis) nor after Redis lost its data.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { syntheticMarkets } from '../../src/exchange/paper/markets.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { freshComputedAt } from '../helpers/decide.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { planIdFor, proposal } from '../services/apply/harness.js';
import { awaitSnapshots, startAuthorities, type Authorities } from './authorities.js';
import { exposureOf } from './exposure.js';
import { PAPER_KEYS, startReplica, type Replica } from './rig.js';
import { until } from '../helpers/wait.js';

/** Synthetic markets: mark 100, step 0.001, as in the report (position 10). */
const TRIALS = 50;
const SYMBOLS = syntheticMarkets(TRIALS).map((m) => m.symbol);

describe.skipIf(skipRedis)('exposure end to end (real services, paper exchange)', () => {
  const server = usePrivateRedis();
  let paper: PaperExchange;
  let store: Store;
  let authorities: Authorities | null = null;
  let apply: Replica | null = null;
  let prefix: string;
  beforeAll(async () => {
    paper = await startPaperExchange({ host: '127.0.0.1', port: 0, ...PAPER_KEYS, syntheticSymbols: TRIALS });
  });
  afterEach(async () => {
    await apply?.stop();
    await authorities?.stop();
    await store?.close();
    apply = null;
    authorities = null;
  });
  afterAll(async () => {
    await paper?.close();
  });

  /** Apply (no leases: one process) and the authorities, with their default settings. */
  async function startAll(p33: { cooldownSec?: number } = {}) {
    prefix = server.prefix();
    store = await createStore({ url: server.url, prefix });
    for (const s of SYMBOLS) paper.state.setPosition(s, 10);
    authorities = await startAuthorities(server.url, prefix, paper, SYMBOLS, { p33 });
    apply = await startReplica('solo', server.url, prefix, paper, {
      leases: false,
      opts: { symbols: SYMBOLS, allowlist: SYMBOLS },
    });
    await awaitSnapshots(store, SYMBOLS, '10', 10_000);
  }

  const resultOf = (planId: string) =>
    until(
      async () =>
        (await store.xrange(store.keys.resultStream(), '-', '+')).find((e) => e.fields.plan_id === planId),
      10_000,
      `the result of ${planId}`,
    );

  /** Writes a proposal (DEL + HSET, as upstream does) and returns its plan id. */
  async function write(symbol: string, fields: Record<string, string>): Promise<string> {
    await store.del([store.keys.proposal(symbol)]);
    await store.hset(store.keys.proposal(symbol), fields);
    return planIdFor(symbol, fields);
  }

  /** Each symbol: PARTIAL_50, then a second PARTIAL_50 as soon as the first result is out. */
  async function twoPartials(): Promise<{ results: Record<string, string>[][] }> {
    const results = await Promise.all(
      SYMBOLS.map(async (s) => {
        const first = await resultOf(
          await write(s, proposal('PARTIAL_50', '0.3', { computed_at_utc: freshComputedAt() })),
        );
        const second = await resultOf(
          await write(s, proposal('PARTIAL_50', '0.3', { computed_at_utc: freshComputedAt() })),
        );
        return [first.fields, second.fields];
      }),
    );
    return { results };
  }

  it(`when a second PARTIAL_50 follows the first at once on ${TRIALS} symbols (default settings) then no position is closed beyond half of what is left`, async () => {
    await startAll();
    const { results } = await twoPartials();
    for (const [i, s] of SYMBOLS.entries()) {
      const [first, second] = results[i]!;
      expect(first, s).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
      // The cooldown holds from P3.3's grant of the first, whatever its ledger has seen.
      expect(second, s).toMatchObject({ decision: 'BLOCKED', error: 'p33_permit_denied' });
      expect(paper.state.positionOf(s), s).toBe(5);
    }
    const e = exposureOf(paper.state.fills.filter((f) => SYMBOLS.includes(f.symbol)));
    expect(e).toEqual({ overclosed: [], doubleFilled: [] });
  }, 60_000);

  it(`when the cooldown is off and a second PARTIAL_50 follows at once on ${TRIALS} symbols then it sells at most half of what is left`, async () => {
    await startAll({ cooldownSec: 0 });
    const { results } = await twoPartials();
    for (const [i, s] of SYMBOLS.entries()) {
      const [first, second] = results[i]!;
      expect(first, s).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
      // P3.3's snapshot may still say 10: its reservation of the first 5, and apply's own share of
      // the 5 it reads after consuming, each keep the second at 2.5.
      if (second!.decision === 'EXECUTE') expect(paper.state.positionOf(s), s).toBe(2.5);
      else {
        expect(second, s).toMatchObject({ decision: 'BLOCKED' });
        expect(paper.state.positionOf(s), s).toBe(5);
      }
    }
    const e = exposureOf(paper.state.fills.filter((f) => SYMBOLS.includes(f.symbol)));
    expect(e).toEqual({ overclosed: [], doubleFilled: [] });
    expect(results.filter(([, second]) => second!.decision === 'EXECUTE').length).toBeGreaterThan(0);
  }, 60_000);

  /** Each symbol: one PARTIAL_50 executed, its proposal left in Redis unchanged. */
  async function executeOnce(symbols: readonly string[]): Promise<string[]> {
    const ids = await Promise.all(
      symbols.map((s) => write(s, proposal('PARTIAL_50', '0.3', { computed_at_utc: freshComputedAt() }))),
    );
    for (const id of ids) expect((await resultOf(id)).fields).toMatchObject({ decision: 'EXECUTE' });
    return ids;
  }

  /**
   * Six hours on: every key whose TTL is at most that is gone (dedupe, receipt and result markers,
   * intents, decisions, permits), as Redis would have dropped them. The proposals have no TTL.
   */
  async function expireSixHours(): Promise<number> {
    const { keys } = await store.scanKeys(`${prefix}*`, { count: 1000, limit: 100_000 });
    const ttls = await Promise.all(keys.map((k) => store.pttl(k)));
    const gone = keys.filter((_, i) => ttls[i]! > 0 && ttls[i]! <= 6 * 3600 * 1000 + 60_000);
    await store.del(gone);
    return gone.length;
  }

  const sixHoursOn = { now: () => Date.now() + 6 * 3600 * 1000 };
  const ordersOf = (ids: readonly string[]) =>
    paper.state.orders.filter((o) => ids.some((id) => o.clientOrderId.startsWith(`qa-${id}-`)));

  it('when an unchanged proposal outlives its dedupe and receipt TTLs and apply restarts then it is stale, and nothing is sent again', async () => {
    await startAll();
    const three = SYMBOLS.slice(0, 3);
    const ids = await executeOnce(three);
    await apply!.stop();
    expect(await expireSixHours()).toBeGreaterThan(0);
    apply = await startReplica('later', server.url, prefix, paper, {
      leases: false,
      clock: sixHoursOn,
      opts: { symbols: SYMBOLS, allowlist: SYMBOLS },
    });
    for (const id of ids) {
      await until(
        async () =>
          (await store.xrange(store.keys.resultStream(), '-', '+')).some(
            (e) => e.fields.plan_id === id && e.fields.error === 'stale_proposal',
          ),
        10_000,
        `a second result for ${id}`,
      );
    }
    expect(ordersOf(ids)).toHaveLength(3);
    for (const s of three) expect(paper.state.positionOf(s)).toBe(5);
  }, 60_000);

  it('when the freshness bound is out of the way too then the exchange lookup alone keeps a plan id from ordering twice', async () => {
    await startAll();
    const three = SYMBOLS.slice(0, 3);
    const ids = await executeOnce(three);
    await apply!.stop();
    await expireSixHours();
    // A bound past the proposals' age (6 h): only the client order id lookup stands in the way.
    apply = await startReplica('later', server.url, prefix, paper, {
      leases: false,
      clock: sixHoursOn,
      opts: { symbols: SYMBOLS, allowlist: SYMBOLS, maxProposalAgeSec: 7 * 3600 },
    });
    for (const id of ids) {
      await until(
        async () =>
          (await store.xrange(store.keys.resultStream(), '-', '+')).find(
            (e) => e.fields.plan_id === id && e.fields.error === 'already_executed',
          ),
        10_000,
        `a second result for ${id}`,
      );
    }
    expect(ordersOf(ids)).toHaveLength(3);
    for (const s of three) expect(paper.state.positionOf(s)).toBe(5);
  }, 60_000);

  it('when Redis restarts without its data and the executed proposals are written again unchanged then none orders twice', async () => {
    await startAll();
    const sixteen = SYMBOLS.slice(0, 16);
    const fields = sixteen.map(() => proposal('PARTIAL_50', '0.3', { computed_at_utc: freshComputedAt() }));
    const ids = await Promise.all(sixteen.map((s, i) => write(s, fields[i]!)));
    for (const id of ids) expect((await resultOf(id)).fields).toMatchObject({ decision: 'EXECUTE' });
    await apply!.stop();
    await server.restart(); // no persistence: every key is gone
    await until(
      async () => {
        try {
          const snaps = await Promise.all(sixteen.map((s) => store.hgetall(store.keys.positionSnapshot(s))));
          return snaps.every((h) => h.position_amt === '5');
        } catch {
          return false;
        }
      },
      20_000,
      'P3.3 snapshots again',
    );
    // The authorities re-create their groups on the empty server before any plan is published.
    await until(
      async () => {
        try {
          return (await store.groups(store.keys.planStream())).length === 2;
        } catch {
          return false;
        }
      },
      10_000,
      'both consumer groups again',
    );
    await Promise.all(sixteen.map((s, i) => write(s, fields[i]!)));
    apply = await startReplica('after', server.url, prefix, paper, {
      leases: false,
      opts: { symbols: SYMBOLS, allowlist: SYMBOLS },
    });
    for (const id of ids) {
      // Decided again from scratch; the exchange's record of the client order id stops it.
      expect((await resultOf(id)).fields).toMatchObject({ decision: 'SKIP', error: 'already_executed' });
    }
    expect(ordersOf(ids)).toHaveLength(16);
    for (const s of sixteen) expect(paper.state.positionOf(s)).toBe(5);
    expect(exposureOf(paper.state.fills).doubleFilled).toEqual([]);
  }, 60_000);
});
