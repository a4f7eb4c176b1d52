import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { startPaperExchange, type FaultSpec, type PaperExchange } from '../../src/exchange/paper/index.js';
import { clientOrderIdFor, type MarketReduceRequest, type OrderOutcome } from '../../src/exchange/port.js';
import { ManualClock } from '../../src/ops/clock.js';
import { adapterFor, postsFor } from './adapter-setup.js';
import { KEY, raw, SECRET } from './paper-client.js';
import { mulberry32 } from '../helpers/seeded-random.js';

let px: PaperExchange;
let seq = 0;

beforeAll(async () => {
  px = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, positions: {} });
});
afterAll(() => px.close());
beforeEach(() => {
  px.faults.clear();
  px.state.setPosition('BTCUSDT', 0.5);
  px.state.setPosition('ETHUSDT', -2);
});

function req(extra: Partial<MarketReduceRequest> = {}): MarketReduceRequest {
  return {
    symbol: 'BTCUSDT',
    side: 'SELL',
    quantity: '0.1',
    clientOrderId: clientOrderIdFor(`plan${++seq}`, 'CLOSE_PARTIAL_50'),
    ...extra,
  };
}

const ORDER_POST = { endpoint: '/fapi/v1/order', method: 'POST' } as const;

describe('adapter orders: plain paths', () => {
  it('when a reduce-only MARKET order is placed then it fills once and the position follows', async () => {
    const { ex } = adapterFor(px);
    const r = req();
    const out = await ex.placeReduceOnlyMarket(r);
    expect(out).toMatchObject({
      kind: 'filled',
      recovered: false,
      order: { executedQty: '0.1', reduceOnly: true, clientOrderId: r.clientOrderId },
    });
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(1);
    expect(px.state.positionOf('BTCUSDT')).toBe(0.4);
    expect(ex.rateLimitState().orderCount10s).toBeGreaterThan(0);
  });
  it('when a short is reduced with a BUY then it fills and the short shrinks', async () => {
    const { ex } = adapterFor(px);
    const out = await ex.placeReduceOnlyMarket(req({ symbol: 'ETHUSDT', side: 'BUY', quantity: '0.5' }));
    expect(out.kind).toBe('filled');
    expect(px.state.positionOf('ETHUSDT')).toBe(-1.5);
  });
  it.each([
    ['would increase the position', { side: 'BUY' as const }, 'reduce_only_rejected', -2022],
    ['has too many decimals', { quantity: '0.0001' }, 'precision_invalid', -1111],
    ['names an unknown symbol', { symbol: 'FOOUSDT' }, 'invalid_symbol', -1121],
  ])(
    'when the order %s then it is rejected with a stable reason and nothing fills',
    async (_w, extra, reason, code) => {
      const { ex } = adapterFor(px);
      const r = req(extra);
      const out = await ex.placeReduceOnlyMarket(r);
      expect(out).toMatchObject({ kind: 'rejected', reason, code });
      expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(0);
    },
  );
  it.each([
    ['a client id outside the charset', { clientOrderId: 'bad id!' }, 'invalid_client_order_id'],
    ['a zero quantity', { quantity: '0' }, 'quantity_not_positive'],
    ['an exponent quantity', { quantity: '1e-3' }, 'bad_parameter'],
  ])('when the request has %s then it is refused before sending', async (_w, extra, reason) => {
    const { ex } = adapterFor(px);
    const r = req(extra);
    expect(await ex.placeReduceOnlyMarket(r)).toMatchObject({ kind: 'rejected', reason });
    expect(postsFor(px, r.clientOrderId)).toBe(0);
  });
  it('when the same client id is placed again after a fill then nothing is sent and the fill is reported', async () => {
    const { ex } = adapterFor(px);
    const r = req();
    await ex.placeReduceOnlyMarket(r);
    const again = await ex.placeReduceOnlyMarket(r);
    expect(again).toMatchObject({ kind: 'filled', recovered: true });
    expect(postsFor(px, r.clientOrderId)).toBe(1);
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(1);
  });
  it('when two calls race with one client id then only one order is sent', async () => {
    const { ex } = adapterFor(px);
    const r = req();
    const outs = await Promise.all([ex.placeReduceOnlyMarket(r), ex.placeReduceOnlyMarket(r)]);
    expect(postsFor(px, r.clientOrderId)).toBe(1);
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(1);
    expect(outs.map((o) => o.kind)).toContain('filled');
  });
  it('when the client id is open on the exchange already (-4116) then the existing order is reported, not a new one', async () => {
    const { ex } = adapterFor(px);
    const r = req({ symbol: 'ETHUSDT', side: 'BUY' });
    await raw(px.url, 'POST', '/fapi/v1/order', {
      symbol: 'ETHUSDT',
      side: 'BUY',
      type: 'LIMIT',
      quantity: '0.01',
      price: '2500.00',
      timeInForce: 'GTC',
      newClientOrderId: r.clientOrderId,
    });
    const out = await ex.placeReduceOnlyMarket(r);
    expect(out).toMatchObject({ kind: 'accepted', recovered: true, order: { status: 'NEW' } });
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(0);
  });
  it('when the client id is open on the exchange as a different order then it is reported as a conflict, never adopted', async () => {
    const { ex } = adapterFor(px);
    const r = req({ symbol: 'ETHUSDT', side: 'BUY' });
    await raw(px.url, 'POST', '/fapi/v1/order', {
      symbol: 'ETHUSDT',
      side: 'SELL',
      type: 'LIMIT',
      quantity: '0.01',
      price: '3500.00',
      timeInForce: 'GTC',
      newClientOrderId: r.clientOrderId,
    });
    expect(await ex.placeReduceOnlyMarket(r)).toMatchObject({
      kind: 'unknown',
      reason: 'client_order_id_conflict',
    });
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(0);
  });
});

