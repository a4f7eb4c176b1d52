import { describe, expect, it } from 'vitest';
import { parseUserEvent } from '../../../src/exchange/binance/user-events.js';

/** Shaped as Binance's USDⓈ-M "Event: Order Update" example, for our own order. */
const orderTradeUpdate = {
  e: 'ORDER_TRADE_UPDATE',
  E: 1568879465651,
  T: 1568879465650,
  o: {
    s: 'BTCUSDT',
    c: 'qa-plan1-close',
    S: 'SELL',
    o: 'MARKET',
    f: 'GTC',
    q: '0.010',
    p: '0',
    ap: '7100.50',
    sp: '0',
    x: 'TRADE',
    X: 'PARTIALLY_FILLED',
    i: 8886774,
    l: '0.004',
    z: '0.004',
    L: '7100.50',
    n: '0.01',
    N: 'USDT',
    T: 1568879465650,
    t: 42,
    R: true,
    ps: 'BOTH',
    ot: 'MARKET',
    rp: '0',
  },
};

const accountUpdate = {
  e: 'ACCOUNT_UPDATE',
  E: 1564745798939,
  T: 1564745798938,
  a: {
    m: 'ORDER',
    B: [{ a: 'USDT', wb: '122624.12345678', cw: '100.12345678', bc: '50.12345678' }],
    P: [
      {
        s: 'BTCUSDT',
        pa: '-0.006',
        ep: '7100.5',
        bep: '0',
        cr: '0',
        up: '-1.5',
        mt: 'cross',
        iw: '0',
        ps: 'BOTH',
      },
    ],
  },
};

/** Binance's USDⓈ-M "Event: Algo Order Update" example, as the page shows it. */
const algoUpdate = {
  e: 'ALGO_UPDATE',
  T: 1750515742297,
  E: 1750515742303,
  o: {
    caid: 'Q5xaq5EGKgXXa0fD7fs0Ip',
    aid: 2148719,
    at: 'CONDITIONAL',
    o: 'TAKE_PROFIT',
    s: 'BNBUSDT',
    S: 'SELL',
    ps: 'BOTH',
    f: 'GTC',
    q: '0.01',
    X: 'CANCELED',
    ai: '',
    ap: '0.00000',
    aq: '0.00000',
    act: '0',
    tp: '750',
    p: '750',
    V: 'EXPIRE_MAKER',
    wt: 'CONTRACT_PRICE',
    pm: 'NONE',
    cp: false,
    pP: false,
    R: false,
    tt: 0,
    gtd: 0,
    rm: 'Reduce Only reject',
  },
};

