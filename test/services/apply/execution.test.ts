import { afterEach, describe, expect, it } from 'vitest';
import { setArmState } from '../../../src/services/arm-state.js';
import { clientOrderIdFor } from '../../../src/exchange/port.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { until, sleep } from '../../helpers/wait.js';
import { skipRedis, usePrivateRedis } from '../../helpers/redis-server.js';
import { govBody, logLines, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';

type Over = Parameters<typeof makeHarness>[1];

describe.skipIf(skipRedis)('apply execution (real Redis, exchange double)', () => {
  const redis = usePrivateRedis();
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });
  const harness = async (over: Over = {}, ex?: FakeExchange) => {
    h = await makeHarness({ redisUrl: redis.url, prefix: redis.prefix() }, over, ex);
    await h.service.start();
    return h;
  };
  /** Writes the proposal, then both permits once its plan is on the stream (like the fleet). */
  const runPlan = async (
    t: Harness,
    symbol: string,
    fields: Record<string, string>,
    permits: { gov?: string | null; p33?: string | null },
  ) => {
    const id = planIdFor(symbol, fields);
    await t.writeProposal(symbol, fields);
    await until(async () => (await t.plans()).length > 0, 1000, 'the plan');
    if (permits.gov !== null) await t.setPermit('governor', id, permits.gov ?? govBody(symbol));
    if (permits.p33 !== null) await t.setPermit('p33', id, permits.p33 ?? p33Body(symbol, 0.0076));
    const [res] = await t.waitForResults(1);
    return { id, res: res!.fields };
  };

  it('when both permits arrive then one reduceOnly MARKET SELL for a long is sent with the step-floored qty', async () => {
    const t = await harness();
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.3'), {});
    expect(t.exchange.orders).toHaveLength(1);
    const call = t.exchange.calls.find((c) => c.method === 'placeReduceOnlyMarket');
    expect(call?.args[0]).toEqual({
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: '0.007',
      clientOrderId: clientOrderIdFor(id, 'CLOSE_FULL'),
    });
    expect(res).toMatchObject({
      plan_id: id,
      decision: 'EXECUTE',
      executed: 'True',
      would_execute: 'False',
      error: '',
    });
    const [step] = JSON.parse(res.steps_results!);
    expect(step).toMatchObject({
      step: 'CLOSE_FULL',
      status: 'success',
      side: 'SELL',
      quantity: '0.007',
      executed_qty: '0.007',
      reduce_only: true,
    });
    expect(await t.store.hgetall(t.store.keys.orderIntent(id))).toMatchObject({
      state: 'filled',
      side: 'SELL',
      quantity: '0.007',
    });
    // both permits consumed
    expect(await t.store.exists(t.store.keys.governorPermit(id))).toBe(false);
    expect(await t.store.exists(t.store.keys.p33Permit(id))).toBe(false);
    const ok = logLines(t.log, '[PERMIT_WAIT] OK');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.msg).toMatch(
      new RegExp(`^\\[PERMIT_WAIT\\] OK plan=${id} symbol=BTCUSDT wait_ms=\\d+ safe_qty=0.007$`),
    );
    expect(t.metrics.count('proposalToOrder', 'BTCUSDT')).toBe(1);
  });

  it('when the position is short then the reducing side is BUY', async () => {
    const t = await harness();
    await runPlan(t, 'ETHUSDT', proposal('PARTIAL_50', '0.1'), { p33: p33Body('ETHUSDT', 0.25) });
    expect(t.exchange.orders[0]).toMatchObject({ symbol: 'ETHUSDT', side: 'BUY', executedQty: '0.250' });
  });

  it('when APPLY_MODE is dry_run then no order is sent and would_execute is True', async () => {
    const t = await harness({ mode: 'dry_run' });
    const { res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(t.exchange.orders).toEqual([]);
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'False', would_execute: 'True', error: '' });
    expect(JSON.parse(res.steps_results!)[0]).toMatchObject({
      status: 'dry_run',
      side: 'SELL',
      quantity: '0.007',
    });
  });

  it('when dry_run has no credentials then positions are not read and P3.3s amount stands in', async () => {
    const t = await harness({ mode: 'dry_run', hasCredentials: false });
    const { res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(t.exchange.calls.map((c) => c.method)).toEqual(['symbolRules']);
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'False', would_execute: 'True' });
  });

  it('when testnet has no credentials then ERROR missing_binance_credentials and the permits stay', async () => {
    const t = await harness({ hasCredentials: false });
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'ERROR', executed: 'False', error: 'missing_binance_credentials' });
    expect(t.exchange.calls).toEqual([]);
    expect(await t.store.exists(t.store.keys.governorPermit(id))).toBe(true);
  });

  it.each([
    ['both', { gov: null, p33: null }, 'missing_both'],
    ['the governor permit', { gov: null }, 'missing_governor'],
    ['the P3.3 permit', { p33: null }, 'missing_p33'],
  ] as const)(
    'when %s is missing then BLOCKED permit_timeout_or_missing with TTLs in the log',
    async (_n, permits, reason) => {
      const t = await harness();
      const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), permits);
      expect(res).toMatchObject({
        decision: 'BLOCKED',
        executed: 'False',
        error: `permit_timeout_or_missing:${reason}`,
      });
      expect(t.metrics.count('result', 'BTCUSDT', 'BLOCKED', 'EXECUTE')).toBe(1);
      expect(t.exchange.orders).toEqual([]);
      const [line] = logLines(t.log, '[PERMIT_WAIT] BLOCK');
      expect(line?.msg).toMatch(
        new RegExp(
          `^\\[PERMIT_WAIT\\] BLOCK plan=${id} symbol=BTCUSDT wait_ms=\\d+ reason=${reason} gov_ttl=-?\\d+ p33_ttl=-?\\d+$`,
        ),
      );
      const present = reason === 'missing_governor' ? 'p33' : reason === 'missing_p33' ? 'governor' : null;
      if (present) {
        expect(line?.msg).toMatch(present === 'p33' ? /p33_ttl=\d{4,}/ : /gov_ttl=\d{4,}/);
        // nothing consumed: the present permit is still there
        expect(await t.store.exists(t.store.keys.permit(present, id))).toBe(true);
      }
    },
  );

  const refusals: [string, { gov?: string; p33?: string }, string][] = [
    [
      'the governor did not grant',
      { gov: govBody('BTCUSDT', { granted: false }) },
      'governor_permit_not_granted',
    ],
    [
      'P3.3 denied',
      {
        p33: JSON.stringify({
          allow: false,
          symbol: 'BTCUSDT',
          reason: 'stale_exchange_state',
          context: {},
          created_at: 1,
        }),
      },
      'p33_permit_denied',
    ],
    ['the governor permit names another symbol', { gov: govBody('ETHUSDT') }, 'permit_symbol_mismatch'],
    ['the P3.3 permit names another symbol', { p33: p33Body('ETHUSDT', 0.005) }, 'permit_symbol_mismatch'],
    [
      'safe_close_qty is above the position read after the consume',
      { p33: p33Body('BTCUSDT', 0.02, { exchange_position_amt: 0.02 }) },
      'safe_qty_exceeds_position',
    ],
    [
      'safe_close_qty is above the plan share of the position P3.3 saw',
      { p33: p33Body('BTCUSDT', 0.02) },
      'permit_qty_exceeds_plan',
    ],
    [
      'the P3.3 allow does not say which position it saw',
      { p33: p33Body('BTCUSDT', 0.005, { exchange_position_amt: null }) },
      'invalid_p33_permit_format',
    ],
    ['the governor body is not JSON', { gov: '{granted: yes' }, 'invalid_governor_permit_format'],
    ['the P3.3 body is a JSON array', { p33: '[1,2]' }, 'invalid_p33_permit_format'],
    [
      'granted is the string "true"',
      { gov: govBody('BTCUSDT', { granted: 'true' }) },
      'invalid_governor_permit_format',
    ],
    ['safe_close_qty is not a number', { p33: p33Body('BTCUSDT', 'abc') }, 'invalid_safe_close_qty'],
    ['safe_close_qty is zero', { p33: p33Body('BTCUSDT', 0) }, 'invalid_safe_close_qty'],
    ['safe_close_qty is NaN', { p33: p33Body('BTCUSDT', 'nan') }, 'invalid_safe_close_qty'],
    ['safe_close_qty is below one step', { p33: p33Body('BTCUSDT', 0.0004) }, 'qty_below_step'],
  ];
  it.each(refusals)('when %s then BLOCKED with that reason and no order', async (_n, permits, error) => {
    const t = await harness();
    const { res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), permits);
    expect(res).toMatchObject({ decision: 'BLOCKED', executed: 'False', would_execute: 'False', error });
    expect(t.exchange.orders).toEqual([]);
    expect(logLines(t.log, '[PERMIT_WAIT] BLOCK')[0]?.msg).toContain(`reason=${error}`);
    if (error === 'p33_permit_denied') {
      expect(logLines(t.log, '[PERMIT_WAIT] BLOCK')[0]?.msg).toContain('p33_reason=stale_exchange_state');
    }
  });

  it('when the position shrank after P3.3 looked then the order is the plan share of what is there now', async () => {
    // Position 10 (step 0.001). P3.3 granted 5 for a PARTIAL_50 from a snapshot taken before an
    // earlier close filled; by the time the permits are consumed the position is 5.
    const ex = new FakeExchange({ BTCUSDT: 10 });
    const t = await harness({}, ex);
    const fields = proposal('PARTIAL_50', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length > 0);
    ex.setPosition('BTCUSDT', 5);
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 5, { exchange_position_amt: 10 }));
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect(ex.orders.map((o) => [o.side, o.executedQty])).toEqual([['SELL', '2.500']]);
    expect(logLines(t.log, '[PERMIT_WAIT] OK')[0]).toMatchObject({ safe_qty: '5.000', qty: '2.500' });
  });

  it('when the plan step is already on the exchange then SKIP already_executed and nothing is sent', async () => {
    // An earlier run sent this plan's order and its Redis records are gone (TTLs, a Redis
    // restart without its data): the exchange's record decides, and it is asked during the wait.
    const t = await harness();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    const clientId = clientOrderIdFor(id, 'CLOSE_FULL');
    t.exchange.orders.push({
      orderId: '777',
      clientOrderId: clientId,
      symbol: 'BTCUSDT',
      side: 'SELL',
      status: 'FILLED',
      origQty: '0.007',
      executedQty: '0.007',
      avgPrice: '100',
      reduceOnly: true,
    });
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length > 0);
    // Asked before the permits exist: the lookup runs while they are awaited.
    await until(async () => t.exchange.calls.some((c) => c.method === 'findOrder'));
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.0076));
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ decision: 'SKIP', executed: 'False', error: 'already_executed' });
    const [step] = JSON.parse(res!.fields.steps_results!);
    expect(step).toMatchObject({ step: 'CLOSE_FULL', status: 'already_executed', order_id: '777' });
    expect(step.executed_qty).toBeUndefined();
    expect(t.exchange.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toEqual([]);
    expect(t.metrics.count('orderLookup', 'found')).toBe(1);
    // A lookup before a send is no recovery: it leaves the weight kept in reserve to recoveries.
    expect(t.exchange.calls.find((c) => c.method === 'findOrder')?.args[2]).toEqual({ recovery: false });
  });

  it('when the exchange cannot say whether the plan step was sent then ERROR order_lookup_failed, no order', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    ex.failWith.findOrder = 'exchange_unavailable';
    const t = await harness({}, ex);
    const { res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'ERROR', executed: 'False', error: 'order_lookup_failed' });
    expect(ex.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toEqual([]);
    expect(t.metrics.count('orderLookup', 'failed')).toBe(1);
  });

  const POSITION_CHECK = [{ step: 'POSITION_CHECK', status: 'no_position', details: 'No position to close' }];
  const noPositionDeny = JSON.stringify({
    allow: false,
    symbol: 'BTCUSDT',
    reason: 'no_position',
    context: { exchange_amt: 0 },
    created_at: 1,
  });

  it('when the position is flat then SKIP no_position with the POSITION_CHECK step and no order', async () => {
    const t = await harness({}, new FakeExchange({ BTCUSDT: 0 }));
    const { res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'SKIP', executed: 'False', error: 'no_position' });
    expect(JSON.parse(res.steps_results!)).toEqual(POSITION_CHECK);
    expect(t.exchange.orders).toEqual([]);
  });

  it('when P3.3 denies no_position and the position is flat then SKIP no_position, as the fleet writes it', async () => {
    const t = await harness({}, new FakeExchange({ BTCUSDT: 0 }));
    const { res } = await runPlan(t, 'BTCUSDT', proposal('PARTIAL_50', '0.1'), { p33: noPositionDeny });
    expect(res).toMatchObject({
      decision: 'SKIP',
      executed: 'False',
      would_execute: 'False',
      error: 'no_position',
    });
    expect(JSON.parse(res.steps_results!)).toEqual(POSITION_CHECK);
    expect(t.exchange.orders).toEqual([]);
  });

  it('when P3.3 denies no_position but a position is open now then BLOCKED p33_permit_denied', async () => {
    const t = await harness({}, new FakeExchange({ BTCUSDT: 0.01 }));
    const { res } = await runPlan(t, 'BTCUSDT', proposal('PARTIAL_50', '0.1'), { p33: noPositionDeny });
    expect(res).toMatchObject({ decision: 'BLOCKED', error: 'p33_permit_denied', steps_results: '[]' });
    expect(t.exchange.orders).toEqual([]);
  });

  it('when the position cannot be read after the consume then ERROR with the reason and no order', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    ex.failWith.position = 'exchange_unreachable';
    const t = await harness({}, ex);
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'ERROR', error: 'exchange_read_failed:exchange_unreachable' });
    expect(t.exchange.orders).toEqual([]);
    // The position is read after the consume (the order is sized against it): the permits are used.
    expect(await t.store.exists(t.store.keys.p33Permit(id))).toBe(false);
  });

  it('when the symbol rules cannot be read then ERROR before the wait and the permits stay', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    ex.failWith.symbolRules = 'exchange_unreachable';
    const t = await harness({}, ex);
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'ERROR', error: 'exchange_read_failed:exchange_unreachable' });
    expect(await t.store.exists(t.store.keys.p33Permit(id))).toBe(true);
  });

  it('when the exchange rejects the order then ERROR order_rejected and the intent says rejected', async () => {
    // The exchange answers -2022, e.g. because the position moved after it was read.
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    const t = await harness({}, ex);
    ex.placeReduceOnlyMarket = async (req) => {
      ex.calls.push({ method: 'placeReduceOnlyMarket', args: [req] });
      return {
        kind: 'rejected',
        reason: 'reduce_only_rejected',
        code: -2022,
        message: 'ReduceOnly Order is rejected.',
      };
    };
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({
      decision: 'ERROR',
      executed: 'False',
      error: 'order_rejected:reduce_only_rejected',
    });
    expect(await t.store.hgetall(t.store.keys.orderIntent(id))).toMatchObject({ state: 'rejected' });
  });

  it('when the order outcome is unknown then ERROR order_status_unknown and it is never resent, also after a restart', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    const t = await harness({}, ex);
    ex.placeReduceOnlyMarket = async (req) => {
      ex.calls.push({ method: 'placeReduceOnlyMarket', args: [req] });
      return { kind: 'unknown', reason: 'timeout', message: 'no answer' };
    };
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'ERROR', error: 'order_status_unknown' });
    expect(await t.store.hgetall(t.store.keys.orderIntent(id))).toMatchObject({ state: 'unknown' });
    await t.restartService();
    await sleep(200);
    expect(ex.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toHaveLength(1);
    expect(await t.results()).toHaveLength(1);
  });

  it('when an order left unknown had filled then the reconciler records the fill once, in the intent and on the reconciled stream', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 });
    const t = await harness({ reconcileEveryMs: 40 }, ex);
    const place = ex.placeReduceOnlyMarket.bind(ex);
    ex.placeReduceOnlyMarket = async (req) => {
      await place(req); // it reached the exchange and filled, but the answer was lost
      return { kind: 'unknown', reason: 'timeout', message: 'no answer' };
    };
    const { id, res } = await runPlan(t, 'BTCUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'), {});
    expect(res).toMatchObject({ decision: 'ERROR', error: 'order_status_unknown' });
    const reconciled = await until(async () => {
      const r = await t.store.xrange(t.store.keys.reconciledStream(), '-', '+');
      return r.length > 0 ? r : null;
    });
    expect(reconciled).toHaveLength(1);
    expect(reconciled[0]!.fields).toMatchObject({
      plan_id: id,
      symbol: 'BTCUSDT',
      decision: 'EXECUTE',
      executed: 'True',
      reconciles: 'order_status_unknown',
    });
    expect(JSON.parse(reconciled[0]!.fields.steps_results!)[0]).toMatchObject({
      step: 'CLOSE_FULL',
      side: 'SELL',
      executed_qty: '0.007',
    });
    expect(await t.store.hgetall(t.store.keys.orderIntent(id))).toMatchObject({
      state: 'filled',
      executed_qty: '0.007',
      resolved_by: 'reconciler',
    });
    expect(await t.store.hgetall(t.store.keys.unresolvedOrders())).toEqual({});
    expect(t.metrics.count('reconcile', 'filled')).toBe(1);
    await sleep(150); // more passes: nothing more to record
    expect(await t.store.xlen(t.store.keys.reconciledStream())).toBe(1);
    expect(await t.results()).toHaveLength(1);
    expect(ex.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toHaveLength(1);
  });

  it('when the arm state flips to disarmed during the permit wait then BLOCKED kill_switch_active', async () => {
    const t = await harness();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    await t.writeProposal('BTCUSDT', fields);
    await until(async () => (await t.plans()).length > 0, 1000, 'the plan');
    await setArmState(t.store, { armed: false, reason: 'operator', by: 'test', atMs: Date.now() });
    await t.setPermit('governor', id, govBody('BTCUSDT'));
    await t.setPermit('p33', id, p33Body('BTCUSDT', 0.005));
    const [res] = await t.waitForResults(1);
    expect(res?.fields).toMatchObject({ decision: 'BLOCKED', error: 'kill_switch_active' });
    expect(t.exchange.orders).toEqual([]);
  });

  it('when UPDATE_SL is permitted then a stop on the closing side is placed, rounded away from the mark', async () => {
    const t = await harness({}, new FakeExchange({ BTCUSDT: 0.01 }, { BTCUSDT: 100_000 }));
    const { id, res } = await runPlan(
      t,
      'BTCUSDT',
      proposal('UPDATE_SL', '0.1', { new_sl_proposed: '95123.456' }),
      {
        p33: p33Body('BTCUSDT', 0.01),
      },
    );
    expect(t.exchange.stops).toEqual([
      {
        symbol: 'BTCUSDT',
        side: 'SELL',
        triggerPrice: '95123.4',
        clientAlgoId: clientOrderIdFor(id, 'UPDATE_SL'),
      },
    ]);
    expect(t.exchange.orders).toEqual([]);
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect((await t.plans())[0]?.fields).toMatchObject({ decision: 'EXECUTE', new_sl_proposed: '95123.456' });
  });

  it('when the exchange refuses the stop then ERROR stop_rejected with its reason', async () => {
    const ex = new FakeExchange({ ETHUSDT: -0.5 }, { ETHUSDT: 3000 });
    const t = await harness({}, ex);
    ex.placeStopLoss = async (req) => {
      ex.calls.push({ method: 'placeStopLoss', args: [req] });
      return {
        kind: 'rejected',
        reason: 'order_would_immediately_trigger',
        code: -2021,
        message: 'Order would immediately trigger.',
      };
    };
    const { res } = await runPlan(
      t,
      'ETHUSDT',
      proposal('UPDATE_SL', '0.1', { new_sl_proposed: '3100.005' }),
      {
        p33: p33Body('ETHUSDT', 0.5),
      },
    );
    // A short's BUY stop is rounded up, away from the mark.
    expect(ex.calls.find((c) => c.method === 'placeStopLoss')?.args[0]).toMatchObject({
      side: 'BUY',
      triggerPrice: '3100.01',
    });
    expect(res).toMatchObject({
      decision: 'ERROR',
      executed: 'False',
      error: 'stop_rejected:order_would_immediately_trigger',
    });
  });

  const stopRefusals: [string, string, number, string, string][] = [
    ['an absurd stop price (1e308)', 'BTCUSDT', 100_000, '1e308', 'stop_price_out_of_range'],
    ['a stop below the symbol minPrice', 'BTCUSDT', 100_000, '0.5', 'stop_price_out_of_range'],
    ["a long's SELL stop above the mark", 'BTCUSDT', 100_000, '100500', 'stop_price_would_trigger'],
    ["a long's SELL stop at the mark", 'BTCUSDT', 100_000, '100000', 'stop_price_would_trigger'],
    ["a short's BUY stop below the mark", 'ETHUSDT', 3000, '2999.99', 'stop_price_would_trigger'],
  ];
  it.each(stopRefusals)(
    'when UPDATE_SL asks for %s then BLOCKED with the reason and nothing reaches the exchange',
    async (_n, symbol, mark, price, error) => {
      const ex = new FakeExchange({ BTCUSDT: 0.01, ETHUSDT: -0.5 }, { [symbol]: mark });
      const t = await harness({}, ex);
      const { res } = await runPlan(t, symbol, proposal('UPDATE_SL', '0.1', { new_sl_proposed: price }), {
        p33: p33Body(symbol, symbol === 'BTCUSDT' ? 0.01 : 0.5),
      });
      expect(res).toMatchObject({ decision: 'BLOCKED', executed: 'False', error });
      expect(ex.calls.filter((c) => c.method === 'placeStopLoss')).toEqual([]);
    },
  );

  it('when the stop of this plan is already on the exchange then it is not placed again', async () => {
    const ex = new FakeExchange({ BTCUSDT: 0.01 }, { BTCUSDT: 100_000 });
    const t = await harness({}, ex);
    const fields = proposal('UPDATE_SL', '0.1', { new_sl_proposed: '95000' });
    const id = planIdFor('BTCUSDT', fields);
    // Placed by an earlier run, and replaced since: found in any state.
    ex.placedStops.set(clientOrderIdFor(id, 'UPDATE_SL'), {
      algoId: '41',
      status: 'CANCELED',
      symbol: 'BTCUSDT',
    });
    const { res } = await runPlan(t, 'BTCUSDT', fields, { p33: p33Body('BTCUSDT', 0.01) });
    expect(res).toMatchObject({ decision: 'SKIP', error: 'already_executed' });
    expect(ex.calls.filter((c) => c.method === 'placeStopLoss')).toEqual([]);
  });

  it('when the kill score is off the [0, 1] scale or the proposal is stale then BLOCKED and no order', async () => {
    const t = await harness();
    const stale = new Date(Date.now() - 301_000).toISOString();
    const cases: [Record<string, string>, string][] = [
      [proposal('FULL_CLOSE_PROPOSED', '-5'), 'invalid_kill_score'],
      [proposal('FULL_CLOSE_PROPOSED', '-1e308'), 'invalid_kill_score'],
      [proposal('FULL_CLOSE_PROPOSED', '0.1', { computed_at_utc: stale }), 'stale_proposal'],
    ];
    for (const [fields, reason] of cases) {
      await t.writeProposal('BTCUSDT', fields);
      const id = planIdFor('BTCUSDT', fields);
      const res = await until(async () => (await t.results()).find((r) => r.fields.plan_id === id));
      expect(res.fields).toMatchObject({ decision: 'BLOCKED', error: reason });
    }
    expect(t.exchange.calls.filter((c) => c.method === 'placeReduceOnlyMarket')).toEqual([]);
  });

  it('when UPDATE_SL has no permits then BLOCKED and no stop is placed', async () => {
    const t = await harness();
    const { res } = await runPlan(t, 'BTCUSDT', proposal('UPDATE_SL', '0.1', { new_sl_proposed: '95000' }), {
      gov: null,
    });
    expect(res).toMatchObject({ decision: 'BLOCKED', error: 'permit_timeout_or_missing:missing_governor' });
    expect(t.exchange.stops).toEqual([]);
  });
});
