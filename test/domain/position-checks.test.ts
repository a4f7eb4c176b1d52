import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_P33_LIMITS as L,
  evaluateChecks,
  parseLedger,
  parseSnapshot,
  safeCloseQty,
  type CheckInput,
} from '../../src/domain/position/checks.js';
import { floorToStep, parseDec, toText } from '../../src/domain/decimal.js';
import { applyFill, parseResultEntry } from '../../src/domain/position/ledger.js';
import { parseReservations } from '../../src/domain/position/reservations.js';

const now = 1_800_000_000;
const snap = (amt: string, ts = now) =>
  parseSnapshot({ position_amt: amt, ts_epoch: String(ts), mark_price: '100', source: 'test' });
const ledger = (amt: string, updated = 0) =>
  parseLedger({ last_known_amt: amt, updated_at: String(updated) });
const input = (over: Partial<CheckInput> = {}): CheckInput => ({
  snapshot: snap('0.01'),
  ledger: { ok: true, value: null },
  nowSec: now,
  fractionText: '1',
  stepSize: '0.001',
  reservations: parseReservations({}),
  closeAction: true,
  ...over,
});

describe('P3.3 checks', () => {
  it('when no snapshot then no_exchange_snapshot', () => {
    expect(evaluateChecks(input({ snapshot: parseSnapshot({}) }), L)).toMatchObject({
      allow: false,
      reason: 'no_exchange_snapshot',
    });
  });
  it('when the snapshot is older than the threshold then stale_exchange_state', () => {
    expect(evaluateChecks(input({ snapshot: snap('0.01', now - 11) }), L)).toMatchObject({
      allow: false,
      reason: 'stale_exchange_state',
    });
    expect(evaluateChecks(input({ snapshot: snap('0.01', now - 10) }), L).allow).toBe(true);
  });
  it('when the amount is below 0.0001 then no_position', () => {
    expect(evaluateChecks(input({ snapshot: snap('0.00009') }), L)).toMatchObject({
      allow: false,
      reason: 'no_position',
    });
  });
  it('when ledger and exchange are on opposite sides then reconcile_required_side_mismatch', () => {
    expect(evaluateChecks(input({ ledger: ledger('-0.01') }), L)).toMatchObject({
      allow: false,
      reason: 'reconcile_required_side_mismatch',
    });
  });
  it('when amounts differ beyond max(0.001, 1%) then reconcile_required_qty_mismatch', () => {
    expect(evaluateChecks(input({ ledger: ledger('0.012') }), L)).toMatchObject({
      allow: false,
      reason: 'reconcile_required_qty_mismatch',
    });
    expect(evaluateChecks(input({ ledger: ledger('0.011') }), L).allow).toBe(true);
  });
  it('when the ledger changed within the cooldown then cooldown_in_flight', () => {
    expect(evaluateChecks(input({ ledger: ledger('0.01', now - 5) }), L)).toMatchObject({
      allow: false,
      reason: 'cooldown_in_flight',
    });
    expect(evaluateChecks(input({ ledger: ledger('0.01', now - 15) }), L).allow).toBe(true);
  });
  it('when the checks pass then safe_close_qty is rounded down to the symbol step', () => {
    expect(evaluateChecks(input({ snapshot: snap('7'), fractionText: '0.75', stepSize: '1' }), L)).toEqual({
      allow: true,
      safeCloseQty: '5',
      exchangeAmt: 7,
      ledgerAmt: 0,
      reservedQty: '0',
      reservationState: { seq: '', grantedAt: null, reservations: [], strayDone: [] },
    });
    expect(
      evaluateChecks(input({ snapshot: snap('-0.015'), fractionText: '0.5', stepSize: '0.001' }), L),
    ).toMatchObject({
      allow: true,
      safeCloseQty: '0.007',
    });
  });
  it('when the fraction rounds to zero steps then invalid_safe_close_qty, never an allow', () => {
    expect(
      evaluateChecks(input({ snapshot: snap('1'), fractionText: '0.5', stepSize: '1' }), L),
    ).toMatchObject({
      allow: false,
      reason: 'invalid_safe_close_qty',
    });
  });
  it('when snapshot or ledger fields are garbage then deny with a reason', () => {
    expect(
      evaluateChecks(input({ snapshot: parseSnapshot({ position_amt: 'NaN', ts_epoch: '1' }) }), L),
    ).toMatchObject({ reason: 'snapshot_invalid' });
    expect(evaluateChecks(input({ ledger: parseLedger({ last_known_amt: 'x' }) }), L)).toMatchObject({
      reason: 'ledger_invalid',
    });
    expect(evaluateChecks(input({ stepSize: null }), L)).toMatchObject({
      reason: 'symbol_rules_unavailable',
    });
  });
  it('when any amount, fraction and step are given then safe qty is a step multiple within the position', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.constantFrom('1', '0.75', '0.5'),
        fc.constantFrom('1', '0.1', '0.001'),
        (units, f, step) => {
          const amt = parseDec(`${units}e-3`)!;
          const q = safeCloseQty(amt, f, step)!;
          const asNum = Number(toText(q));
          expect(asNum).toBeLessThanOrEqual(units / 1000);
          expect(toText(floorToStep(q, parseDec(step)!)!)).toBe(toText(q));
          expect(asNum).toBeGreaterThan((units / 1000) * Number(f) - Number(step) - 1e-9);
        },
      ),
    );
  });
});

