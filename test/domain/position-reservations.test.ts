import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_P33_LIMITS as L,
  evaluateChecks,
  parseLedger,
  parseSnapshot,
  type CheckInput,
} from '../../src/domain/position/checks.js';
import { add, cmp, mul, parseDec, toText, ZERO, type Dec } from '../../src/domain/decimal.js';
import { reservationRelease } from '../../src/domain/position/ledger.js';
import {
  closeQty,
  countingReservations,
  lapsedFields,
  parseReservations,
  DONE_MARGIN_SEC,
  RESERVATION_MARGIN_SEC,
  reservationHashTtlCapSec,
  reservationHashTtlSec,
  reservationUntil,
  reservationValue,
  type ReservationState,
} from '../../src/domain/position/reservations.js';

const now = 1_800_000_000;
const d = (t: string) => parseDec(t)!;
const snap = (amt: string, ts = now) =>
  parseSnapshot({ position_amt: amt, ts_epoch: String(ts), mark_price: '100', source: 'test' });
const held = (planId: string, qty: string, at: number, until = reservationUntil(at, 60)) => ({
  [`plan:${planId}`]: reservationValue(qty, at, until),
});
const input = (over: Partial<CheckInput> = {}): CheckInput => ({
  snapshot: snap('10'),
  ledger: { ok: true, value: null },
  nowSec: now,
  fractionText: '0.5',
  stepSize: '0.001',
  reservations: parseReservations({}),
  closeAction: true,
  ...over,
});
const limits0 = { ...L, cooldownSec: 0 };

describe('P3.3 reservations: parsing', () => {
  it('when the hash is absent then nothing is reserved, no grant is known and seq is empty', () => {
    expect(parseReservations({})).toEqual({
      ok: true,
      value: { seq: '', grantedAt: null, reservations: [], strayDone: [] },
    });
  });

  it('when the hash holds reservations then each is read with its quantity and times', () => {
    const p = parseReservations({ seq: '7', granted_at: String(now), ...held('a', '5', now, now + 65) });
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value.seq).toBe('7');
    expect(p.value.grantedAt).toBe(now);
    expect(p.value.reservations.map((r) => [r.field, toText(r.qty), r.at, r.until])).toEqual([
      ['plan:a', '5', now, now + 65],
    ]);
  });

  it.each([
    [{ seq: 'x' }],
    [{ granted_at: 'soon' }],
    [{ 'plan:a': '{' }],
    [{ 'plan:a': '"5"' }],
    [{ 'plan:a': JSON.stringify({ qty: '-1', at: now, until: now }) }],
    [{ 'plan:a': JSON.stringify({ qty: 5, at: now, until: now }) }],
    [{ 'plan:a': JSON.stringify({ qty: '5', at: now }) }],
  ])(
    'when a field of the hash %j does not parse then reservations_invalid, never "nothing reserved"',
    (h) => {
      expect(parseReservations(h)).toEqual({ ok: false, reason: 'reservations_invalid' });
      expect(evaluateChecks(input({ reservations: parseReservations(h) }), limits0)).toMatchObject({
        allow: false,
        reason: 'reservations_invalid',
      });
    },
  );
});

