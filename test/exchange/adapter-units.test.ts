import { describe, expect, it } from 'vitest';
import { Orders, SentIds, outcomeOf } from '../../src/exchange/binance/orders.js';
import { Reads } from '../../src/exchange/binance/reads.js';
import type { CallOutcome, Transport } from '../../src/exchange/binance/transport.js';
import type { OrderFill } from '../../src/exchange/port.js';
import { ManualClock } from '../../src/ops/clock.js';

const order = (status: string, executedQty: string): OrderFill => ({
  orderId: '1',
  clientOrderId: 'qa-x',
  symbol: 'BTCUSDT',
  side: 'SELL',
  status,
  origQty: '0.1',
  executedQty,
  avgPrice: '60000',
  reduceOnly: true,
});

type Call = (method: string, path: string) => Promise<CallOutcome>;

/** Reads over a transport whose every call is `call` (no retries, rules cached `ttlMs`). */
function readsOver(call: Call, exchangeInfoTtlMs = 1): Reads {
  const transport = {
    timeOffsetMs: 0,
    setTimeOffset: () => undefined,
    serverNow: () => Date.now(),
    call,
  } as unknown as Transport;
  return new Reads(transport, {
    exchangeInfoTtlMs,
    positionRiskVersion: 3,
    readRetries: 0,
    retryBaseMs: 1,
    exchangeInfoMaxStaleMs: 1,
    now: () => 0,
    warn: () => undefined,
  });
}

function readsAnswering(body: unknown): Reads {
  return readsOver(async (_method, path) => ({
    kind: 'ok',
    status: 200,
    body: path === '/fapi/v1/time' ? { serverTime: Date.now() } : body,
  }));
}

describe('order outcomes', () => {
  it('when a MARKET order ends EXPIRED with part executed then it is a fill of that part', () => {
    expect(outcomeOf(order('EXPIRED', '0.04'), false)).toMatchObject({
      kind: 'filled',
      order: { executedQty: '0.04' },
    });
  });
  it('when a MARKET order ends EXPIRED with nothing executed then it is rejected', () => {
    expect(outcomeOf(order('EXPIRED', '0'), false)).toMatchObject({
      kind: 'rejected',
      reason: 'order_expired',
    });
  });
  it('when an order is NEW or PARTIALLY_FILLED then it is accepted, not filled', () => {
    expect(outcomeOf(order('NEW', '0'), true)).toMatchObject({ kind: 'accepted', recovered: true });
    expect(outcomeOf(order('PARTIALLY_FILLED', '0.05'), false).kind).toBe('accepted');
  });
});

describe('position parsing', () => {
  const row = {
    symbol: 'BTCUSDT',
    positionAmt: '0.5',
    entryPrice: '60000',
    markPrice: '61000',
    unRealizedProfit: '500',
    updateTime: 5,
  };
  it('when the account is in hedge mode (LONG/SHORT rows) then the read fails instead of reading flat', async () => {
    const reads = readsAnswering([
      { ...row, positionSide: 'LONG' },
      { ...row, positionAmt: '0', positionSide: 'SHORT' },
    ]);
    await expect(reads.positions(['BTCUSDT'])).rejects.toMatchObject({ reason: 'hedge_mode_unsupported' });
  });
  it('when a row lacks positionAmt or carries garbage then the read fails with bad_response', async () => {
    await expect(
      readsAnswering([{ ...row, positionAmt: undefined }]).positions(['BTCUSDT']),
    ).rejects.toMatchObject({ reason: 'bad_response' });
    await expect(
      readsAnswering([{ ...row, positionAmt: '1e3' }]).positions(['BTCUSDT']),
    ).rejects.toMatchObject({ reason: 'bad_response' });
    await expect(readsAnswering({ not: 'an array' }).positions(['BTCUSDT'])).rejects.toMatchObject({
      reason: 'bad_response',
    });
  });
  it('when only the fleet-invented fields exist (side, unrealizedProfit) then nothing is read from them', async () => {
    const fleet = {
      symbol: 'BTCUSDT',
      side: 'LONG',
      positionAmt: '0.5',
      entryPrice: '1',
      markPrice: '2',
      unrealizedProfit: '9',
    };
    await expect(readsAnswering([fleet]).positions(['BTCUSDT'])).rejects.toMatchObject({
      reason: 'bad_response',
    });
  });
  it('when a one-way row is read then the real fields are used', async () => {
    const [p] = await readsAnswering([{ ...row, positionSide: 'BOTH', leverage: '10' }]).positions([
      'BTCUSDT',
    ]);
    expect(p).toEqual({
      symbol: 'BTCUSDT',
      amount: 0.5,
      amountText: '0.5',
      entryPrice: 60000,
      markPrice: 61000,
      unrealizedPnl: 500,
      leverage: 10,
      updateTime: 5,
    });
  });
});