describe('adapter orders: faults never produce a second fill', () => {
  it.each<[string, FaultSpec]>([
    ['503 unknown after the fill', { ...ORDER_POST, unknownAfterFill: true, count: 1 }],
    ['a dropped connection after the fill', { ...ORDER_POST, dropAfterFill: true, count: 1 }],
    ['no answer after the fill', { ...ORDER_POST, timeoutAfterFill: true, count: 1 }],
    ['an unreadable 200 after the fill', { ...ORDER_POST, garbageAfterFill: true, count: 1 }],
    ['latency beyond the client timeout but inside recvWindow', { ...ORDER_POST, latencyMs: 600, count: 1 }],
  ])('when the exchange gives %s then the fill is recovered by client id', async (_w, fault) => {
    const { ex, warnings } = adapterFor(px);
    px.faults.set(fault);
    const r = req();
    const out = await ex.placeReduceOnlyMarket(r);
    expect(out).toMatchObject({ kind: 'filled', recovered: true });
    expect(postsFor(px, r.clientOrderId)).toBe(1);
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(1);
    expect(px.state.positionOf('BTCUSDT')).toBe(0.4);
    expect(warnings.some((w) => w.msg === 'order recovered by client order id')).toBe(true);
  });
  it.each<[string, FaultSpec, string]>([
    ['a 502 before processing', { ...ORDER_POST, status5xx: 502, count: 1 }, 'order_not_placed'],
    ['a 503 Service Unavailable', { ...ORDER_POST, status5xx: 503, count: 1 }, 'exchange_unavailable'],
    ['no answer and no processing', { ...ORDER_POST, timeout: true, count: 1 }, 'order_not_placed'],
    [
      'latency past recvWindow (the engine drops it)',
      { ...ORDER_POST, latencyMs: 1500, count: 1 },
      'order_not_placed',
    ],
  ])(
    'when the exchange gives %s then absence is confirmed past recvWindow and nothing is resent',
    async (_w, fault, reason) => {
      const { ex } = adapterFor(px);
      px.faults.set(fault);
      const r = req();
      const out = await ex.placeReduceOnlyMarket(r);
      expect(out).toMatchObject({ kind: 'rejected', reason });
      expect(postsFor(px, r.clientOrderId)).toBe(1);
      expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(0);
      expect(px.state.positionOf('BTCUSDT')).toBe(0.5);
    },
  );
  it('when queries keep failing after an unknown answer then the outcome is unknown and nothing is resent', async () => {
    const { ex } = adapterFor(px, { recoveryBudgetMs: 600 });
    px.faults.set([
      { ...ORDER_POST, unknownAfterFill: true, count: 1 },
      { endpoint: '/fapi/v1/order', method: 'GET', status5xx: 502 },
    ]);
    const r = req();
    const out = await ex.placeReduceOnlyMarket(r);
    expect(out).toMatchObject({ kind: 'unknown', reason: 'unknown_after_unknown_status' });
    expect(postsFor(px, r.clientOrderId)).toBe(1);
    expect(px.state.fillsFor(r.clientOrderId)).toHaveLength(1);
    px.faults.clear();
    expect(await ex.placeReduceOnlyMarket(r)).toMatchObject({ kind: 'filled', recovered: true });
    expect(postsFor(px, r.clientOrderId)).toBe(1);
  });
  it('when 429 then 418 arrive then calls are refused locally until Retry-After has passed', async () => {
    const clock = new ManualClock(Date.now());
    const { ex } = adapterFor(px, { clock });
    px.faults.set({ ...ORDER_POST, rateLimit: { status: 429, retryAfterSec: 30 }, count: 1 });
    const first = req();
    expect(await ex.placeReduceOnlyMarket(first)).toMatchObject({ kind: 'rejected', reason: 'rate_limited' });
    const sent = px.state.requestLog.length;
    expect(await ex.placeReduceOnlyMarket(req())).toMatchObject({ kind: 'rejected', reason: 'rate_limited' });
    await expect(ex.markPrice('BTCUSDT')).rejects.toMatchObject({ reason: 'rate_limited' });
    expect(px.state.requestLog.length).toBe(sent);
    clock.advance(31_000);
    px.faults.set({ ...ORDER_POST, rateLimit: { status: 418, retryAfterSec: 120 }, count: 1 });
    expect(await ex.placeReduceOnlyMarket(req())).toMatchObject({ kind: 'rejected', reason: 'ip_banned' });
    expect(ex.rateLimitState()).toMatchObject({
      blockedReason: 'ip_banned',
      blockedUntil: clock.now() + 120_000,
    });
    clock.advance(121_000);
    const later = await ex.placeReduceOnlyMarket(first);
    expect(later).toMatchObject({ kind: 'filled', recovered: false });
    expect(px.state.fillsFor(first.clientOrderId)).toHaveLength(1);
  });
  it.each([1, 2, 3])(
    'when many orders meet random faults (seed %i) then each client id fills at most once and outcomes tell the truth',
    async (seed) => {
      const seeded = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, random: mulberry32(seed) });
      const px = seeded;
      onTestFinished(() => seeded.close());
      const { ex } = adapterFor(px);
      px.state.setPosition('BTCUSDT', 100);
      px.faults.set([
        { ...ORDER_POST, unknownAfterFill: true, probability: 0.2 },
        { ...ORDER_POST, dropAfterFill: true, probability: 0.2 },
        { ...ORDER_POST, status5xx: 502, probability: 0.2 },
        { ...ORDER_POST, timeoutAfterFill: true, probability: 0.2 },
      ]);
      const reqs = Array.from({ length: 24 }, () => req({ quantity: '0.01' }));
      const outs: OrderOutcome[] = await Promise.all(reqs.map((r) => ex.placeReduceOnlyMarket(r)));
      reqs.forEach((r, i) => {
        const fills = px.state.fillsFor(r.clientOrderId).length;
        expect(fills).toBeLessThanOrEqual(1);
        expect(postsFor(px, r.clientOrderId)).toBe(1);
        expect(outs[i]!.kind === 'filled' ? 1 : 0).toBe(fills);
      });
      expect(Number(px.state.positions.get('BTCUSDT'))).toBeCloseTo(
        100 -
          0.01 * px.state.fills.filter((f) => reqs.some((r) => r.clientOrderId === f.clientOrderId)).length,
        9,
      );
    },
  );
});

