import { beforeEach, describe, expect, it } from 'vitest';
import { startPaperExchange } from '../../../src/exchange/paper/index.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { T0 } from '../../helpers/clock.js';
import { until } from '../../helpers/wait.js';
import { KEY, raw, reduceOnlySell, SECRET } from '../paper-client.js';
import {
  connectStream,
  control,
  describeEvent,
  openListenKey,
  upgradeStatus,
  usePaperStream,
  type Received,
} from './user-stream-client.js';

const MINUTE = 60_000;
const clock = new ManualClock(T0);
const rig = usePaperStream({ clock, userStream: { sweepMs: 10, pingIntervalMs: 25 } });
const stream = (path?: string) => rig.stream(path);

beforeEach(async () => {
  rig.px.faults.clear();
  await raw(rig.px.url, 'DELETE', '/fapi/v1/listenKey', {}, { signed: false });
  rig.px.state.setMark('BTCUSDT', 60000);
  rig.px.state.setMark('ETHUSDT', 3000);
  rig.px.state.setPosition('BTCUSDT', 0.5);
  rig.px.state.setPosition('ETHUSDT', -2);
});

const signed = (method: string, path: string, params: Record<string, string>) =>
  raw(rig.px.url, method, path, params, { timestamp: clock.now() });
const keyed = (method: string, extra: Record<string, string> = {}, key?: string) =>
  raw(rig.px.url, method, '/fapi/v1/listenKey', extra, { signed: false, ...(key ? { key } : {}) });

describe('paper user stream: listenKey lifecycle', () => {
  it('when POST is repeated then the same key comes back; PUT keeps it; DELETE closes its stream; then PUT is -1125', async () => {
    const { key, client } = await stream();
    expect(key).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(await openListenKey(rig.px)).toBe(key);
    expect((await keyed('PUT')).body).toEqual({ listenKey: key });
    const deleted = await keyed('DELETE');
    expect({ status: deleted.status, body: deleted.body }).toEqual({ status: 200, body: {} });
    expect(await client.closed).toMatchObject({ code: 1000 });
    const put = await keyed('PUT');
    expect({ status: put.status, body: put.body }).toEqual({
      status: 400,
      body: { code: -1125, msg: 'This listenKey does not exist.' },
    });
    expect(await openListenKey(rig.px)).not.toBe(key);
  });

  it('when the listenKey calls come without the API key then -2015 with 401, and no key is made', async () => {
    const r = await keyed('POST', {}, 'not-the-key');
    expect({ status: r.status, body: r.body }).toMatchObject({ status: 401, body: { code: -2015 } });
    expect(rig.px.state.listenKeys.view()).toBeNull();
  });

  it('when PUT names a key that is not the active one then -1125', async () => {
    await openListenKey(rig.px);
    const r = await keyed('PUT', { listenKey: 'x'.repeat(64) });
    expect(r.body).toEqual({ code: -1125, msg: 'This listenKey does not exist.' });
  });

  it('when 60 min pass on the paper clock after the last POST/PUT then the stream gets listenKeyExpired and is closed', async () => {
    const { key, client } = await stream();
    clock.advance(59 * MINUTE);
    expect((await keyed('PUT')).body).toEqual({ listenKey: key });
    clock.advance(59 * MINUTE);
    expect((await keyed('PUT')).status).toBe(200);
    clock.advance(60 * MINUTE);
    const expired = await client.next((m) => m.e === 'listenKeyExpired', 0, 'listenKeyExpired');
    // Binance sends this one event's E as a string of digits.
    expect(expired).toEqual({ e: 'listenKeyExpired', E: String(expired.E), listenKey: key });
    expect(Number(expired.E)).toBeGreaterThanOrEqual(clock.now());
    expect(await client.closed).toEqual({ code: 1000, reason: 'listenKey expired' });
    expect((await keyed('PUT')).body).toMatchObject({ code: -1125 });
  });

  it('when a stream connects with a key that is not active then the upgrade is refused with 400; every stream path takes the active key', async () => {
    const key = await openListenKey(rig.px);
    expect(await upgradeStatus(`${rig.px.wsUrl}/ws/${'y'.repeat(64)}`)).toBe(400);
    expect(await upgradeStatus(`${rig.px.wsUrl}/elsewhere/${key}`)).toBe(404);
    expect(await upgradeStatus(`${rig.px.wsUrl}/ws/${key}`)).toBe(101);
    expect(await upgradeStatus(`${rig.px.wsUrl}/private/ws/${key}`)).toBe(101);
    expect(await upgradeStatus(`${rig.px.wsUrl}/private/ws?listenKey=${key}`)).toBe(101);
    expect(await upgradeStatus(`${rig.px.wsUrl}/private/ws?listenKey=${'y'.repeat(64)}`)).toBe(400);
    expect(await upgradeStatus(`${rig.px.wsUrl}/private/ws`)).toBe(404);
  });
});