describe('ledger arithmetic', () => {
  it('when a SELL fills on a long then the ledger drops exactly, never below zero', () => {
    const a = applyFill(parseDec('0.3')!, 'SELL', parseDec('0.1')!);
    expect(toText(a)).toBe('0.2');
    expect(toText(applyFill(a, 'SELL', parseDec('5')!))).toBe('0');
  });
  it('when a BUY fills on a short then it rises toward zero; a wrong side changes nothing', () => {
    expect(toText(applyFill(parseDec('-3')!, 'BUY', parseDec('1')!))).toBe('-2');
    expect(toText(applyFill(parseDec('3')!, 'BUY', parseDec('1')!))).toBe('3');
  });
  it('when a result entry is executed then its order step yields a fill; otherwise nothing or a reason', () => {
    const steps = JSON.stringify([
      { step: 'CLOSE_PARTIAL_50', status: 'filled', side: 'SELL', executed_qty: '0.005', order_id: 42 },
    ]);
    const r = parseResultEntry({ plan_id: 'p', symbol: 'BTCUSDT', executed: 'True', steps_results: steps });
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'fill', fill: { side: 'SELL', orderId: '42', planId: 'p' } });
    expect(parseResultEntry({ executed: 'False' })).toEqual([{ kind: 'not_executed' }]);
    expect(parseResultEntry({ executed: 'True', symbol: 'BTCUSDT', steps_results: '{' })).toEqual([
      { kind: 'invalid', reason: 'invalid_steps_results' },
    ]);
  });
  it('when decimals use exponent notation then they parse exactly', () => {
    expect(toText(parseDec('1e-05')!)).toBe('0.00001');
    expect(toText(parseDec('-2.50E+2')!)).toBe('-250');
    expect(parseDec('abc')).toBeNull();
    expect(parseDec('.')).toBeNull();
  });
});

describe('result entries without a fill', () => {
  it('when an executed result has no order step (stop-loss update) then it is not a fill and not garbage', () => {
    const steps = JSON.stringify([{ step: 'UPDATE_SL', status: 'success', details: 'placed' }]);
    expect(
      parseResultEntry({ plan_id: 'p', symbol: 'BTCUSDT', executed: 'True', steps_results: steps }),
    ).toEqual([{ kind: 'not_executed' }]);
  });
  it('when the stop-loss step carries its order id and side, as apply writes it, then it is still not a fill and not garbage', () => {
    // The shape of src/services/apply/orders.ts's stop step: each one was counted
    // result_invalid_executed_qty (a warning and the P3.3 input-rejected alert) before.
    const steps = JSON.stringify([
      {
        step: 'UPDATE_SL',
        status: 'success',
        details: 'stop BUY',
        order_id: 'algo-7',
        side: 'BUY',
        reduce_only: true,
      },
    ]);
    expect(
      parseResultEntry({ plan_id: 'p', symbol: 'BTCUSDT', executed: 'True', steps_results: steps }),
    ).toEqual([{ kind: 'not_executed' }]);
  });
  it.each([['abc'], [[]], [true], [null], ['']])(
    'when an order step reports a fill quantity %j that does not parse then the entry is rejected',
    (executed_qty) => {
      const steps = JSON.stringify([
        { step: 'CLOSE_FULL', status: 'success', side: 'SELL', order_id: 1, executed_qty },
      ]);
      expect(
        parseResultEntry({ plan_id: 'p', symbol: 'BTCUSDT', executed: 'True', steps_results: steps }),
      ).toEqual([{ kind: 'invalid', reason: 'invalid_executed_qty' }]);
    },
  );
});
