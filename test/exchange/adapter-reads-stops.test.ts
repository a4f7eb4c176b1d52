import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { ExchangeError } from '../../src/exchange/port.js';
import { ManualClock } from '../../src/ops/clock.js';
import { adapterFor } from './adapter-setup.js';
import { KEY, raw, SECRET } from './paper-client.js';

let px: PaperExchange;
beforeAll(async () => {
  px = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, positions: {}, marks: { BTCUSDT: 61000 } });
});
afterAll(() => px.close());
beforeEach(() => {
  px.faults.clear();
  px.state.setPosition('BTCUSDT', 0.5);
  px.state.setPosition('ETHUSDT', -2);
  px.state.setPosition('SOLUSDT', 0);
});

const count = (path: string) => px.state.requestLog.filter((r) => r.path === path).length;

describe('adapter reads', () => {
  it('when rules are read then the step comes from the filters (BTC 0.001, SOL 1) and exchangeInfo is cached until its TTL', async () => {
    const clock = new ManualClock(Date.now());
    const { ex } = adapterFor(px, { clock, exchangeInfoTtlMs: 60_000 });
    const before = count('/fapi/v1/exchangeInfo');
    expect(await ex.symbolRules('BTCUSDT')).toMatchObject({
      stepSize: '0.001',
      minQty: '0.001',
      maxQty: '120',
      tickSize: '0.10',
      minPrice: '556.80',
      maxPrice: '4529764',
      minNotional: '100',
    });
    expect(await ex.symbolRules('SOLUSDT')).toMatchObject({ stepSize: '1' });
    expect(count('/fapi/v1/exchangeInfo') - before).toBe(1);
    clock.advance(61_000);
    await ex.symbolRules('BTCUSDT');
    expect(count('/fapi/v1/exchangeInfo') - before).toBe(2);
    await expect(ex.symbolRules('FOOUSDT')).rejects.toMatchObject({ reason: 'invalid_symbol' });
  });
  it('when exchangeInfo cannot be refreshed after its TTL then cached rules serve, with a warning, until the stale limit', async () => {
    const clock = new ManualClock(Date.now());
    const { ex, warnings } = adapterFor(px, {
      clock,
      exchangeInfoTtlMs: 60_000,
      exchangeInfoMaxStaleMs: 600_000,
      readRetries: 0,
    });
    await ex.symbolRules('BTCUSDT');
    px.faults.set({ endpoint: '/fapi/v1/exchangeInfo', status5xx: 502 });
    clock.advance(120_000);
    expect(await ex.symbolRules('BTCUSDT')).toMatchObject({ stepSize: '0.001' });
    expect(warnings.some((w) => w.msg === 'exchangeInfo refresh failed; using cached rules')).toBe(true);
    clock.advance(600_000);
    await expect(ex.symbolRules('BTCUSDT')).rejects.toMatchObject({ reason: 'exchange_unavailable' });
  });
  it('when positions are read (v3) then signed amounts come from positionAmt and flat symbols read 0', async () => {
    const { ex } = adapterFor(px);
    const [btc, eth, sol] = await ex.positions(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(btc).toMatchObject({
      amount: 0.5,
      amountText: '0.5',
      markPrice: 61000,
      entryPrice: 61000,
      leverage: null,
    });
    expect(eth).toMatchObject({ amount: -2, markPrice: 3000 });
    expect(sol).toMatchObject({ amount: 0, amountText: '0' });
    expect(ex.rateLimitState().usedWeight1m).toBeGreaterThan(0);
  });
  it('when positions are read on v2 then leverage is reported', async () => {
    const { ex } = adapterFor(px, { positionRiskVersion: 2 });
    expect(await ex.position('ETHUSDT')).toMatchObject({ amount: -2, leverage: 20 });
  });
  it('when the mark price is read then it comes from premiumIndex', async () => {
    const { ex } = adapterFor(px);
    expect(await ex.markPrice('BTCUSDT')).toBe(61000);
  });
  it('when a read meets one 502 then it is retried and succeeds', async () => {
    const { ex } = adapterFor(px);
    px.faults.set({ endpoint: '/fapi/v1/premiumIndex', status5xx: 502, count: 1 });
    expect(await ex.markPrice('ETHUSDT')).toBe(3000);
  });
  it('when a read never gets an answer then it fails with exchange_timeout after bounded retries', async () => {
    const { ex } = adapterFor(px, { timeoutMs: 100, readRetries: 1 });
    px.faults.set({ endpoint: '/fapi/v1/premiumIndex', timeout: true });
    const before = count('/fapi/v1/premiumIndex');
    await expect(ex.markPrice('ETHUSDT')).rejects.toMatchObject({ reason: 'exchange_timeout' });
    expect(count('/fapi/v1/premiumIndex') - before).toBe(2);
  });
  it('when a read answers garbage then it fails with bad_response', async () => {
    const { ex } = adapterFor(px);
    px.faults.set({ endpoint: '/fapi/v3/positionRisk', garbageAfterFill: true, count: 1 });
    const err = await ex.position('BTCUSDT').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExchangeError);
    expect(err).toMatchObject({ reason: 'bad_response' });
  });
  it('when the API key is wrong then reads fail with invalid_api_key', async () => {
    const { ex } = adapterFor(px, { apiKey: 'wrong' });
    await expect(ex.position('BTCUSDT')).rejects.toMatchObject({
      reason: 'invalid_api_key',
      code: -2015,
      httpStatus: 401,
    });
  });
  it('when the secret is wrong then reads fail with invalid_signature', async () => {
    const { ex } = adapterFor(px, { apiSecret: 'wrong' });
    await expect(ex.position('BTCUSDT')).rejects.toMatchObject({ reason: 'invalid_signature', code: -1022 });
  });
  it('when findOrder asks for an unknown id then it returns null', async () => {
    const { ex } = adapterFor(px);
    expect(await ex.findOrder('BTCUSDT', 'qa-nothing-here')).toBeNull();
  });
});