describe('paper user stream: connection', () => {
  it('when connected then the server pings', async () => {
    const { client } = await stream('private/ws');
    await until(() => client.pings >= 2, 8000, 'two pings');
  });

  it('when a client does not answer pings past the pong timeout then the server cuts it', async () => {
    const quick = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      userStream: { pingIntervalMs: 20, pongTimeoutMs: 150 },
    });
    try {
      const key = await openListenKey(quick);
      const mute = await connectStream(`${quick.wsUrl}/ws/${key}`, { autoPong: false });
      const answering = await connectStream(`${quick.wsUrl}/ws/${key}`);
      expect((await mute.closed).code).toBe(1006);
      expect(answering.isClosed()).toBe(false);
      answering.ws.terminate();
    } finally {
      await quick.close();
    }
  });

  it('when a connection is 24 h old on the paper clock then it is closed, even with its key kept alive', async () => {
    const { client } = await stream();
    for (let h = 0; h < 24; h++) {
      clock.advance(59 * MINUTE);
      expect((await keyed('PUT')).status).toBe(200);
      expect(client.isClosed()).toBe(false);
    }
    clock.advance(24 * MINUTE);
    expect(await client.closed).toEqual({ code: 1000, reason: 'connection open 24 h' });
  });
});

describe('paper user stream: events', () => {
  it('when a MARKET reduce-only order fills then ORDER_TRADE_UPDATE NEW, TRADE/FILLED and ACCOUNT_UPDATE with the new pa, E increasing', async () => {
    const { client } = await stream();
    const r = await signed('POST', '/fapi/v1/order', reduceOnlySell('BTCUSDT', '0.2', 'us-fill-1'));
    expect(r.status).toBe(200);
    await client.next((m) => m.e === 'ACCOUNT_UPDATE', 0, 'ACCOUNT_UPDATE');
    const got = client.messages;
    expect(got.map(describeEvent)).toEqual(['ORDER NEW/NEW', 'ORDER TRADE/FILLED', 'ACCOUNT ORDER']);
    const [placed, fill, account] = got as [Received, Received, Received];
    expect(placed.o).toMatchObject({
      s: 'BTCUSDT',
      c: 'us-fill-1',
      S: 'SELL',
      o: 'MARKET',
      q: '0.2',
      z: '0',
      l: '0',
      R: true,
    });
    const orderId = (r.body as { orderId: number }).orderId;
    expect(fill).toMatchObject({ T: clock.now() });
    expect(fill.o).toMatchObject({
      i: orderId,
      c: 'us-fill-1',
      l: '0.2',
      z: '0.2',
      L: '60000',
      ap: '60000',
      ot: 'MARKET',
      ps: 'BOTH',
      rp: '0',
    });
    expect((fill.o as { t: number }).t).toBeGreaterThan(0);
    expect(account.a).toMatchObject({
      m: 'ORDER',
      P: [{ s: 'BTCUSDT', pa: '0.3', ep: '60000', ps: 'BOTH', mt: 'cross' }],
      B: [{ a: 'USDT' }],
    });
    const times = got.map((m) => m.E as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
  });

  it('when a position is closed at a profit then rp and cr carry it and resting reduce-only orders EXPIRE (er 4)', async () => {
    const { client } = await stream();
    rig.px.state.setMark('ETHUSDT', 2900);
    const buy = (id: string, extra: Record<string, string>) =>
      signed('POST', '/fapi/v1/order', {
        symbol: 'ETHUSDT',
        side: 'BUY',
        quantity: '1',
        newClientOrderId: id,
        ...extra,
      });
    expect((await buy('us-rest-1', { type: 'LIMIT', price: '2800', reduceOnly: 'true' })).status).toBe(200);
    expect((await buy('us-close-1', { type: 'MARKET', reduceOnly: 'true' })).status).toBe(200);
    // Short 2 from 3000, 1 bought back at 2900: 100 realized. The limit still has a position to reduce.
    const first = await client.next((m) => m.e === 'ACCOUNT_UPDATE', 0, 'first ACCOUNT_UPDATE');
    expect((first.a as { P: unknown[] }).P[0]).toMatchObject({ s: 'ETHUSDT', pa: '-1', cr: '100' });
    const trade = client.messages.find((m) => describeEvent(m) === 'ORDER TRADE/FILLED');
    expect(trade?.o).toMatchObject({ c: 'us-close-1', rp: '100' });
    // A plain order closes the rest; the resting reduce-only order then has nothing to reduce.
    expect((await buy('us-close-2', { type: 'MARKET' })).status).toBe(200);
    const expired = await client.next((m) => describeEvent(m) === 'ORDER EXPIRED/EXPIRED', 0, 'EXPIRED');
    expect(expired.o).toMatchObject({ c: 'us-rest-1', er: '4', z: '0', R: true });
    const flat = client.messages.filter((m) => m.e === 'ACCOUNT_UPDATE').at(-1)!;
    expect((flat.a as { P: unknown[] }).P[0]).toMatchObject({ s: 'ETHUSDT', pa: '0', cr: '200', ep: '0' });
    const open = await signed('GET', '/fapi/v1/openOrders', { symbol: 'ETHUSDT' });
    expect(open.body).toEqual([]);
  });

  it('when a resting order is cancelled then ORDER_TRADE_UPDATE CANCELED and no ACCOUNT_UPDATE', async () => {
    const { client } = await stream();
    await signed('POST', '/fapi/v1/order', {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '70000',
      quantity: '0.1',
      reduceOnly: 'true',
      newClientOrderId: 'us-cancel-1',
    });
    await signed('DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'us-cancel-1' });
    await client.next((m) => describeEvent(m) === 'ORDER CANCELED/CANCELED', 0, 'CANCELED');
    expect(client.messages.map(describeEvent)).toEqual(['ORDER NEW/NEW', 'ORDER CANCELED/CANCELED']);
  });

  it('when the mark crosses a STOP_MARKET close-position order then ALGO_UPDATE TRIGGERING/TRIGGERED, its MARKET order fills, ACCOUNT_UPDATE, ALGO_UPDATE FINISHED', async () => {
    const { client } = await stream();
    const placed = await signed('POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP_MARKET',
      triggerPrice: '59000',
      closePosition: 'true',
      workingType: 'MARK_PRICE',
      clientAlgoId: 'us-stop-1',
    });
    expect(placed.status).toBe(200);
    await client.next((m) => m.e === 'ALGO_UPDATE', 0, 'ALGO_UPDATE NEW');
    await control(rig.px, '/paper/marks', { BTCUSDT: 59500 });
    await control(rig.px, '/paper/marks', { BTCUSDT: 58900 });
    const finished = await client.next((m) => describeEvent(m) === 'ALGO FINISHED', 0, 'FINISHED');
    expect(client.messages.map(describeEvent)).toEqual([
      'ALGO NEW',
      'ALGO TRIGGERING',
      'ALGO TRIGGERED',
      'ORDER NEW/NEW',
      'ORDER TRADE/FILLED',
      'ACCOUNT ORDER',
      'ALGO FINISHED',
    ]);
    const algoId = (placed.body as { algoId: number }).algoId;
    const triggered = client.messages[2]!;
    const child = client.messages[4]!;
    const childId = (child.o as { i: number }).i;
    expect(triggered.o).toMatchObject({
      caid: 'us-stop-1',
      aid: algoId,
      X: 'TRIGGERED',
      ai: String(childId),
      act: 'MARKET',
      tt: clock.now(),
      cp: true,
    });
    expect(child.o).toMatchObject({
      c: 'us-stop-1',
      o: 'MARKET',
      ot: 'STOP_MARKET',
      sp: '59000',
      z: '0.5',
      L: '58900',
      cp: true,
      wt: 'MARK_PRICE',
    });
    expect((client.messages[5]!.a as { P: unknown[] }).P[0]).toMatchObject({ s: 'BTCUSDT', pa: '0' });
    expect(finished.o).toMatchObject({ aq: '0.5', ap: '58900', ai: String(childId) });
    const query = await signed('GET', '/fapi/v1/algoOrder', { algoId: String(algoId) });
    expect(query.body).toMatchObject({
      algoStatus: 'FINISHED',
      actualOrderId: String(childId),
      actualPrice: '58900',
    });
  });

  it('when a reduce-only stop triggers with nothing left to reduce then ALGO_UPDATE REJECTED and no order', async () => {
    const { client } = await stream();
    await signed('POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP_MARKET',
      triggerPrice: '59000',
      quantity: '0.1',
      reduceOnly: 'true',
      clientAlgoId: 'us-stop-2',
    });
    rig.px.state.setPosition('BTCUSDT', 0);
    await control(rig.px, '/paper/marks', { BTCUSDT: 58000 });
    const rejected = await client.next((m) => describeEvent(m) === 'ALGO REJECTED', 0, 'REJECTED');
    expect(rejected.o).toMatchObject({ caid: 'us-stop-2', rm: 'Reduce Only reject', ai: '' });
    expect(client.messages.map(describeEvent)).toEqual(['ALGO NEW', 'ALGO TRIGGERING', 'ALGO REJECTED']);
  });

  it('when a triggered STOP (limit) order is cancelled then its algo order is FINISHED with an ALGO_UPDATE', async () => {
    const { client } = await stream();
    await signed('POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP',
      triggerPrice: '59000',
      quantity: '0.1',
      reduceOnly: 'true',
      clientAlgoId: 'us-stop-3',
    });
    await control(rig.px, '/paper/marks', { BTCUSDT: 58900 });
    const triggered = await client.next((m) => describeEvent(m) === 'ALGO TRIGGERED', 0, 'TRIGGERED');
    const childId = (triggered.o as { ai: string }).ai;
    await signed('DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', orderId: childId });
    const finished = await client.next((m) => describeEvent(m) === 'ALGO FINISHED', 0, 'FINISHED');
    expect(finished.o).toMatchObject({ caid: 'us-stop-3', ai: childId, aq: '0' });
    expect(client.messages.map(describeEvent)).toEqual([
      'ALGO NEW',
      'ALGO TRIGGERING',
      'ALGO TRIGGERED',
      'ORDER NEW/NEW',
      'ORDER CANCELED/CANCELED',
      'ALGO FINISHED',
    ]);
    const query = await signed('GET', '/fapi/v1/algoOrder', { clientAlgoId: 'us-stop-3' });
    expect(query.body).toMatchObject({ algoStatus: 'FINISHED', actualOrderId: childId });
  });

  it('when a position is set through the control surface then ACCOUNT_UPDATE with reason ADJUSTMENT', async () => {
    const { client } = await stream();
    await control(rig.px, '/paper/positions', { SOLUSDT: 7 });
    const adj = await client.next((m) => m.e === 'ACCOUNT_UPDATE', 0, 'ADJUSTMENT');
    expect(adj.a).toMatchObject({ m: 'ADJUSTMENT', P: [{ s: 'SOLUSDT', pa: '7', ep: '150' }] });
  });
});
