import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { KEY, raw, SECRET } from './paper-client.js';
import { sleep } from '../helpers/wait.js';

let px: PaperExchange;
beforeAll(async () => {
  px = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, positions: {} });
});
afterAll(() => px.close());
beforeEach(() => {
  px.faults.clear();
  px.state.setPosition('BTCUSDT', 0.5);
  px.state.setPosition('ETHUSDT', -2);
  px.state.setPosition('SOLUSDT', 0);
});

const market = (extra: Record<string, string> = {}) => ({
  symbol: 'BTCUSDT',
  side: 'SELL',
  type: 'MARKET',
  quantity: '0.1',
  reduceOnly: 'true',
  newOrderRespType: 'RESULT',
  ...extra,
});

describe('paper exchange: auth', () => {
  it('when the API key is wrong then -2015 with 401', async () => {
    const r = await raw(px.url, 'GET', '/fapi/v2/positionRisk', {}, { key: 'nope' });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: -2015 });
  });
  it('when the signature is made with another secret then -1022', async () => {
    const r = await raw(px.url, 'GET', '/fapi/v2/positionRisk', {}, { secret: 'other' });
    expect(r.body).toMatchObject({ code: -1022 });
  });
  it('when the timestamp is older than recvWindow or 1 s ahead then -1021', async () => {
    expect(
      (await raw(px.url, 'GET', '/fapi/v2/positionRisk', {}, { timestamp: Date.now() - 6000 })).body,
    ).toMatchObject({ code: -1021 });
    expect(
      (await raw(px.url, 'GET', '/fapi/v2/positionRisk', {}, { timestamp: Date.now() + 3000 })).body,
    ).toMatchObject({ code: -1021 });
  });
  it('when params are split between query and form body then the signature over query+body is accepted', async () => {
    const r = await raw(px.url, 'POST', '/fapi/v1/order', market({ newClientOrderId: 'split-1' }), {
      inBody: ['quantity', 'reduceOnly', 'newClientOrderId', 'timestamp', 'recvWindow'],
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'FILLED', clientOrderId: 'split-1', executedQty: '0.1' });
  });
});

describe('paper exchange: market data', () => {
  it('when exchangeInfo is read then symbols carry real-looking LOT_SIZE / MARKET_LOT_SIZE filters', async () => {
    const r = await raw(px.url, 'GET', '/fapi/v1/exchangeInfo', {}, { signed: false });
    const symbols = (r.body as { symbols: Array<{ symbol: string; filters: Array<Record<string, string>> }> })
      .symbols;
    const step = (s: string) =>
      symbols.find((x) => x.symbol === s)!.filters.find((f) => f.filterType === 'LOT_SIZE')!.stepSize;
    expect(step('BTCUSDT')).toBe('0.001');
    expect(step('SOLUSDT')).toBe('1');
    expect(symbols.map((s) => s.symbol)).toEqual(
      expect.arrayContaining(['ETHUSDT', 'BNBUSDT', 'XRPUSDT', 'DOGEUSDT']),
    );
    expect(r.headers.get('x-mbx-used-weight-1m')).toMatch(/^\d+$/);
  });
  it('when positions are read on v2 and v3 then positionAmt is signed and v3 omits flat symbols', async () => {
    const v2 = (await raw(px.url, 'GET', '/fapi/v2/positionRisk', {})).body as Array<Record<string, string>>;
    const v3 = (await raw(px.url, 'GET', '/fapi/v3/positionRisk', {})).body as Array<Record<string, string>>;
    expect(v2.find((p) => p.symbol === 'ETHUSDT')).toMatchObject({
      positionAmt: '-2',
      leverage: '20',
      markPrice: '3000',
    });
    expect(v2.some((p) => p.symbol === 'SOLUSDT')).toBe(true);
    expect(v3.some((p) => p.symbol === 'SOLUSDT')).toBe(false);
    expect(v3.find((p) => p.symbol === 'BTCUSDT')).toMatchObject({
      positionAmt: '0.5',
      unRealizedProfit: '0',
    });
    expect(v3[0]).not.toHaveProperty('side');
  });
  it('when positions are read then every row carries the fields PROTOCOL.md (Binance facts) names, in one fixed order', async () => {
    const v2 = (await raw(px.url, 'GET', '/fapi/v2/positionRisk', {})).body as Array<Record<string, unknown>>;
    const v3 = (await raw(px.url, 'GET', '/fapi/v3/positionRisk', {})).body as Array<Record<string, unknown>>;
    const common = [
      'symbol',
      'positionSide',
      'positionAmt',
      'entryPrice',
      'breakEvenPrice',
      'markPrice',
      'unRealizedProfit',
      'liquidationPrice',
      'isolatedMargin',
      'notional',
      'isolatedWallet',
      'updateTime',
    ];
    for (const row of v2)
      expect(Object.keys(row)).toEqual([
        ...common,
        'leverage',
        'maxNotionalValue',
        'marginType',
        'isAutoAddMargin',
        'adlQuantile',
      ]);
    for (const row of v3)
      expect(Object.keys(row)).toEqual([
        ...common,
        'marginAsset',
        'initialMargin',
        'maintMargin',
        'positionInitialMargin',
        'openOrderInitialMargin',
        'adl',
        'bidNotional',
        'askNotional',
      ]);
    expect(v3.find((p) => p.symbol === 'ETHUSDT')).toMatchObject({
      positionAmt: '-2',
      entryPrice: '3000',
      notional: '-6000',
      initialMargin: '300',
      maintMargin: '24',
    });
  });
});