describe('adapter stop losses', () => {
  const open = () => px.state.algoOrders.filter((a) => a.symbol === 'BTCUSDT' && a.algoStatus === 'NEW');

  it("when a long's SELL stop is off the tick then it goes out as a closePosition STOP_MARKET rounded down, away from the mark", async () => {
    const { ex } = adapterFor(px);
    const out = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '55000.09',
      clientAlgoId: 'qa-sl-a',
    });
    expect(out).toMatchObject({ kind: 'placed', clientAlgoId: 'qa-sl-a', replaced: [] });
    expect(open().find((a) => a.clientAlgoId === 'qa-sl-a')).toMatchObject({
      orderType: 'STOP_MARKET',
      closePosition: true,
      workingType: 'MARK_PRICE',
      triggerPrice: '55000',
    });
  });
  it("when a short's BUY stop is off the tick then it is rounded up, away from the mark", async () => {
    const { ex } = adapterFor(px);
    const out = await ex.placeStopLoss({
      symbol: 'ETHUSDT',
      side: 'BUY',
      triggerPrice: '3100.001',
      clientAlgoId: 'qa-sl-up',
    });
    expect(out).toMatchObject({ kind: 'placed', clientAlgoId: 'qa-sl-up' });
    expect(px.state.algoOrders.find((a) => a.clientAlgoId === 'qa-sl-up')).toMatchObject({
      side: 'BUY',
      triggerPrice: '3100.01',
    });
  });
  it('when the rounded trigger is below minPrice or above maxPrice then it is refused unsent, with the venue reason', async () => {
    const { ex } = adapterFor(px);
    const before = count('/fapi/v1/algoOrder');
    const stop = (side: 'BUY' | 'SELL', triggerPrice: string) =>
      ex.placeStopLoss({ symbol: 'BTCUSDT', side, triggerPrice, clientAlgoId: 'qa-sl-range' });
    expect(await stop('SELL', '556.79')).toMatchObject({ kind: 'rejected', reason: 'price_below_min_price' });
    expect(await stop('BUY', '4529764.01')).toMatchObject({
      kind: 'rejected',
      reason: 'stop_price_above_max_price',
    });
    expect(await stop('BUY', `1${'0'.repeat(308)}`)).toMatchObject({
      kind: 'rejected',
      reason: 'stop_price_above_max_price',
    });
    expect(await stop('SELL', '0.05')).toMatchObject({ kind: 'rejected', reason: 'bad_parameter' });
    expect(count('/fapi/v1/algoOrder')).toBe(before);
  });
  it('when the trigger equals minPrice then it is sent and placed', async () => {
    const { ex } = adapterFor(px);
    const out = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '556.80',
      clientAlgoId: 'qa-sl-min',
    });
    expect(out).toMatchObject({ kind: 'placed', clientAlgoId: 'qa-sl-min' });
  });
  it("when a new stop is placed then our earlier stops are cancelled after it, and others' are left alone", async () => {
    const { ex } = adapterFor(px);
    await raw(px.url, 'POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP_MARKET',
      triggerPrice: '50000',
      closePosition: 'true',
      clientAlgoId: 'manual-stop',
    });
    await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '54000',
      clientAlgoId: 'qa-sl-b',
    });
    const out = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '56000',
      clientAlgoId: 'qa-sl-c',
    });
    expect(out).toMatchObject({ kind: 'placed', clientAlgoId: 'qa-sl-c' });
    expect(out.kind === 'placed' && out.replaced).toEqual(expect.arrayContaining(['qa-sl-b']));
    expect(
      open()
        .map((a) => a.clientAlgoId)
        .sort(),
    ).toEqual(['manual-stop', 'qa-sl-c']);
    const c = px.state.algoOrders.find((a) => a.clientAlgoId === 'qa-sl-c')!;
    const b = px.state.algoOrders.find((a) => a.clientAlgoId === 'qa-sl-b')!;
    expect(b.updateTime).toBeGreaterThanOrEqual(c.createTime);
  });
  it('when a stop is looked up by client id then it is found in any state with its status; an unknown one null', async () => {
    const { ex } = adapterFor(px);
    const first = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '54000',
      clientAlgoId: 'qa-sl-f1',
    });
    expect(first.kind).toBe('placed');
    const algoId = first.kind === 'placed' ? first.algoId : '';
    expect(await ex.findStopLoss('BTCUSDT', 'qa-sl-f1')).toEqual({ algoId, status: 'NEW' });
    // the next stop replaces it: cancelled, still found (it was placed: never placed again)
    await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '55000',
      clientAlgoId: 'qa-sl-f2',
    });
    expect(await ex.findStopLoss('BTCUSDT', 'qa-sl-f1')).toEqual({ algoId, status: 'CANCELED' });
    expect(await ex.findStopLoss('BTCUSDT', 'qa-sl-never')).toBeNull();
    // an answer about another symbol's stop is never adopted
    await expect(ex.findStopLoss('ETHUSDT', 'qa-sl-f2')).rejects.toThrow(/another order/);
  });
  it('when the stop lookup itself fails then recovery is told so (a throw), not "absent"', async () => {
    const { ex } = adapterFor(px);
    px.faults.set([{ endpoint: '/fapi/v1/algoOrder', method: 'GET', status5xx: 502 }]);
    await expect(ex.findStopLoss('BTCUSDT', 'qa-sl-f2')).rejects.toBeInstanceOf(ExchangeError);
  });
  it('when the placement answer is a 503 unknown then the stop is confirmed by query and old ones are replaced', async () => {
    const { ex } = adapterFor(px);
    px.faults.set({ endpoint: '/fapi/v1/algoOrder', method: 'POST', unknownAfterFill: true, count: 1 });
    const out = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '57000',
      clientAlgoId: 'qa-sl-d',
    });
    expect(out).toMatchObject({ kind: 'placed', clientAlgoId: 'qa-sl-d' });
    expect(
      open()
        .filter((a) => a.clientAlgoId.startsWith('qa-'))
        .map((a) => a.clientAlgoId),
    ).toEqual(['qa-sl-d']);
  });
  it('when the placement gets no answer and is not on the exchange then the outcome is unknown and old stops stay', async () => {
    const { ex } = adapterFor(px);
    px.faults.set({ endpoint: '/fapi/v1/algoOrder', method: 'POST', timeout: true, count: 1 });
    const out = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '58000',
      clientAlgoId: 'qa-sl-e',
    });
    expect(out).toMatchObject({ kind: 'unknown', reason: 'unknown_after_timeout' });
    expect(open().map((a) => a.clientAlgoId)).toContain('qa-sl-d');
  });
  it('when the trigger is already through the mark then the stop is rejected (-2021)', async () => {
    const { ex } = adapterFor(px);
    const out = await ex.placeStopLoss({
      symbol: 'BTCUSDT',
      side: 'SELL',
      triggerPrice: '62000',
      clientAlgoId: 'qa-sl-f',
    });
    expect(out).toMatchObject({ kind: 'rejected', reason: 'order_would_immediately_trigger', code: -2021 });
  });
  it('when the trigger is not a positive decimal then nothing is sent', async () => {
    const { ex } = adapterFor(px);
    const before = count('/fapi/v1/algoOrder');
    expect(
      await ex.placeStopLoss({
        symbol: 'BTCUSDT',
        side: 'SELL',
        triggerPrice: 'nan',
        clientAlgoId: 'qa-sl-g',
      }),
    ).toMatchObject({ kind: 'rejected', reason: 'bad_parameter' });
    expect(count('/fapi/v1/algoOrder')).toBe(before);
  });
});

