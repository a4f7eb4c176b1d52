/**
 * Our P3.3 beside the fleet's apply: the fleet's recorded result entries move our ledger. With
 * Binance's default ACK answer the fleet writes executed=True and executed_qty "0"; the fill is
 * then read from the exchange's order, or the ledger takes the position, never dropped.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/port.js';
import { counterValue } from '../services/governor/harness.js';
import { onRedisAndMemory, p33Rig, plan, type P33Rig } from '../services/position-brain/harness.js';
import { ackedOrder, fleet, RECORDED_POSITIONS } from './fixtures.js';

const ledgerAmt = async (r: P33Rig, symbol: string) =>
  (await r.store.hgetall(r.store.keys.positionLedger(symbol))).last_known_amt;

/** A rig holding the recorded positions, snapshots and ledgers seeded, the cursor placed. */
async function recordedRig(store: Store): Promise<P33Rig> {
  const r = p33Rig(store);
  for (const [s, amt] of Object.entries(RECORDED_POSITIONS)) r.exchange.setPosition(s, amt);
  await r.p33.snapshots.refresh();
  await r.p33.ledger.poll();
  return r;
}

/** Fills on the exchange the orders `entries` report, under the order ids they carry. */
async function fillOrdersOf(r: P33Rig, entries: { fields: Record<string, string> }[]): Promise<void> {
  for (const e of entries) {
    const [step] = JSON.parse(e.fields.steps_results!) as {
      order_id: string;
      side: 'BUY' | 'SELL';
      quantity: string;
    }[];
    const out = await r.exchange.placeReduceOnlyMarket({
      symbol: e.fields.symbol!,
      side: step!.side,
      quantity: step!.quantity,
      clientOrderId: `fleet-${step!.order_id}`,
    });
    if (out.kind !== 'filled') throw new Error(`fixture order not filled: ${out.kind}`);
    out.order.orderId = step!.order_id;
  }
}

const publish = async (r: P33Rig, entries: { fields: Record<string, string> }[]) => {
  for (const e of entries) await r.store.xadd(r.store.keys.resultStream(), e.fields);
};

