/**
 * P3.3 sanity checks, in the contract's order, as pure functions over parsed Redis state, then
 * ours: the grant cooldown and, for closes, the quantity still free of reservations
 * (reservations.ts). Quantities stay decimal (../decimal.ts); the permit body gets plain JSON numbers.
 */
import { abs, cmp, parseDec, sign, toNumber, toText, type Dec } from '../decimal.js';
import { LEDGER_WRITER } from './ledger.js';
import {
  closeQty,
  closeShare,
  countingReservations,
  sumQty,
  type ReservationParse,
  type ReservationState,
} from './reservations.js';

export interface P33Limits {
  staleThresholdSec: number;
  qtyTolerancePct: number;
  cooldownSec: number;
}

export const DEFAULT_P33_LIMITS: P33Limits = Object.freeze({
  staleThresholdSec: 10,
  qtyTolerancePct: 1.0,
  cooldownSec: 15,
});

export const MIN_POSITION = 0.0001;
export const MIN_QTY_TOLERANCE = 0.001;

export type P33DenyReason =
  | 'no_exchange_snapshot'
  | 'stale_exchange_state'
  | 'no_position'
  | 'reconcile_required_side_mismatch'
  | 'reconcile_required_qty_mismatch'
  | 'cooldown_in_flight'
  | 'snapshot_invalid'
  | 'ledger_invalid'
  | 'symbol_rules_unavailable'
  | 'invalid_safe_close_qty'
  | 'reservations_invalid'
  | 'qty_reserved_in_flight'
  | 'evaluation_error';

export interface Snapshot {
  amount: Dec;
  /** Unix seconds the snapshot was taken. */
  tsEpoch: number;
  markPrice: number;
  source: string;
}

export interface Ledger {
  amount: Dec;
  /** Unix seconds of the last executed result applied (0: seeded, never executed). */
  updatedAt: number;
  /** Written by us (`written_by`); false: seeded by another P3.3, such as the fleet's. */
  ours: boolean;
}

export type Parsed<T> = { ok: true; value: T | null } | { ok: false; reason: P33DenyReason };

export function parseSnapshot(h: Record<string, string>): Parsed<Snapshot> {
  if (Object.keys(h).length === 0) return { ok: true, value: null };
  const amount = parseDec(h.position_amt);
  const ts = Number(h.ts_epoch);
  if (!amount || h.ts_epoch === undefined || h.ts_epoch.trim() === '' || !Number.isFinite(ts)) {
    return { ok: false, reason: 'snapshot_invalid' };
  }
  const mark = Number(h.mark_price);
  return {
    ok: true,
    value: { amount, tsEpoch: ts, markPrice: Number.isFinite(mark) ? mark : 0, source: h.source ?? '' },
  };
}

export function parseLedger(h: Record<string, string>): Parsed<Ledger> {
  if (Object.keys(h).length === 0) return { ok: true, value: null };
  const amount = parseDec(h.last_known_amt);
  const raw = h.updated_at ?? '0';
  const updatedAt = raw.trim() === '' ? 0 : Number(raw);
  if (!amount || !Number.isFinite(updatedAt)) return { ok: false, reason: 'ledger_invalid' };
  return { ok: true, value: { amount, updatedAt, ours: h.written_by === LEDGER_WRITER } };
}

/**
 * The fleet's P3.3 can leave its ledger at 0 under an open position: a ledger of 0 that no write
 * of ours touched, against a position, wants `quantum-apply ledger sync`, not a trade.
 */
export function inheritedZeroLedger(ledger: Ledger | null, exchangeAmt: Dec): boolean {
  return (
    ledger !== null && !ledger.ours && sign(ledger.amount) === 0 && toNumber(abs(exchangeAmt)) >= MIN_POSITION
  );
}

export function sideOf(amount: Dec): 'LONG' | 'SHORT' | 'NONE' {
  const s = sign(amount);
  return s > 0 ? 'LONG' : s < 0 ? 'SHORT' : 'NONE';
}

/** min(fraction × |amount|, |amount|) rounded down to the step; null when it cannot be computed. */
export function safeCloseQty(amount: Dec, fractionText: string, stepText: string): Dec | null {
  const fraction = parseDec(fractionText);
  const step = parseDec(stepText);
  if (!fraction || !step || sign(fraction) <= 0) return null;
  return closeShare(amount, fraction, step);
}

export interface CheckInput {
  snapshot: Parsed<Snapshot>;
  ledger: Parsed<Ledger>;
  nowSec: number;
  fractionText: string;
  /** The symbol's step size from exchangeInfo, or null when unavailable. */
  stepSize: string | null;
  /** The symbol's reservation hash, read before the ledger (see the service). */
  reservations: ReservationParse;
  /** A close (FULL_CLOSE_PROPOSED, PARTIAL_75, PARTIAL_50): granted from what is not reserved. */
  closeAction: boolean;
}