describe('paper exchange: orders', () => {
  it('when a reduce-only MARKET order fills then the position follows and order-count headers come back', async () => {
    const r = await raw(px.url, 'POST', '/fapi/v1/order', market({ newClientOrderId: 'fill-1' }));
    expect(r.body).toMatchObject({ status: 'FILLED', avgPrice: '60000', reduceOnly: true });
    expect(px.state.positionOf('BTCUSDT')).toBe(0.4);
    expect(r.headers.get('x-mbx-order-count-10s')).toMatch(/^\d+$/);
    expect(r.headers.get('x-mbx-order-count-1m')).toMatch(/^\d+$/);
  });
  it('when an order is placed then it counts on both order windows and 0 on the IP weight, as Binance documents', async () => {
    // "New Order (TRADE)", USDⓈ-M futures: 1 on the 10s and 1min order limits, 0 on x-mbx-used-weight-1m.
    const weight = async () =>
      Number((await raw(px.url, 'GET', '/fapi/v1/time', {})).headers.get('x-mbx-used-weight-1m'));
    const counts = (h: Headers) =>
      [h.get('x-mbx-order-count-10s'), h.get('x-mbx-order-count-1m')].map(Number);
    // The IP weight and the 1min count restart with each clock minute: keep clear of its end.
    const toNextMinute = 60_000 - (Date.now() % 60_000);
    if (toNextMinute < 3000) await sleep(toNextMinute + 50);
    const w0 = await weight();
    const first = await raw(
      px.url,
      'POST',
      '/fapi/v1/order',
      market({ newClientOrderId: 'w-1', quantity: '0.001' }),
    );
    const second = await raw(
      px.url,
      'POST',
      '/fapi/v1/order',
      market({ newClientOrderId: 'w-2', quantity: '0.001' }),
    );
    expect(Number(second.headers.get('x-mbx-used-weight-1m'))).toBe(w0);
    // Both orders in one 10 s window, unless the window rolled between them.
    const [a10, a60] = counts(first.headers);
    const [b10, b60] = counts(second.headers);
    expect(b60).toBe(a60! + 1);
    expect([a10! + 1, 1]).toContain(b10);
    expect(await weight()).toBe(w0 + 1);
  });
  it.each([
    ['increases the position', market({ side: 'BUY' }), -2022],
    ['exceeds the position', market({ quantity: '0.6' }), -2022],
    ['has too many decimals', market({ quantity: '0.0001' }), -1111],
    ['is zero', market({ quantity: '0' }), -4003],
    ['names an unknown symbol', market({ symbol: 'FOOUSDT' }), -1121],
    ['has a bad client id', market({ newClientOrderId: 'bad id!' }), -4015],
    ['is a conditional type', market({ type: 'STOP_MARKET', stopPrice: '50000' }), -4120],
    ['is not reduce-only and below min notional', market({ reduceOnly: 'false', quantity: '0.001' }), -4164],
  ])('when an order %s then it is rejected with the Binance code', async (_what, params, code) => {
    const before = px.state.fills.length;
    const r = await raw(px.url, 'POST', '/fapi/v1/order', params);
    expect(r.status).toBe(400);
    expect((r.body as { code: number }).code).toBe(code);
    expect(px.state.fills.length).toBe(before);
    expect(px.state.positionOf('BTCUSDT')).toBe(0.5);
  });
  it('when a client id is reused while open then -4116, but after a MARKET fill it fills again', async () => {
    const limit = {
      symbol: 'ETHUSDT',
      side: 'BUY',
      type: 'LIMIT',
      quantity: '0.01',
      price: '2500.00',
      timeInForce: 'GTC',
      newClientOrderId: 'dup-open',
    };
    expect((await raw(px.url, 'POST', '/fapi/v1/order', limit)).status).toBe(200);
    expect((await raw(px.url, 'POST', '/fapi/v1/order', limit)).body).toMatchObject({ code: -4116 });
    const before = px.state.fills.length;
    await raw(px.url, 'POST', '/fapi/v1/order', market({ newClientOrderId: 'dup-market' }));
    await raw(px.url, 'POST', '/fapi/v1/order', market({ newClientOrderId: 'dup-market' }));
    expect(px.state.fills.length - before).toBe(2);
    expect(px.state.fillsFor('dup-market')).toHaveLength(2);
  });
  it('when resting reduce-only orders already cover the position then another reduce-only order gets -4118', async () => {
    const resting = {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'LIMIT',
      quantity: '0.4',
      price: '70000.00',
      timeInForce: 'GTC',
      reduceOnly: 'true',
      newClientOrderId: 'rest-ro',
    };
    expect((await raw(px.url, 'POST', '/fapi/v1/order', resting)).status).toBe(200);
    expect((await raw(px.url, 'POST', '/fapi/v1/order', market({ quantity: '0.2' }))).body).toMatchObject({
      code: -4118,
    });
    expect(
      (await raw(px.url, 'POST', '/fapi/v1/order', market({ quantity: '0.1', newClientOrderId: 'ro-fits' })))
        .body,
    ).toMatchObject({ status: 'FILLED' });
    await raw(px.url, 'DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'rest-ro' });
  });
  it('when an order is queried by client id then it is found, and an unknown id gives -2013', async () => {
    await raw(px.url, 'POST', '/fapi/v1/order', market({ newClientOrderId: 'q-1' }));
    expect(
      (await raw(px.url, 'GET', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'q-1' })).body,
    ).toMatchObject({ clientOrderId: 'q-1', status: 'FILLED' });
    expect(
      (await raw(px.url, 'GET', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'q-none' })).body,
    ).toMatchObject({ code: -2013 });
  });
  it('when a STOP_MARKET goes to the algo endpoint then it rests, is listed and can be cancelled', async () => {
    const placed = await raw(px.url, 'POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP_MARKET',
      triggerPrice: '55000',
      closePosition: 'true',
      workingType: 'MARK_PRICE',
      clientAlgoId: 'qa-stop-1',
    });
    expect(placed.body).toMatchObject({ algoStatus: 'NEW', clientAlgoId: 'qa-stop-1', closePosition: true });
    const open = (await raw(px.url, 'GET', '/fapi/v1/openAlgoOrders', { symbol: 'BTCUSDT' }))
      .body as unknown[];
    expect(open).toHaveLength(1);
    expect(
      (await raw(px.url, 'DELETE', '/fapi/v1/algoOrder', { clientAlgoId: 'qa-stop-1' })).body,
    ).toMatchObject({ code: '200' });
    expect((await raw(px.url, 'GET', '/fapi/v1/openAlgoOrders', { symbol: 'BTCUSDT' })).body).toEqual([]);
    const fires = await raw(px.url, 'POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP_MARKET',
      triggerPrice: '65000',
      closePosition: 'true',
      clientAlgoId: 'qa-stop-2',
    });
    expect(fires.body).toMatchObject({ code: -2021 });
  });
});