describe('P3.3 reservations: arithmetic', () => {
  it('when nothing is reserved then a half close of 10 is 5', () => {
    expect(closeQty(d('10'), ZERO, '0.5', '0.001')).toMatchObject({ ok: true, qty: d('5') });
  });

  it('when 5 is reserved then a half close of 10 is half of the 5 available', () => {
    const q = closeQty(d('10'), d('5'), '0.5', '0.001');
    expect(q.ok && toText(q.qty)).toBe('2.5');
  });

  it('when the position is short then it counts by its size', () => {
    const q = closeQty(d('-10'), ZERO, '1', '0.001');
    expect(q.ok && toText(q.qty)).toBe('10');
  });

  it('when the available quantity is not on the step then the grant is rounded down', () => {
    const q = closeQty(d('0.015'), d('0.002'), '0.5', '0.001');
    expect(q.ok && toText(q.qty)).toBe('0.006');
  });

  it('when reservations hold the whole base then deny qty_reserved_in_flight with both figures', () => {
    expect(closeQty(d('10'), d('10'), '1', '0.001')).toMatchObject({
      ok: false,
      reason: 'qty_reserved_in_flight',
    });
    expect(evaluateChecks(input({ reservations: parseReservations(held('a', '10', now)) }), limits0)).toEqual(
      {
        allow: false,
        reason: 'qty_reserved_in_flight',
        context: { reserved: 10, base: 10 },
      },
    );
  });

  it('when the rest rounds to zero steps then qty_reserved_in_flight with reservations, invalid_safe_close_qty without', () => {
    expect(closeQty(d('10'), d('9.9995'), '1', '0.001')).toMatchObject({
      ok: false,
      reason: 'qty_reserved_in_flight',
    });
    expect(closeQty(d('0.0015'), ZERO, '0.5', '0.001')).toMatchObject({
      ok: false,
      reason: 'invalid_safe_close_qty',
    });
  });

  it('when the snapshot was taken at or before a reservation ends then it counts; after, it does not', () => {
    const state = parseReservations(held('a', '5', now - 70, now - 5)) as {
      ok: true;
      value: ReservationState;
    };
    expect(countingReservations(state.value, now - 5)).toHaveLength(1);
    expect(countingReservations(state.value, now - 4)).toHaveLength(0);
    const res = state;
    const before = evaluateChecks(input({ snapshot: snap('10', now - 5), reservations: res }), limits0);
    const after = evaluateChecks(input({ snapshot: snap('10', now - 4), reservations: res }), limits0);
    expect(before).toMatchObject({ allow: true, safeCloseQty: '2.5', reservedQty: '5' });
    expect(after).toMatchObject({ allow: true, safeCloseQty: '5', reservedQty: '0' });
  });

  it('when two half closes are granted against one snapshot then the second gets half of what is left', () => {
    const first = evaluateChecks(input(), limits0);
    expect(first).toMatchObject({ allow: true, safeCloseQty: '5' });
    const second = evaluateChecks(
      input({
        reservations: parseReservations({ seq: '1', granted_at: String(now), ...held('a', '5', now) }),
      }),
      limits0,
    );
    expect(second).toMatchObject({ allow: true, safeCloseQty: '2.5' });
  });
});

describe('P3.3 reservations: the grant cooldown', () => {
  const granted = (at: number) =>
    parseReservations({ seq: '1', granted_at: String(at), ...held('a', '5', at) });

  it('when a close was granted less than the cooldown ago then cooldown_in_flight naming the grant clock', () => {
    expect(evaluateChecks(input({ reservations: granted(now - 3) }), L)).toEqual({
      allow: false,
      reason: 'cooldown_in_flight',
      context: { seconds_since_grant: 3, cooldown_sec: 15 },
    });
    expect(evaluateChecks(input({ reservations: granted(now - 15) }), L)).toMatchObject({
      allow: true,
      safeCloseQty: '2.5',
    });
  });

  it('when the ledger cooldown also holds then it is the one reported (the contract order first)', () => {
    const r = evaluateChecks(
      input({
        ledger: parseLedger({ last_known_amt: '10', updated_at: String(now - 1) }),
        reservations: granted(now - 3),
      }),
      L,
    );
    expect(r).toMatchObject({ reason: 'cooldown_in_flight', context: { seconds_since_update: 1 } });
  });

  it('when a stop move is evaluated then the grant cooldown holds it, and reservations do not shrink it', () => {
    const stop = { closeAction: false, fractionText: '1' };
    expect(evaluateChecks(input({ ...stop, reservations: granted(now - 3) }), L)).toMatchObject({
      reason: 'cooldown_in_flight',
    });
    expect(evaluateChecks(input({ ...stop, reservations: granted(now - 20) }), L)).toMatchObject({
      allow: true,
      safeCloseQty: '10',
      reservedQty: '0',
    });
  });
});