describe('parseUserEvent', () => {
  it("reads Binance's ALGO_UPDATE example: the stop's ids, status, and its triggered order's fill", () => {
    expect(parseUserEvent(JSON.stringify(algoUpdate))).toEqual({
      ok: true,
      event: {
        kind: 'algo',
        eventTime: 1750515742303,
        txTime: 1750515742297,
        algo: {
          symbol: 'BNBUSDT',
          clientAlgoId: 'Q5xaq5EGKgXXa0fD7fs0Ip',
          algoId: '2148719',
          side: 'SELL',
          type: 'TAKE_PROFIT',
          status: 'CANCELED',
          actualOrderId: null,
          executedQty: '0.00000',
          avgPrice: '0.00000',
          triggerPrice: '750',
          reduceOnly: false,
          closePosition: false,
          triggerTime: null,
          rejectReason: 'Reduce Only reject',
        },
      },
    });
    const triggered = {
      ...algoUpdate.o,
      X: 'FINISHED',
      ai: '4000000123',
      aq: '0.01',
      ap: '749.9',
      tt: 1750515742299,
    };
    expect(parseUserEvent({ ...algoUpdate, o: triggered })).toMatchObject({
      ok: true,
      event: {
        algo: {
          status: 'FINISHED',
          actualOrderId: '4000000123',
          executedQty: '0.01',
          avgPrice: '749.9',
          triggerTime: 1750515742299,
        },
      },
    });
  });

  it.each([
    ['without caid', { caid: undefined }],
    ['with a float trigger quantity', { aq: 0.01 }],
    ['with an unknown side', { S: 'HOLD' }],
  ])('refuses an ALGO_UPDATE %s as bad_event', (_what, change) => {
    expect(parseUserEvent({ ...algoUpdate, o: { ...algoUpdate.o, ...change } })).toEqual({
      ok: false,
      reason: 'bad_event',
      type: 'ALGO_UPDATE',
    });
  });

  it('reads an ORDER_TRADE_UPDATE into the fields apply relies on', () => {
    const r = parseUserEvent(JSON.stringify(orderTradeUpdate));
    expect(r).toEqual({
      ok: true,
      event: {
        kind: 'order',
        eventTime: 1568879465651,
        txTime: 1568879465650,
        order: {
          symbol: 'BTCUSDT',
          clientOrderId: 'qa-plan1-close',
          side: 'SELL',
          type: 'MARKET',
          origType: 'MARKET',
          origQty: '0.010',
          execType: 'TRADE',
          status: 'PARTIALLY_FILLED',
          orderId: '8886774',
          lastFilledQty: '0.004',
          executedQty: '0.004',
          avgPrice: '7100.50',
          lastPrice: '7100.50',
          stopPrice: '0',
          reduceOnly: true,
          positionSide: 'BOTH',
        },
      },
    });
  });

  it('reads an ACCOUNT_UPDATE position with its amount as the exchange wrote it', () => {
    const r = parseUserEvent(accountUpdate);
    expect(r.ok).toBe(true);
    if (!r.ok || r.event.kind !== 'account') throw new Error('not an account event');
    expect(r.event.reason).toBe('ORDER');
    expect(r.event.eventTime).toBe(1564745798939);
    expect(r.event.positions).toEqual([
      {
        symbol: 'BTCUSDT',
        amountText: '-0.006',
        entryPrice: '7100.5',
        unrealizedPnl: '-1.5',
        positionSide: 'BOTH',
      },
    ]);
  });

  it('reads listenKeyExpired with E as a number or, as newer docs show it, a string', () => {
    expect(parseUserEvent('{"e":"listenKeyExpired","E":1576653824250}')).toEqual({
      ok: true,
      event: { kind: 'listenKeyExpired', eventTime: 1576653824250, listenKey: null },
    });
    expect(parseUserEvent('{"e":"listenKeyExpired","E":"1736996475556","listenKey":"abc"}')).toEqual({
      ok: true,
      event: { kind: 'listenKeyExpired', eventTime: 1736996475556, listenKey: 'abc' },
    });
  });

  it('names an unknown event type instead of failing', () => {
    expect(parseUserEvent('{"e":"MARGIN_CALL","E":1}')).toEqual({
      ok: false,
      reason: 'unknown_event',
      type: 'MARGIN_CALL',
    });
  });

  it.each([
    ['not JSON', 'not json{', 'not_json'],
    ['an array', '[1,2]', 'bad_event'],
    ['no type', '{"E":1}', 'bad_event'],
    [
      'a float quantity',
      JSON.stringify({ ...orderTradeUpdate, o: { ...orderTradeUpdate.o, z: 0.004 } }),
      'bad_event',
    ],
    [
      'an exponent amount',
      JSON.stringify({
        ...accountUpdate,
        a: { ...accountUpdate.a, P: [{ s: 'X', pa: '1e-3', ep: '0', ps: 'BOTH' }] },
      }),
      'bad_event',
    ],
    ['a negative event time', JSON.stringify({ ...accountUpdate, E: -5 }), 'bad_event'],
    [
      'a side that is neither',
      JSON.stringify({ ...orderTradeUpdate, o: { ...orderTradeUpdate.o, S: 'HOLD' } }),
      'bad_event',
    ],
  ])('turns %s into a reason, not a throw', (_what, text, reason) => {
    const r = parseUserEvent(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });
});