describe('exchangeInfo cache', () => {
  it('when several callers need rules at once then one exchangeInfo request serves them all', async () => {
    const paths: string[] = [];
    const reads = readsOver(async (_method, path) => {
      paths.push(path);
      await new Promise((r) => setImmediate(r));
      const lot = { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '100', stepSize: '0.001' };
      const price = { filterType: 'PRICE_FILTER', tickSize: '0.10', minPrice: '556.80', maxPrice: '4529764' };
      const sym = (symbol: string) => ({ symbol, status: 'TRADING', filters: [lot, price] });
      return { kind: 'ok', status: 200, body: { symbols: [sym('BTCUSDT'), sym('ETHUSDT')] } };
    }, 60_000);
    const rules = await Promise.all([
      reads.symbolRules('BTCUSDT'),
      reads.symbolRules('ETHUSDT'),
      reads.symbolRules('BTCUSDT'),
    ]);
    expect(rules.map((r) => r.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'BTCUSDT']);
    expect(paths).toEqual(['/fapi/v1/exchangeInfo']);
  });
});

describe('clock port', () => {
  /** A transport double on a ManualClock: time answers `serverTime`, order queries say -2013. */
  function clocked(clock: ManualClock, post: CallOutcome) {
    const calls: string[] = [];
    const t = {
      timeOffsetMs: 0,
      setTimeOffset(ms: number) {
        t.timeOffsetMs = ms;
      },
      serverNow: () => 5_000_000,
      async call(method: string, path: string): Promise<CallOutcome> {
        calls.push(`${method} ${path}`);
        if (path === '/fapi/v1/time') return { kind: 'ok', status: 200, body: { serverTime: 5_000_000 } };
        if (method === 'POST') return post;
        clock.advance(1000); // each recovery query takes a second on this clock
        return {
          kind: 'http_error',
          status: 400,
          code: -2013,
          message: 'Order does not exist.',
          retryAfterSec: null,
        };
      },
    };
    const reads = new Reads(t as unknown as Transport, {
      exchangeInfoTtlMs: 1,
      positionRiskVersion: 3,
      readRetries: 0,
      retryBaseMs: 1,
      exchangeInfoMaxStaleMs: 1,
      now: () => clock.now(),
      warn: () => undefined,
    });
    return { t, calls, reads };
  }

  it('when the time is synced then the offset is the server time less the clock port time', async () => {
    const { t, reads } = clocked(new ManualClock(1_000_000), { kind: 'ok', status: 200, body: {} });
    expect(await reads.syncTime()).toBe(4_000_000);
    expect(t.timeOffsetMs).toBe(4_000_000);
  });

  it('when an order outcome is recovered then its budget is spent on the clock port, not the wall clock', async () => {
    const clock = new ManualClock(1_000_000);
    const { t, calls, reads } = clocked(clock, { kind: 'no_response', cause: 'timeout', message: 'timeout' });
    const orders = new Orders(t as unknown as Transport, reads, new SentIds(), {
      recvWindow: 60_000,
      recoveryDelaysMs: [0],
      recoveryBudgetMs: 2500,
      absenceMarginMs: 0,
      now: () => clock.now(),
      warn: () => undefined,
    });
    const out = await orders.placeReduceOnlyMarket({
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: '0.001',
      clientOrderId: 'qa-clock-CLOSE_FULL',
    });
    expect(out).toMatchObject({ kind: 'unknown', reason: 'unknown_after_timeout' });
    expect(calls.filter((c) => c === 'GET /fapi/v1/order')).toHaveLength(3);
  });
});
