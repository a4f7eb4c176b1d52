/**
 * The adapter following the paper exchange's user data stream end to end: fills and positions
 * pushed, and every fault handing over to REST until the stream is reconciled again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BinanceExchange } from '../../../src/exchange/binance/index.js';
import { startPaperExchange, type PaperExchange } from '../../../src/exchange/paper/index.js';
import { sleep, until } from '../../helpers/wait.js';
import { adapterFor } from '../adapter-setup.js';
import { KEY, SECRET } from '../paper-client.js';

let px: PaperExchange;
let ex: BinanceExchange;
const handovers: string[] = [];

const count = (what: string) => px.state.requestCounts.get(what) ?? 0;
const positionReads = () => count('GET /fapi/v3/positionRisk');
/** Sets a position through the control surface: the stream gets its ACCOUNT_UPDATE. */
const setPosition = (symbol: string, amount: number) =>
  fetch(`${px.url}/paper/positions`, { method: 'POST', body: JSON.stringify({ [symbol]: amount }) });
const live = () => until(() => ex.userStream!.asOf(), 8000, 'stream live');

beforeEach(async () => {
  handovers.length = 0;
  px = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, positions: { BTCUSDT: 0.5, ETHUSDT: -2 } });
  ex = adapterFor(px, {
    userStream: {
      wsBaseUrl: `${px.wsUrl}/private`,
      silenceMs: 600,
      pingMs: 100,
      backoff: { minMs: 20, maxMs: 200 },
      metrics: {
        event: () => undefined,
        connect: () => undefined,
        live: () => undefined,
        handover: (cause) => handovers.push(cause),
      },
    },
  }).ex;
  await live();
});

afterEach(async () => {
  await ex.close();
  await px.close();
});