describe('adapter orders: clocks and connections', () => {
  it('when the exchange clock jumps after sync (-1021) then the adapter re-syncs and the order fills once', async () => {
    let skew = 0;
    const skewed = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      positions: { BTCUSDT: 1 },
      clock: { now: () => Date.now() + skew },
    });
    try {
      const { ex } = adapterFor(skewed);
      await ex.markPrice('BTCUSDT');
      await ex.position('BTCUSDT');
      skew = 4000;
      const r = req();
      expect(await ex.placeReduceOnlyMarket(r)).toMatchObject({ kind: 'filled', recovered: false });
      expect(skewed.state.fillsFor(r.clientOrderId)).toHaveLength(1);
      expect(
        skewed.state.requestLog.filter((l) => l.status === 400 && l.path === '/fapi/v1/order'),
      ).toHaveLength(1);
      expect(ex.serverTimeOffsetMs()).toBeGreaterThan(3000);
    } finally {
      await skewed.close();
    }
  });
  it('when nothing listens on the port then the order is rejected as unreachable', async () => {
    const gone = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET });
    const url = gone.url;
    await gone.close();
    const { ex } = adapterFor({ ...gone, url } as PaperExchange);
    expect(await ex.placeReduceOnlyMarket(req())).toMatchObject({
      kind: 'rejected',
      reason: 'exchange_unreachable',
    });
  });
});