describe('P3.3 reservations: housekeeping', () => {
  it('when a reservation ended longer ago than a snapshot may be old then its field may go, not before', () => {
    const until = now - L.staleThresholdSec - RESERVATION_MARGIN_SEC;
    const state = parseReservations({
      ...held('old', '1', until - 65, until - 1),
      ...held('edge', '1', until - 65, until),
    });
    expect(state.ok && lapsedFields(state.value, now, L.staleThresholdSec)).toEqual(['plan:old']);
  });

  it('when a done reservation ended longer ago than a snapshot may be old then it goes with its mark, long before its until', () => {
    const done = now - L.staleThresholdSec - RESERVATION_MARGIN_SEC - DONE_MARGIN_SEC;
    const state = parseReservations({
      ...held('gone', '1', done - 2),
      'done:gone': String(done - 0.001),
      ...held('edge', '1', done - 2),
      'done:edge': String(done),
      'done:stray': String(done - 100),
    });
    expect(state.ok && lapsedFields(state.value, now, L.staleThresholdSec)).toEqual([
      'plan:gone',
      'done:gone',
      'done:stray',
    ]);
  });

  it('when the hash TTL is computed then it outlives every reservation kept and the cooldown', () => {
    const ttl = reservationHashTtlSec([{ until: now + 65 }, { until: now + 10 }], now, now, 10, 15);
    expect(ttl).toBeGreaterThanOrEqual(65 + 10 + RESERVATION_MARGIN_SEC);
    expect(reservationHashTtlSec([], now, now, 10, 900)).toBeGreaterThanOrEqual(900);
  });

  it('when a done mark renews the hash then its TTL is never shorter than a grant with the same limits gives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 86_400 }),
        fc.integer({ min: 0, max: 86_400 }),
        fc.integer({ min: 0, max: 86_400 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
        (permitTtl, stale, cooldown, grantedAgo) => {
          // Reservations kept by a grant now were granted now or earlier with the same permit TTL.
          const kept = grantedAgo.map((f) => ({ until: reservationUntil(now - f * permitTtl, permitTtl) }));
          const grant = reservationHashTtlSec(
            [...kept, { until: reservationUntil(now, permitTtl) }],
            now,
            now,
            stale,
            cooldown,
          );
          expect(reservationHashTtlCapSec(permitTtl, stale, cooldown)).toBeGreaterThanOrEqual(grant);
        },
      ),
    );
  });
});

