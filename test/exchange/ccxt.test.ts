/**
 * ccxt's binanceusdm (a client nobody here wrote) against the paper exchange, so the paper
 * exchange is held to the real API shape and signing rules, not only to our adapter.
 */
import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { KEY, SECRET } from './paper-client.js';

let px: PaperExchange;
let client: InstanceType<typeof ccxt.binanceusdm>;

beforeAll(async () => {
  px = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, positions: { BTCUSDT: 0.5, ETHUSDT: -2 } });
  client = new ccxt.binanceusdm({ apiKey: KEY, secret: SECRET, enableRateLimit: false, timeout: 5000 });
  const api = (client.urls as { api: Record<string, string> }).api;
  for (const [name, version] of [
    ['fapiPublic', 'v1'],
    ['fapiPublicV2', 'v2'],
    ['fapiPublicV3', 'v3'],
    ['fapiPrivate', 'v1'],
    ['fapiPrivateV2', 'v2'],
    ['fapiPrivateV3', 'v3'],
  ] as const) {
    api[name] = `${px.url}/fapi/${version}`;
  }
  // Without these, loadMarkets sends signed requests to Binance's real spot and margin APIs.
  client.options.fetchCurrencies = false;
  client.options.fetchMargins = false;
});
afterAll(() => px.close());

describe('ccxt binanceusdm against the paper exchange', () => {
  it('when markets are loaded then precision and limits come from the filters', async () => {
    const markets = await client.loadMarkets();
    const btc = markets['BTC/USDT:USDT']!;
    expect(btc.precision.amount).toBe(0.001);
    expect(btc.limits.market?.max).toBe(120);
    expect(markets['SOL/USDT:USDT']!.precision.amount).toBe(1);
  });
  it('when positions are fetched then sides and sizes match the paper state', async () => {
    const positions = await client.fetchPositions(['BTC/USDT:USDT', 'ETH/USDT:USDT']);
    const bySymbol = Object.fromEntries(positions.map((p) => [p.symbol, p]));
    expect(bySymbol['BTC/USDT:USDT']).toMatchObject({ contracts: 0.5, side: 'long' });
    expect(bySymbol['ETH/USDT:USDT']).toMatchObject({ contracts: 2, side: 'short' });
    expect(px.state.requestLog.some((r) => r.path === '/fapi/v1/leverageBracket' && r.status === 200)).toBe(
      true,
    );
  });
  it('when a reduce-only market order is sent (signed in the form body) then it fills once at the mark', async () => {
    const order = await client.createOrder('BTC/USDT:USDT', 'market', 'sell', 0.1, undefined, {
      reduceOnly: true,
      newClientOrderId: 'ccxt-close-1',
    });
    expect(order).toMatchObject({
      status: 'closed',
      filled: 0.1,
      clientOrderId: 'ccxt-close-1',
      reduceOnly: true,
    });
    expect(px.state.fillsFor('ccxt-close-1')).toHaveLength(1);
    expect(px.state.positionOf('BTCUSDT')).toBe(0.4);
    const post = px.state.requestLog.find((r) => r.method === 'POST' && r.clientOrderId === 'ccxt-close-1')!;
    expect(post.bodyBytes).toBeGreaterThan(0);
  });
  it('when a reduce-only order would increase the position then ccxt surfaces -2022 and nothing fills', async () => {
    const before = px.state.fills.length;
    await expect(
      client.createOrder('BTC/USDT:USDT', 'market', 'buy', 0.1, undefined, { reduceOnly: true }),
    ).rejects.toThrow(/-2022/);
    expect(px.state.fills.length).toBe(before);
  });
});