describe('paper exchange: algo trigger prices (BTCUSDT tick 0.10, min 556.80, max 4529764, mark 60000)', () => {
  let n = 0;
  const stop = (side: 'BUY' | 'SELL', triggerPrice: string) =>
    raw(px.url, 'POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side,
      type: 'STOP_MARKET',
      triggerPrice,
      closePosition: 'true',
      workingType: 'MARK_PRICE',
      clientAlgoId: `qa-trigger-${++n}`,
    });

  it.each([
    ['is off the tick', 'SELL', '55000.05', -4014],
    ['has more decimals than pricePrecision', 'SELL', '55000.123', -1111],
    ['is below minPrice', 'SELL', '556.70', -4013],
    ['is above maxPrice', 'BUY', '4529764.1', -4007],
    ['has 309 digits', 'BUY', `1${'0'.repeat(308)}`, -4007],
    ['would fire at once (SELL at the mark)', 'SELL', '60000', -2021],
    ['would fire at once (BUY below the mark)', 'BUY', '59999.9', -2021],
  ] as const)('when a STOP_MARKET trigger %s then %i', async (_what, side, trigger, code) => {
    const r = await stop(side, trigger);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code });
  });
  it('when the trigger is exactly minPrice or maxPrice, or has trailing zeros, then the stop rests', async () => {
    for (const [side, trigger] of [
      ['SELL', '556.80'],
      ['BUY', '4529764'],
      ['SELL', '55000.1000'],
    ] as const) {
      const r = await stop(side, trigger);
      expect({ trigger, body: r.body }).toMatchObject({ trigger, body: { algoStatus: 'NEW' } });
      const { clientAlgoId } = r.body as { clientAlgoId: string };
      await raw(px.url, 'DELETE', '/fapi/v1/algoOrder', { clientAlgoId });
    }
  });
});

