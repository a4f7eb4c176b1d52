import { describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/port.js';
import { counterValue } from '../governor/harness.js';
import { TTL_RENEW_MS } from '../../../src/services/recent-symbols.js';
import { fillAndPublish, onRedisAndMemory, p33Rig, plan, resultEntry, type P33Rig } from './harness.js';
import { T0 } from '../../helpers/clock.js';

function ledgerSuite(name: string, newStore: () => Promise<Store>) {
  describe(`P3.3 ledger (${name})`, () => {
    const setup = async () => p33Rig(await newStore());
    const execute = (r: P33Rig, symbol: string, side: 'BUY' | 'SELL', qty: string) =>
      fillAndPublish(r, { symbol, side, qty, clientOrderId: `c${Math.random()}` });

    it('when snapshots are refreshed then the TTL is renewed once a minute, and a vanished snapshot comes back with one', async () => {
      const r = await setup();
      const key = r.store.keys.positionSnapshot('BTCUSDT');
      await r.p33.snapshots.refresh();
      expect(await r.store.pttl(key)).toBeGreaterThan(3_590_000);
      await r.store.hset(key, {}, 100); // an EXPIRE by hand: a refresh that renewed would undo it
      r.clock.advance(5_000);
      await r.p33.snapshots.refresh();
      expect(await r.store.hgetall(key)).toMatchObject({ ts_epoch: String(T0 / 1000 + 5) });
      expect(await r.store.pttl(key)).toBeLessThanOrEqual(100_000);
      r.clock.advance(TTL_RENEW_MS);
      await r.p33.snapshots.refresh();
      expect(await r.store.pttl(key)).toBeGreaterThan(3_590_000);
      await r.store.del([key]);
      r.clock.advance(5_000);
      await r.p33.snapshots.refresh();
      expect(await r.store.hgetall(key)).toMatchObject({ position_amt: '0.015' });
      expect(await r.store.pttl(key)).toBeGreaterThan(3_590_000);
      await r.store.close();
    });

    it('when results keep moving a ledger then its TTL is renewed once a minute, not by every result', async () => {
      const r = await setup();
      const ledger = r.store.keys.positionLedger('BTCUSDT');
      await r.p33.snapshots.refresh(); // seeds the ledger, TTL 86,400 s
      await r.p33.ledger.poll();
      await execute(r, 'BTCUSDT', 'SELL', '0.001');
      expect(await r.p33.ledger.poll()).toBe(1);
      await r.store.hset(ledger, {}, 100); // an EXPIRE by hand: a write that renewed would undo it
      await execute(r, 'BTCUSDT', 'SELL', '0.001');
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await r.store.pttl(ledger)).toBeLessThanOrEqual(100_000);
      r.clock.advance(TTL_RENEW_MS);
      await execute(r, 'BTCUSDT', 'SELL', '0.001');
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await r.store.pttl(ledger)).toBeGreaterThan(86_390_000);
      expect((await r.store.hgetall(ledger)).last_known_amt).toBe('0.012');
      await r.store.close();
    });

    it('when N executions are applied then the ledger equals the exchange position, each result exactly once', async () => {
      const r = await setup();
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll(); // places the cursor
      await execute(r, 'BTCUSDT', 'SELL', '0.003');
      await execute(r, 'SOLUSDT', 'SELL', '7');
      await execute(r, 'BTCUSDT', 'SELL', '0.004');
      await execute(r, 'ETHUSDT', 'BUY', '0.5');
      await r.store.xadd(r.store.keys.resultStream(), {
        ...resultEntry('nx', 'BTCUSDT', 'SELL', '0.001', '9'),
        executed: 'False',
      });
      expect(await r.p33.ledger.poll()).toBe(5);
      expect(await r.p33.ledger.poll()).toBe(0); // the fleet re-applied the newest result on every poll; we do not
      const led = async (s: string) => (await r.store.hgetall(r.store.keys.positionLedger(s))).last_known_amt;
      expect(await led('BTCUSDT')).toBe('0.008');
      expect(await led('SOLUSDT')).toBe('23');
      expect(await led('ETHUSDT')).toBe('-1.5');
      const pos = await r.exchange.positions(['BTCUSDT', 'SOLUSDT', 'ETHUSDT']);
      expect(pos.map((p) => p.amountText)).toEqual(['0.008', '23', '-1.5']);
      expect(await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).toMatchObject({
        last_side: 'SELL',
        last_executed_qty: '0.004',
        updated_at: String(T0 / 1000),
      });
      expect(await counterValue(r.metrics.ledgerApplied)).toBe(4);
      await r.store.close();
    });

    it('when two P3.3 replicas follow the results at once then each result still moves the ledger once', async () => {
      const r = await setup();
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll();
      for (const q of ['0.001', '0.002', '0.003', '0.004']) await execute(r, 'BTCUSDT', 'SELL', q);
      const other = r.make({ consumer: 'p33-other' });
      await Promise.all([r.p33.ledger.poll(), other.ledger.poll(), r.p33.ledger.poll()]);
      expect((await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).last_known_amt).toBe('0.005');
      await r.store.close();
    });

    it('when the ledger is edited by hand between two results then the next one applies on top of the edit', async () => {
      const r = await setup();
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll();
      await execute(r, 'BTCUSDT', 'SELL', '0.003');
      expect(await r.p33.ledger.poll()).toBe(1);
      const key = r.store.keys.positionLedger('BTCUSDT');
      expect((await r.store.hgetall(key)).last_known_amt).toBe('0.012');
      // An operator reconciles by hand; the follower remembers what it last wrote (0.012), and
      // must not write over the edit from that memory.
      await r.store.hset(key, { last_known_amt: '0.010' }, 86400);
      await execute(r, 'BTCUSDT', 'SELL', '0.004');
      expect(await r.p33.ledger.poll()).toBe(1);
      expect((await r.store.hgetall(key)).last_known_amt).toBe('0.006');
      // And with nobody else writing, the next result goes on top of its own last write.
      await execute(r, 'BTCUSDT', 'SELL', '0.001');
      expect(await r.p33.ledger.poll()).toBe(1);
      expect((await r.store.hgetall(key)).last_known_amt).toBe('0.005');
      await r.store.close();
    });

    it('when P3.3 restarts mid-stream then it resumes at its cursor and applies nothing twice', async () => {
      const r = await setup();
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll();
      await execute(r, 'BTCUSDT', 'SELL', '0.005');
      await r.p33.ledger.poll();
      await execute(r, 'BTCUSDT', 'SELL', '0.002');
      const restarted = r.make({ consumer: 'p33-restarted' });
      expect(await restarted.ledger.poll()).toBe(1);
      expect(await r.p33.ledger.poll()).toBe(0);
      expect((await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).last_known_amt).toBe('0.008');
      await r.store.close();
    });

    it('when results existed before the first start then they are not replayed onto the seeded ledger', async () => {
      const r = await setup();
      await execute(r, 'BTCUSDT', 'SELL', '0.007'); // before P3.3 ever ran: already in the exchange amount
      await r.p33.snapshots.refresh();
      expect(await r.p33.ledger.poll()).toBe(0);
      expect((await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).last_known_amt).toBe('0.008');
      await r.store.close();
    });

    it('when the ledger is missing as a fill arrives then it is seeded from a fresh exchange read, not from zero', async () => {
      const r = await setup();
      await r.p33.ledger.poll();
      await execute(r, 'BTCUSDT', 'SELL', '0.007');
      expect(await r.p33.ledger.poll()).toBe(1);
      expect(await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).toMatchObject({
        last_known_amt: '0.008',
        last_side: 'SELL',
      });
      await r.store.close();
    });

    it('when a result entry is garbage then it is skipped with a metric and the cursor moves on', async () => {
      const r = await setup();
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll();
      await r.store.xadd(r.store.keys.resultStream(), {
        executed: 'True',
        symbol: 'BTCUSDT',
        steps_results: '\u0000{',
      });
      await r.store.xadd(r.store.keys.resultStream(), resultEntry('x', 'BTCUSDT', 'SELL', 'NaN', '1'));
      expect(await r.p33.ledger.poll()).toBe(2);
      expect(await counterValue(r.metrics.inputRejected)).toBe(2);
      expect((await r.store.hgetall(r.store.keys.positionLedger('BTCUSDT'))).last_known_amt).toBe('0.015');
      await r.store.close();
    });

    it('when executions happened then a plan inside the cooldown is denied and allowed after it', async () => {
      const r = await setup();
      await r.p33.snapshots.refresh();
      await r.p33.ledger.poll();
      await execute(r, 'BTCUSDT', 'SELL', '0.007');
      await r.p33.ledger.poll();
      await r.p33.snapshots.refresh();
      expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'cooldown_in_flight' });
      r.clock.advance(15_000);
      await r.p33.snapshots.refresh();
      expect(await r.p33.evaluate(plan({ action: 'FULL_CLOSE_PROPOSED' }))).toEqual({
        kind: 'allowed',
        safeCloseQty: '0.008',
      });
      await r.store.close();
    });
  });
}

onRedisAndMemory(ledgerSuite);