describe('P3.3 reservations: which results release a reservation', () => {
  const result = (over: Record<string, string>) => ({
    plan_id: 'a1',
    symbol: 'BTCUSDT',
    executed: 'True',
    steps_results: JSON.stringify([
      { step: 'CLOSE_PARTIAL_50', side: 'SELL', quantity: '5', executed_qty: '5.0', order_id: 1 },
    ]),
    error: '',
    ...over,
  });

  it('when the result carries a fill then the release waits for the ledger write', () => {
    expect(reservationRelease(result({}))).toEqual({ planId: 'a1', symbol: 'BTCUSDT', afterFill: true });
  });

  it('when the result says not executed then the release is at once', () => {
    expect(
      reservationRelease(result({ executed: 'False', error: 'permit_timeout_or_missing:missing_governor' })),
    ).toEqual({
      planId: 'a1',
      symbol: 'BTCUSDT',
      afterFill: false,
    });
  });

  it('when the order status is unknown then the reservation stays until it lapses', () => {
    expect(reservationRelease(result({ executed: 'False', error: 'order_status_unknown' }))).toBeNull();
  });

  it('when the result says executed without a usable fill quantity then the reservation stays until it lapses', () => {
    const ack = JSON.stringify([{ step: 'CLOSE_PARTIAL_50', side: 'SELL', executed_qty: '0', order_id: 1 }]);
    expect(reservationRelease(result({ steps_results: ack }))).toBeNull();
    expect(reservationRelease(result({ steps_results: '{' }))).toBeNull();
  });

  it('when only part of the order filled then the reservation stays until it lapses (the rest may still fill)', () => {
    const part = JSON.stringify([
      { step: 'CLOSE_PARTIAL_50', side: 'SELL', quantity: '5', executed_qty: '2', order_id: 1 },
    ]);
    const unsized = JSON.stringify([
      { step: 'CLOSE_PARTIAL_50', side: 'SELL', executed_qty: '5', order_id: 1 },
    ]);
    expect(reservationRelease(result({ steps_results: part }))).toBeNull();
    expect(reservationRelease(result({ steps_results: unsized }))).toBeNull();
  });

  it('when any result entry is given then deciding its release never throws, and only an executed whole fill waits for the ledger', () => {
    const value = fc.oneof(
      fc.string(),
      fc.constantFrom('5', '0', '-1', 'NaN', '1e3', ''),
      fc.integer(),
      fc.constant(null),
      fc.constant([]),
    );
    const step = fc.record(
      { side: fc.constantFrom('BUY', 'SELL', 'x'), quantity: value, executed_qty: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.constantFrom('True', 'False', 'true', ''),
        fc.oneof(
          fc.array(step, { maxLength: 3 }).map((a) => JSON.stringify(a)),
          fc.string(),
        ),
        fc.constantFrom('', 'order_status_unknown', 'order_rejected:x'),
        (executed, steps, error) => {
          const r = reservationRelease({
            plan_id: 'a1',
            symbol: 'BTCUSDT',
            executed,
            steps_results: steps,
            error,
          });
          if (r?.afterFill) expect(executed).toBe('True');
          if (r && !r.afterFill) expect(executed).not.toBe('True');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('when the plan id or symbol is garbage then nothing is released', () => {
    expect(reservationRelease(result({ plan_id: 'a b' }))).toBeNull();
    expect(reservationRelease(result({ executed: 'False', symbol: '' }))).toBeNull();
  });
});

describe('P3.3 reservations: property', () => {
  it('when any sequence of grants is made against one snapshot then their sum never exceeds the position', () => {
    let grants = 0;
    let secondGrants = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50_000_000 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 60_000_000 }), { nil: null }),
        fc.constantFrom('1', '0.001', '0.01', '0.1'),
        fc.array(fc.constantFrom('1', '0.75', '0.5'), { minLength: 1, maxLength: 30 }),
        (units, short, ledgerUnits, step, fractions) => {
          const amt = `${short ? '-' : ''}${units}e-3`;
          const position = d(amt);
          const whole = d(`${units}e-3`);
          const ledger =
            ledgerUnits === null
              ? ({ ok: true, value: null } as const)
              : parseLedger({ last_known_amt: `${short ? '-' : ''}${ledgerUnits}e-3`, updated_at: '0' });
          const hash: Record<string, string> = {};
          let sum: Dec = ZERO;
          fractions.forEach((fractionText, i) => {
            const r = evaluateChecks(
              input({
                snapshot: snap(amt),
                ledger,
                fractionText,
                stepSize: step,
                reservations: parseReservations(hash),
              }),
              { ...limits0, qtyTolerancePct: 100 },
            );
            if (!r.allow) return;
            grants++;
            if (i > 0) secondGrants++;
            const q = d(r.safeCloseQty);
            // What apply checks: never above the plan's fraction of the permit's exchange amount.
            expect(cmp(q, mul(whole, d(fractionText)))).toBeLessThanOrEqual(0);
            sum = add(sum, q);
            Object.assign(hash, held(`p${i}`, r.safeCloseQty, now));
          });
          expect(cmp(sum, whole)).toBeLessThanOrEqual(0);
          expect(cmp(sum, position.m < 0n ? whole : position)).toBeLessThanOrEqual(0);
        },
      ),
      { numRuns: 2000 },
    );
    // The generators reach the interesting path: grants on top of earlier reservations.
    expect(grants).toBeGreaterThan(2000);
    expect(secondGrants).toBeGreaterThan(1000);
  });
});