describe('paper exchange: control surface and faults', () => {
  it('when faults and positions are set over HTTP then the next matching request is affected once', async () => {
    const set = await fetch(`${px.url}/paper/faults`, {
      method: 'POST',
      body: JSON.stringify({ endpoint: '/fapi/v1/time', status5xx: 502, count: 1 }),
    });
    expect(set.status).toBe(200);
    expect((await raw(px.url, 'GET', '/fapi/v1/time', {}, { signed: false })).status).toBe(502);
    expect((await raw(px.url, 'GET', '/fapi/v1/time', {}, { signed: false })).status).toBe(200);
    await fetch(`${px.url}/paper/positions`, { method: 'POST', body: JSON.stringify({ SOLUSDT: 12 }) });
    const state = (await (await fetch(`${px.url}/paper/state`)).json()) as {
      positions: Record<string, string>;
    };
    expect(state.positions.SOLUSDT).toBe('12');
    expect((await fetch(`${px.url}/paper/faults`, { method: 'POST', body: '{"bogus":1}' })).status).toBe(400);
  });
  it('when a 429 fault is set then Retry-After comes back with -1003', async () => {
    px.faults.set({ rateLimit: { status: 429, retryAfterSec: 7 }, count: 1 });
    const r = await raw(px.url, 'GET', '/fapi/v1/time', {}, { signed: false });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(r.body).toMatchObject({ code: -1003 });
  });
  it('when unknownAfterFill is set then the order fills and the answer is a 503 unknown', async () => {
    px.faults.set({ endpoint: '/fapi/v1/order', method: 'POST', unknownAfterFill: true, count: 1 });
    const r = await raw(px.url, 'POST', '/fapi/v1/order', market({ newClientOrderId: 'u-1' }));
    expect(r.status).toBe(503);
    expect(px.state.fillsFor('u-1')).toHaveLength(1);
  });
});