describe('the adapter on the paper user data stream', () => {
  it('reconciles once by REST, then answers positions from the stream at no request weight', async () => {
    expect(ex.userStream!.stats.reconciliations).toBe(1);
    expect(count('GET /fapi/v1/openOrders')).toBe(1);
    const before = positionReads();
    const p = await ex.position('BTCUSDT', { maxAgeMs: 1000 });
    expect(p.amountText).toBe('0.5');
    // No mark price on the stream: unknown (0), so a caller prices it afresh.
    expect(p.markPrice).toBe(0);
    expect(p.ageMs).toBeLessThanOrEqual(1000);
    expect((await ex.positions(['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])).map((x) => x.amount)).toEqual([
      0.5, -2, 0,
    ]);
    expect(positionReads()).toBe(before);
    // Without maxAgeMs (apply's read before an order) it is a REST read, as before.
    await ex.position('BTCUSDT');
    expect(positionReads()).toBe(before + 1);
  });

  it('learns a fill and the position change from the stream; the order lookup needs no query', async () => {
    const out = await ex.placeReduceOnlyMarket({
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: '0.2',
      clientOrderId: 'qa-stream-fill-1',
    });
    expect(out.kind).toBe('filled');
    await until(
      () => ex.userStream!.view.order('qa-stream-fill-1')?.status === 'FILLED',
      3000,
      'fill pushed',
    );
    expect(ex.userStream!.view.order('qa-stream-fill-1')).toMatchObject({ executedQty: '0.2', side: 'SELL' });
    await until(
      async () => (await ex.position('BTCUSDT', { maxAgeMs: 1000 })).amountText === '0.3',
      3000,
      'pa',
    );
    const queries = count('GET /fapi/v1/order');
    expect(await ex.findOrder('BTCUSDT', 'qa-stream-fill-1')).toMatchObject({
      status: 'FILLED',
      executedQty: '0.2',
    });
    expect(count('GET /fapi/v1/order')).toBe(queries);
  });

  it('settles an order left unknown by its answer from the pushed fill', async () => {
    px.faults.set({ endpoint: '/fapi/v1/order', method: 'POST', unknownAfterFill: true, count: 1 });
    const out = await ex.placeReduceOnlyMarket({
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: '0.1',
      clientOrderId: 'qa-stream-unknown-1',
    });
    expect(out).toMatchObject({ kind: 'filled', recovered: true, order: { executedQty: '0.1' } });
    expect(
      px.state.requestLog.filter((r) => r.method === 'POST' && r.path === '/fapi/v1/order'),
    ).toHaveLength(1);
  });

  it('hands over to REST when the connection drops, and reconciles before it trusts the stream again', async () => {
    // The reconciliation after the reconnect fails while openOrders times out: not trusted meanwhile.
    px.faults.set([{ stream: 'drop' }, { endpoint: '/fapi/v1/openOrders', timeout: true }]);
    await until(() => handovers.includes('reconcile_failed'), 5000, 'reconcile failed');
    expect(ex.userStream!.asOf()).toBeNull();
    await setPosition('BTCUSDT', 0.25);
    const before = positionReads();
    expect((await ex.position('BTCUSDT', { maxAgeMs: 1000 })).amountText).toBe('0.25');
    expect(positionReads()).toBeGreaterThan(before);
    px.faults.clear();
    await live();
    expect(handovers).toContain('disconnected');
    const reads = positionReads();
    expect((await ex.position('BTCUSDT', { maxAgeMs: 1000 })).amountText).toBe('0.25');
    expect(positionReads()).toBe(reads);
  });

  it('is not trusted once the stream goes silent past its bound: REST serves', async () => {
    px.faults.set({ stream: 'silent' });
    await until(() => ex.userStream!.asOf() === null, 3000, 'untrusted after silence');
    const before = positionReads();
    await ex.position('BTCUSDT', { maxAgeMs: 1000 });
    expect(positionReads()).toBe(before + 1);
    await until(() => handovers.includes('silent'), 3000, 'reconnect after silence');
    px.faults.clear();
    await live();
  });

  it('on listenKeyExpired, takes a new key and is live again', async () => {
    const posts = count('POST /fapi/v1/listenKey');
    const key = px.state.listenKeys.view()?.listenKey;
    px.faults.set({ stream: 'expire' });
    await until(
      () => handovers.includes('listen_key_expired') || handovers.includes('disconnected'),
      3000,
      'expired',
    );
    await live();
    expect(count('POST /fapi/v1/listenKey')).toBeGreaterThan(posts);
    expect(px.state.listenKeys.view()?.listenKey).not.toBe(key);
  });

  it('keeps the order of events: a delayed older event does not undo a newer position', async () => {
    px.faults.set({ stream: 'reorder', count: 1 });
    const events: string[] = [];
    ex.accountStream!.onPosition((p) => events.push(p.amountText));
    await setPosition('BTCUSDT', 0.4);
    await setPosition('BTCUSDT', 0.35);
    await until(() => events.length > 0, 3000, 'an event');
    await sleep(300);
    // 0.4 arrived after 0.35 with an older E: dropped, never passed on.
    expect(events).toEqual(['0.35']);
    expect((await ex.position('BTCUSDT', { maxAgeMs: 1000 })).amountText).toBe('0.35');
  });

  it('leaves the listenKey to lapse on close (other processes of the account may be on it)', async () => {
    await ex.close();
    expect(count('DELETE /fapi/v1/listenKey')).toBe(0);
    expect(px.state.listenKeys.view()).not.toBeNull();
    await until(() => px.userStream.size === 0, 3000, 'socket closed');
  });

  /** Our close-position stop on BTCUSDT (long 0.5), and the mark that triggers it. */
  const placeStop = (clientAlgoId: string) =>
    ex.placeStopLoss({ symbol: 'BTCUSDT', side: 'SELL', triggerPrice: '59000', clientAlgoId });
  const triggerStops = () =>
    fetch(`${px.url}/paper/marks`, { method: 'POST', body: JSON.stringify({ BTCUSDT: 58900 }) });
  const pushed = (clientAlgoId: string, status: string) =>
    until(() => ex.userStream!.view.algo(clientAlgoId)?.status === status, 3000, `${status} pushed`);

  it('learns a triggered stop from ALGO_UPDATE: the stop lookup needs no query once it is FINISHED', async () => {
    const placed = await placeStop('qa-stream-stop-1');
    expect(placed.kind).toBe('placed');
    await pushed('qa-stream-stop-1', 'NEW');
    // Working (NEW) may still change: asked of REST.
    const queries = () => count('GET /fapi/v1/algoOrder');
    const before = queries();
    expect(await ex.findStopLoss('BTCUSDT', 'qa-stream-stop-1')).toMatchObject({ status: 'NEW' });
    expect(queries()).toBe(before + 1);
    await triggerStops();
    await pushed('qa-stream-stop-1', 'FINISHED');
    expect(ex.userStream!.view.algo('qa-stream-stop-1')).toMatchObject({
      executedQty: '0.5',
      avgPrice: '58900',
    });
    const algoId = placed.kind === 'placed' ? placed.algoId : '';
    expect(await ex.findStopLoss('BTCUSDT', 'qa-stream-stop-1')).toEqual({ algoId, status: 'FINISHED' });
    expect(queries()).toBe(before + 1);
    // Another symbol's lookup of the same id is never answered from it.
    await ex.findStopLoss('ETHUSDT', 'qa-stream-stop-1').catch(() => null);
    expect(queries()).toBe(before + 2);
  });

  it('asks REST for a finished stop while the stream is not trusted', async () => {
    await placeStop('qa-stream-stop-2');
    await triggerStops();
    await pushed('qa-stream-stop-2', 'FINISHED');
    px.faults.set({ stream: 'silent' });
    await until(() => ex.userStream!.asOf() === null, 3000, 'untrusted after silence');
    const before = count('GET /fapi/v1/algoOrder');
    expect(await ex.findStopLoss('BTCUSDT', 'qa-stream-stop-2')).toMatchObject({ status: 'FINISHED' });
    expect(count('GET /fapi/v1/algoOrder')).toBe(before + 1);
    px.faults.clear();
  });
});
