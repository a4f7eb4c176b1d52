import { beforeEach, describe, expect, it } from 'vitest';
import { faultSchema } from '../../../src/exchange/paper/index.js';
import { sleep, until } from '../../helpers/wait.js';
import { raw, reduceOnlySell } from '../paper-client.js';
import { describeEvent, usePaperStream, type Received, type StreamClient } from './user-stream-client.js';

const rig = usePaperStream();

beforeEach(() => {
  rig.px.faults.clear();
  rig.px.state.setPosition('BTCUSDT', 5);
});

async function stream(): Promise<StreamClient> {
  return (await rig.stream('private/ws')).client;
}

/** Sets faults through the control surface, as another process would. */
async function setFaults(body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${rig.px.url}/paper/faults`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const sell = (id: string) => raw(rig.px.url, 'POST', '/fapi/v1/order', reduceOnlySell('BTCUSDT', '0.1', id));
const clientIdOf = (m: Received) => (m.o as { c?: string } | undefined)?.c;

describe('paper user stream faults', () => {
  it('when drop is set then every stream is cut at once and the fault is used up', async () => {
    const a = await stream();
    const b = await stream();
    expect((await setFaults({ stream: 'drop' })).status).toBe(200);
    expect((await a.closed).code).toBe(1006);
    expect((await b.closed).code).toBe(1006);
    expect(rig.px.faults.list()).toEqual([]);
    // The key survives a dropped connection: the client reconnects with it.
    const key = rig.px.state.listenKeys.view()?.listenKey;
    const again = await rig.stream();
    expect({ key: again.key, closed: again.client.isClosed() }).toEqual({ key, closed: false });
  });

  it('when expire is set then the stream gets listenKeyExpired, is closed, and the key is gone (-1125)', async () => {
    const client = await stream();
    await setFaults({ stream: 'expire' });
    const expired = await client.next((m) => m.e === 'listenKeyExpired', 0, 'listenKeyExpired');
    expect(typeof expired.E).toBe('string');
    expect((await client.closed).reason).toBe('listenKey expired');
    const put = await raw(rig.px.url, 'PUT', '/fapi/v1/listenKey', {}, { signed: false });
    expect(put.body).toEqual({ code: -1125, msg: 'This listenKey does not exist.' });
  });

  it('when silent then the socket stays open with no events and no pings; the events of that time are lost', async () => {
    const client = await stream();
    await until(() => client.pings > 0, 8000, 'a ping');
    await setFaults({ stream: 'silent' });
    // A ping already on the wire when the fault was set may still land.
    await sleep(50);
    const pings = client.pings;
    expect((await sell('silent-1')).status).toBe(200);
    // The client's own ping goes unanswered too: nothing at all comes back.
    let pongs = 0;
    client.ws.on('pong', () => (pongs += 1));
    client.ws.ping();
    await sleep(200);
    expect({
      messages: client.messages.length,
      pings: client.pings,
      pongs,
      closed: client.isClosed(),
    }).toEqual({
      messages: 0,
      pings,
      pongs: 0,
      closed: false,
    });
    await setFaults([]);
    await sell('silent-2');
    await client.next((m) => m.e === 'ACCOUNT_UPDATE', 0, 'the next fill');
    expect(client.messages.map(clientIdOf).filter(Boolean)).toEqual(['silent-2', 'silent-2']);
    await until(() => client.pings > pings, 8000, 'pings again');
    client.ws.ping();
    await until(() => pongs > 0, 8000, 'a pong to our ping');
  });

  it('when delay is set then the REST answer comes before the events, which all still arrive in order', async () => {
    const client = await stream();
    await setFaults({ stream: 'delay', delayMs: 300, count: 3 });
    const timeline: string[] = [];
    client.ws.on('message', () => timeline.push('event'));
    const answer = await sell('delay-1');
    timeline.push('rest');
    expect(answer.status).toBe(200);
    await client.next((m) => m.e === 'ACCOUNT_UPDATE', 0, 'delayed ACCOUNT_UPDATE');
    expect(timeline).toEqual(['rest', 'event', 'event', 'event']);
    expect(client.messages.map(describeEvent)).toEqual([
      'ORDER NEW/NEW',
      'ORDER TRADE/FILLED',
      'ACCOUNT ORDER',
    ]);
    expect(rig.px.faults.list()).toEqual([]);
  });

  it('when reorder is set then an event is held back and sent after the next one (E tells the true order)', async () => {
    const client = await stream();
    await setFaults({ stream: 'reorder', count: 1 });
    await sell('reorder-1');
    await until(() => client.messages.length >= 3, 8000, 'three events');
    expect(client.messages.map(describeEvent)).toEqual([
      'ORDER TRADE/FILLED',
      'ORDER NEW/NEW',
      'ACCOUNT ORDER',
    ]);
    const [first, second] = client.messages as [Received, Received];
    expect(first.E as number).toBeGreaterThan(second.E as number);
  });

  it('when a stream fault names an endpoint or delay has no delayMs then the control surface refuses it', async () => {
    expect((await setFaults({ stream: 'drop', endpoint: '/fapi/v1/order' })).status).toBe(400);
    expect((await setFaults({ stream: 'delay' })).status).toBe(400);
    expect(faultSchema.safeParse({ stream: 'silent', count: 2 }).success).toBe(true);
  });

  it('when a stream fault is armed then requests are not affected by it', async () => {
    await stream();
    await setFaults({ stream: 'silent' });
    const r = await sell('requests-1');
    expect(r.status).toBe(200);
    expect(rig.px.state.requestLog.at(-1)).toMatchObject({
      path: '/fapi/v1/order',
      fault: null,
      status: 200,
    });
  });
});
