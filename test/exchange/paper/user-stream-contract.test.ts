/**
 * The contract between the two sides of the user data stream: every event the paper exchange
 * sends carries Binance's documented fields and parses with the adapter's boundary parser.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_EVENTS, parseUserEvent } from '../../../src/exchange/binance/user-events.js';
import { raw, reduceOnlySell } from '../paper-client.js';
import { control, usePaperStream, type Received } from './user-stream-client.js';

/** ORDER_TRADE_UPDATE `o` as Binance documents it (n/N only with a commission, AP/cr only for trailing stops, M only for amendments). */
const ORDER_FIELDS = 's c S o f q p ap sp x X i l z L T t b a m R wt ot ps cp rp pP si ss V pm gtd er'.split(
  ' ',
);
const ALGO_FIELDS = 'caid aid at o s S ps f q X ai ap aq act tp p V wt pm cp pP R tt gtd'.split(' ');
const POSITION_FIELDS = 's pa ep bep cr up mt iw ps'.split(' ');
const BALANCE_FIELDS = 'a wb cw bc'.split(' ');

const rig = usePaperStream({ positions: { BTCUSDT: 0.5, ETHUSDT: -2 } });
const seen: Received[] = [];

beforeAll(async () => {
  const px = rig.px;
  const { client } = await rig.stream();
  const order = (params: Record<string, string>) => raw(px.url, 'POST', '/fapi/v1/order', params);
  // Every kind of event: NEW, TRADE, CANCELED, EXPIRED, ACCOUNT_UPDATE (ORDER, ADJUSTMENT),
  // ALGO_UPDATE through a trigger and a rejection, and listenKeyExpired.
  await order(reduceOnlySell('BTCUSDT', '0.1', 'ct-fill'));
  await order({
    symbol: 'BTCUSDT',
    side: 'SELL',
    type: 'LIMIT',
    price: '70000',
    quantity: '0.1',
    newClientOrderId: 'ct-cancel',
  });
  await raw(px.url, 'DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'ct-cancel' });
  await order({
    symbol: 'ETHUSDT',
    side: 'BUY',
    type: 'LIMIT',
    price: '2800',
    quantity: '1',
    reduceOnly: 'true',
    newClientOrderId: 'ct-rest',
  });
  await order({
    symbol: 'ETHUSDT',
    side: 'BUY',
    type: 'MARKET',
    quantity: '2',
    newClientOrderId: 'ct-close',
  });
  const stop = (id: string, extra: Record<string, string>) =>
    raw(px.url, 'POST', '/fapi/v1/algoOrder', {
      algoType: 'CONDITIONAL',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP_MARKET',
      triggerPrice: '59000',
      clientAlgoId: id,
      ...extra,
    });
  await stop('ct-stop', { closePosition: 'true' });
  await stop('ct-reject', { quantity: '1', reduceOnly: 'true' });
  await control(px, '/paper/marks', { BTCUSDT: 58000 });
  await control(px, '/paper/positions', { SOLUSDT: 3 });
  await fetch(`${px.url}/paper/faults`, { method: 'POST', body: JSON.stringify({ stream: 'expire' }) });
  await client.closed;
  seen.push(...client.messages);
});

describe('paper user stream: the contract with the adapter', () => {
  it('when the scenario runs then every event kind was sent', () => {
    const kinds = new Set(
      seen.map((m) => {
        if (m.e === 'ORDER_TRADE_UPDATE') return `ORDER ${(m.o as { x: string }).x}`;
        if (m.e === 'ALGO_UPDATE') return `ALGO ${(m.o as { X: string }).X}`;
        if (m.e === 'ACCOUNT_UPDATE') return `ACCOUNT ${(m.a as { m: string }).m}`;
        return m.e;
      }),
    );
    expect([...kinds].sort()).toEqual(
      [
        'ACCOUNT ADJUSTMENT',
        'ACCOUNT ORDER',
        'ALGO FINISHED',
        'ALGO NEW',
        'ALGO REJECTED',
        'ALGO TRIGGERED',
        'ALGO TRIGGERING',
        'ORDER CANCELED',
        'ORDER EXPIRED',
        'ORDER NEW',
        'ORDER TRADE',
        'listenKeyExpired',
      ].sort(),
    );
  });

  it('when each event is checked then it carries exactly the fields Binance documents', () => {
    for (const m of seen) {
      if (m.e === 'ORDER_TRADE_UPDATE') {
        expect(Object.keys(m).sort()).toEqual(['E', 'T', 'e', 'o']);
        expect(Object.keys(m.o as object).sort()).toEqual([...ORDER_FIELDS].sort());
      } else if (m.e === 'ALGO_UPDATE') {
        const fields = Object.keys(m.o as object).filter((k) => k !== 'rm');
        expect(fields.sort()).toEqual([...ALGO_FIELDS].sort());
      } else if (m.e === 'ACCOUNT_UPDATE') {
        const a = m.a as { m: string; B: object[]; P: object[] };
        expect(Object.keys(a).sort()).toEqual(['B', 'P', 'm']);
        for (const b of a.B) expect(Object.keys(b).sort()).toEqual([...BALANCE_FIELDS].sort());
        for (const p of a.P) expect(Object.keys(p).sort()).toEqual([...POSITION_FIELDS].sort());
      } else {
        expect(Object.keys(m).sort()).toEqual(['E', 'e', 'listenKey']);
      }
    }
  });

  it('when each event goes through the adapter parser then every kind it knows parses, with the values sent', () => {
    for (const m of seen) {
      const parsed = parseUserEvent(JSON.stringify(m));
      expect(KNOWN_EVENTS).toContain(m.e);
      expect({ e: m.e, ok: parsed.ok }).toEqual({ e: m.e, ok: true });
      if (!parsed.ok) continue;
      const ev = parsed.event;
      expect(ev.eventTime).toBe(Number(m.E));
      if (ev.kind === 'order') {
        const o = m.o as Record<string, unknown>;
        expect(ev.order).toMatchObject({
          clientOrderId: o.c,
          orderId: String(o.i),
          execType: o.x,
          status: o.X,
          executedQty: o.z,
          lastFilledQty: o.l,
          avgPrice: o.ap,
          reduceOnly: o.R,
          origType: o.ot,
        });
      } else if (ev.kind === 'account') {
        const p = (m.a as { P: Array<Record<string, unknown>> }).P[0]!;
        expect(ev.positions[0]).toMatchObject({ symbol: p.s, amountText: p.pa, entryPrice: p.ep });
      } else if (ev.kind === 'algo') {
        const o = m.o as Record<string, unknown>;
        expect(ev.algo).toMatchObject({
          clientAlgoId: o.caid,
          algoId: String(o.aid),
          symbol: o.s,
          side: o.S,
          type: o.o,
          status: o.X,
          actualOrderId: o.ai === '' ? null : o.ai,
          executedQty: o.aq,
          avgPrice: o.ap,
          triggerPrice: o.tp,
          reduceOnly: o.R,
          closePosition: o.cp,
          rejectReason: o.rm ?? null,
        });
      } else {
        expect(ev.listenKey).toBe(m.listenKey);
      }
    }
  });

  it('when the stop triggered then its MARKET order carries the algo client id and the stop type', () => {
    const child = seen.find(
      (m) =>
        m.e === 'ORDER_TRADE_UPDATE' &&
        (m.o as { c: string; x: string }).c === 'ct-stop' &&
        (m.o as { x: string }).x === 'TRADE',
    );
    const parsed = parseUserEvent(JSON.stringify(child));
    expect(parsed.ok && parsed.event.kind === 'order' && parsed.event.order).toMatchObject({
      type: 'MARKET',
      origType: 'STOP_MARKET',
      status: 'FILLED',
      executedQty: '0.4',
      stopPrice: '59000',
    });
  });
});