/** A paper clock that starts just after a minute boundary keeps both windows stable for a test. */
function minuteAlignedPaper(): Promise<PaperExchange> {
  const start = Date.now();
  const origin = Math.ceil(start / 60_000) * 60_000 + 500;
  return startPaperExchange({
    apiKey: KEY,
    apiSecret: SECRET,
    positions: { BTCUSDT: 1 },
    clock: { now: () => origin + (Date.now() - start) },
  });
}

describe('adapter usage headers', () => {
  it('when the headers say the weight or order budget is used up then calls are refused locally until the window rolls', async () => {
    const own = await minuteAlignedPaper();
    try {
      const { ex } = adapterFor(own, { weightLimit1m: 6, orderLimit10s: 1 });
      const first = await ex.placeReduceOnlyMarket({
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: '0.1',
        clientOrderId: 'qa-budget-1',
      });
      expect(first.kind).toBe('filled');
      const second = await ex.placeReduceOnlyMarket({
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: '0.1',
        clientOrderId: 'qa-budget-2',
      });
      expect(second).toMatchObject({ kind: 'rejected', reason: 'rate_limited' });
      expect(own.state.requestLog.some((r) => r.clientOrderId === 'qa-budget-2')).toBe(false);
      while ((ex.rateLimitState().usedWeight1m ?? 0) < 6) await ex.markPrice('BTCUSDT');
      const sent = own.state.requestLog.length;
      await expect(ex.markPrice('BTCUSDT')).rejects.toMatchObject({ reason: 'rate_limited' });
      expect(own.state.requestLog.length).toBe(sent);
    } finally {
      await own.close();
    }
  });

  it('when only the recovery reserve of the weight is left then reads are refused but an order is still recovered by its client id', async () => {
    const own = await minuteAlignedPaper();
    try {
      // Limit 40: the default reserve (5 %) keeps 2 for recovery queries.
      const { ex } = adapterFor(own, { weightLimit1m: 40 });
      const placed = await ex.placeReduceOnlyMarket({
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: '0.1',
        clientOrderId: 'qa-reserve-1',
      });
      expect(placed.kind).toBe('filled');
      let refused: unknown = null;
      for (let i = 0; i < 60 && refused === null; i++) {
        await ex.markPrice('BTCUSDT').catch((err: unknown) => (refused = err));
      }
      expect(refused).toMatchObject({ reason: 'rate_limited' });
      expect(ex.rateLimitState().usedWeight1m).toBeGreaterThanOrEqual(38);
      expect(ex.rateLimitState().usedWeight1m).toBeLessThan(40);
      const sent = own.state.requestLog.length;
      expect(await ex.findOrder('BTCUSDT', 'qa-reserve-1')).toMatchObject({ status: 'FILLED' });
      expect(own.state.requestLog.length).toBe(sent + 1);
      await expect(ex.markPrice('BTCUSDT')).rejects.toMatchObject({ reason: 'rate_limited' });
    } finally {
      await own.close();
    }
  });
});