export type CheckResult =
  | {
      allow: true;
      safeCloseQty: string;
      exchangeAmt: number;
      ledgerAmt: number;
      /** What the reservations that counted held (decimal text; '0' for non-close actions). */
      reservedQty: string;
      /** The reservation state read, for the grant's compare-and-set. */
      reservationState: ReservationState;
    }
  | { allow: false; reason: P33DenyReason; context: Record<string, unknown> };

function deny(reason: P33DenyReason, context: Record<string, unknown> = {}): CheckResult {
  return { allow: false, reason, context };
}

export function evaluateChecks(input: CheckInput, limits: P33Limits): CheckResult {
  const snap = input.snapshot;
  if (!snap.ok) return deny(snap.reason);
  if (!snap.value) return deny('no_exchange_snapshot');
  const age = input.nowSec - snap.value.tsEpoch;
  // A snapshot from the future (clock skew, hand edit) is as untrustworthy as an old one.
  if (age > limits.staleThresholdSec || age < -limits.staleThresholdSec) {
    return deny('stale_exchange_state', { age_seconds: Math.round(age * 1000) / 1000 });
  }
  const exAmt = snap.value.amount;
  const exAbs = toNumber(abs(exAmt));
  if (exAbs < MIN_POSITION) return deny('no_position', { exchange_amt: toNumber(exAmt) });
  const led = input.ledger;
  if (!led.ok) return deny(led.reason);
  let ledgerAmt = 0;
  if (led.value) {
    const l = led.value;
    ledgerAmt = toNumber(l.amount);
    const exSide = sideOf(exAmt);
    const lSide = sideOf(l.amount);
    if (lSide !== 'NONE' && exSide !== lSide) {
      return deny('reconcile_required_side_mismatch', { exchange_side: exSide, ledger_side: lSide });
    }
    const diff = Math.abs(exAbs - Math.abs(ledgerAmt));
    const tolerance = Math.max(MIN_QTY_TOLERANCE, (exAbs * limits.qtyTolerancePct) / 100);
    if (diff > tolerance + 1e-12) {
      return deny('reconcile_required_qty_mismatch', {
        exchange_amt: toNumber(exAmt),
        ledger_amt: ledgerAmt,
        diff,
        tolerance,
        ...(inheritedZeroLedger(l, exAmt) ? { ledger_sync_needed: true } : {}),
      });
    }
    const since = input.nowSec - l.updatedAt;
    if (l.updatedAt > 0 && since < limits.cooldownSec) {
      return deny('cooldown_in_flight', {
        seconds_since_update: Math.round(since * 100) / 100,
        cooldown_sec: limits.cooldownSec,
      });
    }
  }
  const res = input.reservations;
  if (!res.ok) return deny(res.reason);
  // The cooldown runs from the grant itself: the fill it permits reaches the ledger later, and
  // the snapshot later still.
  const state = res.value;
  const grantedAt = state.grantedAt;
  if (grantedAt !== null && input.nowSec - grantedAt < limits.cooldownSec) {
    return deny('cooldown_in_flight', {
      seconds_since_grant: Math.round((input.nowSec - grantedAt) * 100) / 100,
      cooldown_sec: limits.cooldownSec,
    });
  }
  if (input.stepSize === null) return deny('symbol_rules_unavailable');
  const allow = (qty: Dec, reserved: string): CheckResult => ({
    allow: true,
    safeCloseQty: toText(qty),
    exchangeAmt: toNumber(exAmt),
    ledgerAmt,
    reservedQty: reserved,
    reservationState: state,
  });
  if (!input.closeAction) {
    // A stop move closes nothing and reserves nothing: its quantity is the whole position.
    const qty = safeCloseQty(exAmt, input.fractionText, input.stepSize);
    if (!qty || sign(qty) <= 0 || cmp(qty, abs(exAmt)) > 0) {
      return deny('invalid_safe_close_qty', { exchange_amt: toNumber(exAmt), step_size: input.stepSize });
    }
    return allow(qty, '0');
  }
  const reserved = sumQty(countingReservations(state, snap.value.tsEpoch));
  const q = closeQty(exAmt, reserved, input.fractionText, input.stepSize);
  if (!q.ok) {
    return q.reason === 'qty_reserved_in_flight'
      ? deny('qty_reserved_in_flight', { reserved: toNumber(q.reserved), base: toNumber(q.base) })
      : deny('invalid_safe_close_qty', { exchange_amt: toNumber(exAmt), step_size: input.stepSize });
  }
  return allow(q.qty, toText(reserved));
}
