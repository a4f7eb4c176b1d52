/** The pure part of the failover reconciliation: the exchange's orders and what Redis holds → gaps. */
import { describe, expect, it } from 'vitest';
import {
  findLostWrites,
  planStepOfClientId,
  type BookedOrder,
  type HeldRecords,
} from '../../src/domain/lost-writes.js';
import { clientOrderIdFor } from '../../src/exchange/port.js';

const NOW = 1_800_000_000_000;
/** Whole orders go in and come back out on the gaps (the service reads their fill). */
type Order = BookedOrder & { orderId: string; executedQty: string };
const ALL: HeldRecords = { planEntry: true, intent: true, receipt: true, result: true, reconciled: false };

function order(planId: string, over: Partial<Order> = {}): Order {
  return {
    clientOrderId: clientOrderIdFor(planId, 'CLOSE_PARTIAL_50'),
    orderId: '77',
    symbol: 'BTCUSDT',
    status: 'FILLED',
    executedQty: '0.005',
    time: NOW - 60_000,
    ...over,
  };
}

const scan = (orders: Order[], held: Record<string, Partial<HeldRecords>>, settleMs = 10_000) =>
  findLostWrites(orders, (id) => ({ ...ALL, ...held[id] }), { nowMs: NOW, settleMs });

describe('lost writes after a failover', () => {
  it('when Redis holds every record of an order then there is no gap', () => {
    expect(scan([order('00000000000000a1')], {})).toEqual({ gaps: [], ours: 1, waiting: 0 });
  });

  it('when the result is lost then its action is to publish one from the exchange record', () => {
    const r = scan([order('00000000000000a1')], { '00000000000000a1': { result: false } });
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0]).toMatchObject({
      kind: 'result',
      planId: '00000000000000a1',
      symbol: 'BTCUSDT',
      step: 'CLOSE_PARTIAL_50',
      action: 'result_published',
      order: { orderId: '77', executedQty: '0.005' },
    });
  });

  it('when the result is lost but a reconciled entry reports the order then nothing more is published', () => {
    const r = scan([order('00000000000000a1')], { '00000000000000a1': { result: false, reconciled: true } });
    expect(r.gaps.map((g) => [g.kind, g.action])).toEqual([['result', 'reconciled_entry_stands']]);
  });

  it('when the plan entry, intent and receipt are lost then each is one recorded gap, in that order', () => {
    const r = scan([order('00000000000000a1')], {
      '00000000000000a1': { planEntry: false, intent: false, receipt: false },
    });
    expect(r.gaps.map((g) => [g.kind, g.action])).toEqual([
      ['plan_entry', 'recorded'],
      ['intent', 'recorded'],
      ['consume_receipt', 'recorded'],
    ]);
  });

  it('when an order is too recent or still working then it waits for a later pass', () => {
    const lost = { result: false, receipt: false };
    const r = scan(
      [
        order('00000000000000a1', { time: NOW - 9_999 }),
        order('00000000000000a2', { status: 'NEW' }),
        order('00000000000000a3', { status: 'PARTIALLY_FILLED' }),
      ],
      { '00000000000000a1': lost, '00000000000000a2': lost, '00000000000000a3': lost },
    );
    expect(r).toEqual({ gaps: [], ours: 3, waiting: 3 });
  });

  it('when an order is not ours then it is ignored', () => {
    const r = scan(
      [order('x', { clientOrderId: 'web_abc123' }), order('y', { clientOrderId: 'qa-NOTHEX0000000000-X' })],
      {},
    );
    expect(r).toEqual({ gaps: [], ours: 0, waiting: 0 });
  });

  it('when a plan has two orders then each gap is reported once', () => {
    const r = scan([order('00000000000000a1'), order('00000000000000a1', { orderId: '78' })], {
      '00000000000000a1': { receipt: false },
    });
    expect(r.gaps.map((g) => [g.kind, g.order.orderId])).toEqual([['consume_receipt', '77']]);
  });

  it('when an order filled nothing then its lost result is still published (the plan ends ERROR, executed False)', () => {
    const r = scan([order('00000000000000a1', { status: 'EXPIRED', executedQty: '0' })], {
      '00000000000000a1': { result: false },
    });
    expect(r.gaps.map((g) => g.action)).toEqual(['result_published']);
  });

  it('when a client id is ours then the plan id and step come back from it', () => {
    expect(planStepOfClientId(clientOrderIdFor('0123456789abcdef', 'UPDATE_SL'))).toEqual({
      planId: '0123456789abcdef',
      step: 'UPDATE_SL',
    });
    expect(planStepOfClientId('qa-0123456789abcdef')).toBeNull();
    expect(planStepOfClientId('xx-0123456789abcdef-CLOSE_FULL')).toBeNull();
  });
});
