/**
 * P3.3 counts what it has permitted and not yet seen executed or lapsed (issue "Exposure safety",
 * item 1): two plans in flight never permit more than the position together, and the cooldown
 * runs from the grant. On Redis and on the memory store.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_P33_LIMITS } from '../../../src/domain/position/checks.js';
import type { Store } from '../../../src/store/port.js';
import { counterValue } from '../governor/harness.js';
import { fillAndPublish, onRedisAndMemory, p33Rig, plan, resultEntry } from './harness.js';

const noCooldown = { limits: { ...DEFAULT_P33_LIMITS, cooldownSec: 0 } };

function reservationSuite(name: string, newStore: () => Promise<Store>) {
  describe(`P3.3 reservations (${name})`, () => {
    /** Position 10 BTCUSDT (step 0.001), a fresh snapshot, the ledger seeded and its cursor placed. */
    const setup = async (over = {}) => {
      const r = p33Rig(await newStore(), over);
      r.exchange.setPosition('BTCUSDT', 10);
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll();
      return r;
    };
    type Rig = Awaited<ReturnType<typeof setup>>;
    const allowed = (qty: string) => ({ kind: 'allowed', safeCloseQty: qty });
    const reserved = async (r: Rig) => {
      const h = await r.store.hgetall(r.store.keys.p33Reserved('BTCUSDT'));
      return Object.keys(h).filter((f) => f.startsWith('plan:'));
    };
    const publish = (r: Rig, fields: Record<string, string>) =>
      r.store.xadd(r.store.keys.resultStream(), fields);
    const fill = (r: Rig, planId: string, qty: string) =>
      fillAndPublish(r, { symbol: 'BTCUSDT', side: 'SELL', qty, clientOrderId: `qa-${planId}-0`, planId });

    it('when two PARTIAL_50 plans are evaluated back to back from one snapshot with no cooldown then they get 5 and 2.5, never 5 and 5', async () => {
      const r = await setup(noCooldown);
      expect(await r.p33.evaluate(plan())).toEqual(allowed('5'));
      expect(await r.p33.evaluate(plan())).toEqual(allowed('2.5'));
      expect(await counterValue(r.metrics.reservedQty, { symbol: 'BTCUSDT' })).toBe(7.5);
      await r.store.close();
    });

    it('when the second plan comes inside the default cooldown then it is denied cooldown_in_flight though the ledger has not moved', async () => {
      const r = await setup();
      expect(await r.p33.evaluate(plan())).toEqual(allowed('5'));
      r.clock.advance(3_000);
      const second = plan();
      expect(await r.p33.evaluate(second)).toEqual({ kind: 'denied', reason: 'cooldown_in_flight' });
      expect(JSON.parse((await r.store.get(r.store.keys.p33Permit(second.plan_id!)))!)).toMatchObject({
        allow: false,
        reason: 'cooldown_in_flight',
        context: { seconds_since_grant: 3, cooldown_sec: 15 },
      });
      expect((await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).updated_at).toBe('0');
      // A stop move is held by the same clock.
      r.clock.advance(1_000);
      expect(await r.p33.evaluate(plan({ action: 'UPDATE_SL', new_sl_proposed: '90' }))).toEqual({
        kind: 'denied',
        reason: 'cooldown_in_flight',
      });
      await r.store.close();
    });

    it('when many plans of one symbol are evaluated at once then what they are permitted never sums above the position', async () => {
      const r = await setup(noCooldown);
      const plans = Array.from({ length: 12 }, (_, i) =>
        plan({ action: ['PARTIAL_50', 'PARTIAL_75', 'FULL_CLOSE_PROPOSED'][i % 3]! }),
      );
      const outs = await Promise.allSettled(plans.map((p) => r.p33.evaluate(p)));
      const granted = outs.flatMap((o) =>
        o.status === 'fulfilled' && o.value.kind === 'allowed' ? [Number(o.value.safeCloseQty)] : [],
      );
      expect(granted.length).toBeGreaterThanOrEqual(1);
      expect(granted.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10 + 1e-9);
      // Every reservation in the hash belongs to a plan that was allowed, and they add up the same.
      const permits = await Promise.all(plans.map((p) => r.store.get(r.store.keys.p33Permit(p.plan_id!))));
      const allowedIds = plans.filter((_, i) => permits[i] && JSON.parse(permits[i]!).allow === true);
      expect((await reserved(r)).sort()).toEqual(allowedIds.map((p) => `plan:${p.plan_id}`).sort());
      await r.store.close();
    });

    it('when a fill is in the ledger then its reservation counts against snapshots read before that, not after', async () => {
      // A tolerance wide enough that the stale snapshot is judged by the reservations alone.
      const r = await setup({ limits: { ...DEFAULT_P33_LIMITS, cooldownSec: 0, qtyTolerancePct: 100 } });
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      await fill(r, first.plan_id!, '5');
      expect(await r.p33.ledger.poll()).toBe(1);
      const h = await r.store.hgetall(r.store.keys.p33Reserved('BTCUSDT'));
      expect(h[`done:${first.plan_id}`]).toBe(String(r.clock.now() / 1000));
      // The snapshot in hand was read before the fill (10): the 5 sold still count against it.
      expect(await r.p33.evaluate(plan())).toEqual(allowed('2.5'));
      // Read in the same second as the fill was seen: it may not show it yet, so it still counts.
      await r.p33.snapshots.refresh();
      expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'qty_reserved_in_flight' });
      // Read later: it shows the fill (5 left); only the 2.5 granted since is still in flight.
      r.clock.advance(2_000);
      await r.p33.snapshots.refresh();
      expect(await r.p33.evaluate(plan())).toEqual(allowed('1.25'));
      await r.store.close();
    });

    it('when the fill is in the ledger but its result not yet handled then the reservation still counts', async () => {
      const r = await setup(noCooldown);
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      // Filled; the ledger written as if the follower were between its write and its release.
      await r.exchange.placeReduceOnlyMarket({
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: '5',
        clientOrderId: 'x',
      });
      await r.store.hset(r.store.keys.positionLedger('BTCUSDT'), { last_known_amt: '5' });
      await r.p33.snapshots.refresh(); // 5 now: the fill and the reservation are counted twice
      expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'qty_reserved_in_flight' });
      expect(await counterValue(r.metrics.permitDeny, { reason: 'qty_reserved_in_flight' })).toBe(1);
      await r.store.close();
    });

    it('when a result says the order was not placed then its reservation is released at once', async () => {
      const r = await setup(noCooldown);
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      await publish(r, {
        ...resultEntry(first.plan_id!, 'BTCUSDT', 'SELL', '0', ''),
        decision: 'BLOCKED',
        executed: 'False',
        steps_results: '[]',
        error: 'permit_timeout_or_missing:missing_governor',
      });
      await r.p33.ledger.poll();
      expect(await reserved(r)).toEqual([]);
      expect(await r.p33.evaluate(plan())).toEqual(allowed('5'));
      await r.store.close();
    });

    it('when the order status is unknown then the reservation is kept', async () => {
      const r = await setup(noCooldown);
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      await publish(r, {
        ...resultEntry(first.plan_id!, 'BTCUSDT', 'SELL', '0', ''),
        executed: 'False',
        steps_results: '[]',
        error: 'order_status_unknown',
      });
      await r.p33.ledger.poll();
      expect(await reserved(r)).toEqual([`plan:${first.plan_id}`]);
      expect(await r.p33.evaluate(plan())).toEqual(allowed('2.5'));
      await r.store.close();
    });

    it('when the reconciler later finds the unknown order filled then the ledger follows the fill once and the reservation is done', async () => {
      const r = await setup(noCooldown);
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      await publish(r, {
        ...resultEntry(first.plan_id!, 'BTCUSDT', 'SELL', '0', ''),
        decision: 'ERROR',
        executed: 'False',
        steps_results: '[]',
        error: 'order_status_unknown',
      });
      await r.p33.ledger.poll();
      await r.p33.reconciledLedger.poll(); // places its cursor
      const ledger = () => r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'));
      expect((await ledger()).last_known_amt).toBe('10');
      // What apply's reconciler publishes once it has found the order: the result entry's format.
      const reconciled = {
        ...resultEntry(first.plan_id!, 'BTCUSDT', 'SELL', '5', '901'),
        reconciles: 'order_status_unknown',
      };
      await r.store.xadd(r.store.keys.reconciledStream(), reconciled);
      expect(await r.p33.reconciledLedger.poll()).toBe(1);
      expect(await ledger()).toMatchObject({ last_known_amt: '5', last_order_id: '901' });
      const h = await r.store.hgetall(r.store.keys.p33Reserved('BTCUSDT'));
      expect(h[`done:${first.plan_id}`]).toBeDefined();
      // Followed once: another poll of either stream moves nothing.
      expect(await r.p33.reconciledLedger.poll()).toBe(0);
      expect(await r.p33.ledger.poll()).toBe(0);
      expect((await ledger()).last_known_amt).toBe('5');
      await r.store.close();
    });

    it('when a result says executed without a fill quantity then the reservation is kept', async () => {
      const r = await setup(noCooldown);
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      await publish(r, resultEntry(first.plan_id!, 'BTCUSDT', 'SELL', '0', '77'));
      await r.p33.ledger.poll();
      expect(await reserved(r)).toEqual([`plan:${first.plan_id}`]);
      await r.store.close();
    });

    it('when a reservation lapsed (a snapshot taken after it ended) then it stops counting, and a later grant deletes it', async () => {
      const r = await setup(noCooldown);
      const first = plan();
      expect(await r.p33.evaluate(first)).toEqual(allowed('5'));
      // Permit TTL 60 s + the margin: a snapshot read at 65 s may still miss the fill, at 66 s not.
      r.clock.advance(65_000);
      await r.p33.snapshots.refresh();
      expect(await r.p33.evaluate(plan())).toEqual(allowed('2.5'));
      r.clock.advance(1_000);
      await r.p33.snapshots.refresh();
      // Only the second reservation (2.5) still counts.
      expect(await r.p33.evaluate(plan())).toEqual(allowed('3.75'));
      expect(await reserved(r)).toHaveLength(3);
      // Past its end plus the staleness limit and the margin: the next grant removes the field.
      r.clock.advance(20_000);
      await r.p33.snapshots.refresh();
      await r.p33.evaluate(plan({ action: 'FULL_CLOSE_PROPOSED' }));
      expect(await reserved(r)).not.toContain(`plan:${first.plan_id}`);
      await r.store.close();
    });

    it('when a plan is evaluated then the reservations are read before the ledger, so a release between the reads cannot hide its fill', async () => {
      const r = await setup(noCooldown);
      const orders: string[][] = [];
      const spy = new Proxy(r.store, {
        get(target, prop, receiver) {
          if (prop === 'hgetallInOrder') {
            return (keys: string[]) => {
              orders.push(keys);
              return target.hgetallInOrder(keys);
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const p33 = r.make({ store: spy });
      expect(await p33.evaluate(plan())).toEqual(allowed('5'));
      const k = r.store.keys;
      expect(orders).toEqual([
        [k.p33Reserved('BTCUSDT'), k.positionLedger('BTCUSDT'), k.positionSnapshot('BTCUSDT')],
      ]);
      await r.store.close();
    });

    it('when a grant loses to another grant then the plan is evaluated again from fresh reads', async () => {
      const r = await setup(noCooldown);
      const k = r.store.keys;
      let raced = false;
      const spy = new Proxy(r.store, {
        get(target, prop, receiver) {
          if (prop === 'grantCloseQty') {
            return async (req: Parameters<Store['grantCloseQty']>[0]) => {
              if (!raced) {
                raced = true; // another P3.3 consumer grants a plan of the symbol first
                expect(await r.p33.evaluate(plan())).toEqual(allowed('5'));
              }
              return target.grantCloseQty(req);
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const p33 = r.make({ store: spy });
      expect(await p33.evaluate(plan())).toEqual(allowed('2.5'));
      expect((await r.store.hgetall(k.p33Reserved('BTCUSDT'))).seq).toBe('2');
      await r.store.close();
    });
  });
}

onRedisAndMemory(reservationSuite);