function suite(name: string, newStore: () => Promise<Store>) {
  describe(`our P3.3 follows the fleet apply's results (${name})`, () => {
    it('when the fleet reports ACK fills (executed_qty "0") then each fill is read from its order and the ledger moves', async () => {
      const r = await recordedRig(await newStore());
      const acks = fleet.ackResults();
      await fillOrdersOf(r, acks);
      await publish(r, acks);
      expect(await r.p33.ledger.poll()).toBe(3);
      expect(await ledgerAmt(r, 'BTCUSDT')).toBe('0.25');
      expect(await ledgerAmt(r, 'ETHUSDT')).toBe('-0.5');
      expect(await ledgerAmt(r, 'SOLUSDT')).toBe('15');
      expect(await counterValue(r.metrics.ledgerFillResolved, { via: 'order' })).toBe(3);
      expect(r.exchange.calls.filter((c) => c.method === 'findOrderById').map((c) => c.args)).toEqual([
        ['BTCUSDT', '4000000001'],
        ['ETHUSDT', '4000000002'],
        ['SOLUSDT', '4000000003'],
      ]);
      // The next plan of each symbol is judged against a ledger that followed the fills.
      r.clock.advance(16_000);
      await r.p33.snapshots.refresh();
      for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])
        expect(await r.p33.evaluate(plan({ symbol, action: 'FULL_CLOSE_PROPOSED' }))).toMatchObject({
          kind: 'allowed',
        });
      await r.store.close();
    });

    it('when the exchange does not know the order then the ledger takes the position, with a warning', async () => {
      const r = await recordedRig(await newStore());
      const [btc] = fleet.ackResults();
      r.exchange.setPosition('BTCUSDT', 0.25); // filled, but under an id this exchange never saw
      await publish(r, [btc!]);
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).toMatchObject({
        last_known_amt: '0.25',
        last_order_id: '4000000001',
        last_result_plan_id: 'c8a309ee914f4656',
        last_executed_qty: '0.25',
        last_side: 'SELL',
        updated_at: String(Math.floor(r.clock.now() / 1000)),
      });
      expect(await counterValue(r.metrics.ledgerFillResolved, { via: 'position' })).toBe(1);
      expect(r.log.lines().some((l) => String(l.msg).includes('the ledger takes the position'))).toBe(true);
      await r.store.close();
    });

    it('when the order ended without a fill then the ledger stays, counted', async () => {
      const r = await recordedRig(await newStore());
      const [btc] = fleet.ackResults();
      const cancelled = { ...ackedOrder('BTCUSDT', 'SELL'), status: 'EXPIRED' };
      r.exchange.orders.push(cancelled);
      await publish(r, [btc!]);
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await ledgerAmt(r, 'BTCUSDT')).toBe('0.5');
      expect(await counterValue(r.metrics.ledgerFillResolved, { via: 'order_unfilled' })).toBe(1);
      await r.store.close();
    });

    it('when the order is still working then its entry waits for it, and the position stands in only after a while', async () => {
      const r = await recordedRig(await newStore());
      const [btc, eth] = fleet.ackResults();

      const btcOrder = ackedOrder('BTCUSDT', 'SELL', '4000000001');
      r.exchange.orders.push(btcOrder, ackedOrder('ETHUSDT', 'BUY', '4000000002'));
      const id = await r.store.xadd(r.store.keys.resultStream(), btc!.fields);
      r.clock.set(Number(id.split('-')[0]));
      await expect(r.p33.ledger.poll()).rejects.toThrow(/still working/);
      expect(await ledgerAmt(r, 'BTCUSDT')).toBe('0.5');
      Object.assign(btcOrder, { status: 'FILLED', executedQty: '0.25' });
      r.exchange.setPosition('BTCUSDT', 0.25);
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await ledgerAmt(r, 'BTCUSDT')).toBe('0.25');
      // One that stays working past the wait: the ledger takes the position.
      const late = await r.store.xadd(r.store.keys.resultStream(), eth!.fields);
      r.exchange.setPosition('ETHUSDT', -0.5);
      r.clock.set(Number(late.split('-')[0]) + 10_001);
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await ledgerAmt(r, 'ETHUSDT')).toBe('-0.5');
      expect(await counterValue(r.metrics.ledgerFillResolved, { via: 'order' })).toBe(1);
      expect(await counterValue(r.metrics.ledgerFillResolved, { via: 'position' })).toBe(1);
      await r.store.close();
    });

    it('when the order lookup fails then nothing is skipped: the entry waits and is applied once later', async () => {
      const r = await recordedRig(await newStore());
      const acks = fleet.ackResults();
      await fillOrdersOf(r, acks);
      await publish(r, acks);
      r.exchange.failWith.findOrderById = 'exchange_unreachable';
      await expect(r.p33.ledger.poll()).rejects.toThrow(/exchange_unreachable/);
      expect(await ledgerAmt(r, 'BTCUSDT')).toBe('0.5');
      delete r.exchange.failWith.findOrderById;
      expect(await r.p33.ledger.poll()).toBe(3);
      expect(await r.p33.ledger.poll()).toBe(0);
      expect(await ledgerAmt(r, 'BTCUSDT')).toBe('0.25');
      await r.store.close();
    });

    it('when the fleet reports full fills then the ledger follows every recorded result to the flat positions', async () => {
      const r = await recordedRig(await newStore());
      await publish(r, fleet.results());
      expect(await r.p33.ledger.poll()).toBe(17);
      for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])
        expect(Number(await ledgerAmt(r, symbol))).toBe(0);
      expect(await counterValue(r.metrics.ledgerFillResolved)).toBe(0);
      await r.store.close();
    });
  });
}

onRedisAndMemory(suite);
