import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, syntheticMarkets, type PaperExchange } from '../../src/exchange/paper/index.js';
import { KEY, raw, reduceOnlySell, SECRET } from './paper-client.js';

describe('paper exchange: synthetic markets for load tests', () => {
  let px: PaperExchange;
  beforeAll(async () => {
    px = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      syntheticSymbols: 12,
      syntheticPosition: 2,
      positions: { SYN0003USDT: -1 },
    });
  });
  afterAll(() => px.close());

  it('when n synthetic symbols are asked then exchangeInfo lists them beside the real ones', async () => {
    const r = await raw(px.url, 'GET', '/fapi/v1/exchangeInfo', {}, { signed: false });
    const symbols = (r.body as { symbols: Array<{ symbol: string }> }).symbols.map((s) => s.symbol);
    expect(symbols.filter((s) => s.startsWith('SYN'))).toHaveLength(12);
    expect(symbols).toContain('BTCUSDT');
    expect(symbols).toContain('SYN0011USDT');
  });

  it('when no position is given for a synthetic symbol then it starts at the synthetic position', async () => {
    const r = await raw(px.url, 'GET', '/fapi/v3/positionRisk', { symbol: 'SYN0000USDT' });
    expect(r.body).toMatchObject([{ symbol: 'SYN0000USDT', positionAmt: '2' }]);
    expect(px.state.positionOf('SYN0003USDT')).toBe(-1);
  });

  it('when positions are not held then a reduce-only fill shrinks the position', async () => {
    const r = await raw(px.url, 'POST', '/fapi/v1/order', reduceOnlySell('SYN0001USDT', '0.5', 'syn-shrink'));
    expect(r.body).toMatchObject({ status: 'FILLED', executedQty: '0.5' });
    expect(px.state.positionOf('SYN0001USDT')).toBe(1.5);
  });
});

describe('paper exchange: held positions', () => {
  let px: PaperExchange;
  beforeAll(async () => {
    px = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      syntheticSymbols: 2,
      syntheticPosition: 1,
      holdPositions: true,
      usageHeaders: false,
    });
  });
  afterAll(() => px.close());

  it('when positions are held then every fill is booked and the position keeps its size', async () => {
    for (const id of ['hold-1', 'hold-2', 'hold-3']) {
      const r = await raw(px.url, 'POST', '/fapi/v1/order', reduceOnlySell('SYN0000USDT', '0.6', id));
      expect(r.body).toMatchObject({ status: 'FILLED', executedQty: '0.6' });
    }
    expect(px.state.positionOf('SYN0000USDT')).toBe(1);
    expect(px.state.fills.map((f) => f.clientOrderId)).toEqual(['hold-1', 'hold-2', 'hold-3']);
  });

  it('when usage headers are off then answers carry no weight or order-count headers', async () => {
    const r = await raw(
      px.url,
      'POST',
      '/fapi/v1/order',
      reduceOnlySell('SYN0000USDT', '0.1', 'hold-headers'),
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('x-mbx-used-weight-1m')).toBeNull();
    expect(r.headers.get('x-mbx-order-count-1m')).toBeNull();
  });

  it('when positions are held then reduce-only checks still use the position (no flip)', async () => {
    const r = await raw(
      px.url,
      'POST',
      '/fapi/v1/order',
      reduceOnlySell('SYN0001USDT', '1.5', 'hold-too-big'),
    );
    expect(r.body).toMatchObject({ code: -2022 });
  });
});

describe('syntheticMarkets', () => {
  it('when asked for a count out of range then it throws', () => {
    expect(() => syntheticMarkets(-1)).toThrow();
    expect(() => syntheticMarkets(1.5)).toThrow();
  });
  it('when asked for 1000 then names are zero-padded and unique', () => {
    const names = syntheticMarkets(1000).map((m) => m.symbol);
    expect(new Set(names).size).toBe(1000);
    expect(names[0]).toBe('SYN0000USDT');
    expect(names[999]).toBe('SYN0999USDT');
  });
});
