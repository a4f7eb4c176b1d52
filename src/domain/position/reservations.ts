/**
 * P3.3 reservations: the close quantity P3.3 has permitted but not yet seen executed or lapsed,
 * per symbol (the hash `quantum:p33:reserved:<S>`). Pure rules: which reservations count, how
 * much a new close may be granted, which fields can go, how long the hash must live.
 *
 * Hash fields: `seq` (bumped by every close grant: the grant's compare-and-set token),
 * `granted_at` (unix seconds of the last close grant: the grant cooldown's start), one
 * `plan:<planId>` field per reservation, JSON {qty (decimal text), at, until (unix seconds)},
 * and `done:<planId>` (unix seconds) once the ledger follower has seen that plan's fill.
 *
 * A reservation counts against a snapshot that may not yet hold its fill: one read before the
 * fill was known (`done`), or before the permit could no longer cause one (`until`). The base is
 * the exchange amount alone, so a ledger that drifts (fills the exchange never shows) never
 * shrinks what is granted; a snapshot taken after `done` holds the fill itself.
 */
import { abs, add, cmp, floorToStep, min, mul, parseDec, sign, sub, ZERO, type Dec } from '../decimal.js';

/**
 * Seconds a reservation outlives its permit: the permit's last consume can still lead to a fill
 * shortly after Redis drops it, and the hosts stamping grants and snapshots keep their own clocks.
 */
export const RESERVATION_MARGIN_SEC = 5;

export const RESERVATION_FIELD_PREFIX = 'plan:';
/**
 * Seconds a done reservation goes on counting after the fill was seen: a snapshot stamped (the
 * start of its read, floored) more than this after `done` was read after the fill, whichever
 * P3.3 host's clock stamped either.
 */
export const DONE_MARGIN_SEC = 1;

/** `done:<planId>`: when the ledger follower saw the plan's fill (unix seconds). */
export const DONE_FIELD_PREFIX = 'done:';

export interface Reservation {
  /** The hash field (`plan:<planId>`). */
  field: string;
  qty: Dec;
  /** Unix seconds of the grant. */
  at: number;
  /** Unix seconds after which a snapshot already holds any fill the permit could cause. */
  until: number;
  /** Unix seconds the plan's fill was seen in a result (the fill happened before); absent: not yet. */
  done?: number;
}

export interface ReservationState {
  /** The compare-and-set token as stored ('' when the hash has none). */
  seq: string;
  /** Unix seconds of the last close grant; null: none. */
  grantedAt: number | null;
  reservations: Reservation[];
  /** `done:` fields whose reservation is gone (it lapsed before the fill was seen): to delete. */
  strayDone: string[];
}

export type ReservationParse =
  { ok: true; value: ReservationState } | { ok: false; reason: 'reservations_invalid' };

const SEQ = /^\d{1,15}$/;

function finiteSeconds(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Reservations nobody can read are a deny, never "nothing reserved". */
export function parseReservations(h: Record<string, string>): ReservationParse {
  const bad = { ok: false, reason: 'reservations_invalid' } as const;
  const seq = h.seq ?? '';
  if (seq !== '' && !SEQ.test(seq)) return bad;
  let grantedAt: number | null = null;
  if (h.granted_at !== undefined) {
    grantedAt = h.granted_at.trim() === '' ? null : Number(h.granted_at);
    if (grantedAt === null || !Number.isFinite(grantedAt)) return bad;
  }
  const done = new Map<string, number>();
  for (const [field, raw] of Object.entries(h)) {
    if (!field.startsWith(DONE_FIELD_PREFIX)) continue;
    const at = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(at)) return bad;
    done.set(field.slice(DONE_FIELD_PREFIX.length), at);
  }
  const reservations: Reservation[] = [];
  for (const [field, raw] of Object.entries(h)) {
    if (!field.startsWith(RESERVATION_FIELD_PREFIX)) continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch {
      return bad;
    }
    if (typeof o !== 'object' || o === null) return bad;
    const r = o as Record<string, unknown>;
    const qty = typeof r.qty === 'string' ? parseDec(r.qty) : null;
    const at = finiteSeconds(r.at);
    const until = finiteSeconds(r.until);
    if (!qty || sign(qty) < 0 || at === null || until === null) return bad;
    const seen = done.get(field.slice(RESERVATION_FIELD_PREFIX.length));
    reservations.push(seen === undefined ? { field, qty, at, until } : { field, qty, at, until, done: seen });
  }
  const held = new Set(reservations.map((r) => r.field.slice(RESERVATION_FIELD_PREFIX.length)));
  const strayDone = [...done.keys()].filter((id) => !held.has(id)).map(doneField);
  return { ok: true, value: { seq, grantedAt, reservations, strayDone } };
}

export function reservationField(planId: string): string {
  return `${RESERVATION_FIELD_PREFIX}${planId}`;
}

export function doneField(planId: string): string {
  return `${DONE_FIELD_PREFIX}${planId}`;
}

/** The field value of a new reservation (`qty`: decimal text, as the checks computed it). */
export function reservationValue(qtyText: string, atSec: number, untilSec: number): string {
  return JSON.stringify({ qty: qtyText, at: atSec, until: untilSec });
}

/** Until when a grant made at `atSec` with a permit living `permitTtlSec` can still cause a fill. */
export function reservationUntil(atSec: number, permitTtlSec: number): number {
  return atSec + permitTtlSec + RESERVATION_MARGIN_SEC;
}

/**
 * The reservations a snapshot taken at `snapshotTs` (when its read started) may not reflect:
 * its read began before the plan's fill was seen (`done`, plus the margin for other hosts'
 * clocks), or before the permit could no longer cause one (`until`). Reservations of orders
 * that were not placed are gone from the hash.
 */
export function countingReservations(state: ReservationState, snapshotTs: number): Reservation[] {
  return state.reservations.filter(
    (r) => snapshotTs <= (r.done === undefined ? r.until : Math.min(r.until, r.done + DONE_MARGIN_SEC)),
  );
}

export function sumQty(rs: readonly Reservation[]): Dec {
  return rs.reduce((s, r) => add(s, r.qty), ZERO);
}

/** min(fraction × |amount|, |amount|) rounded down to the step: what a close of `fraction` takes. */
export function closeShare(amount: Dec, fraction: Dec, step: Dec): Dec | null {
  const whole = abs(amount);
  return floorToStep(min(mul(whole, fraction), whole), step);
}

export type CloseQty =
  | { ok: true; qty: Dec; base: Dec; reserved: Dec }
  | { ok: false; reason: 'qty_reserved_in_flight' | 'invalid_safe_close_qty'; base: Dec; reserved: Dec };

/**
 * What one more close may be granted: base = |exchange|, available = base − reserved (what the
 * snapshot may still hold of closes already permitted), and min(fraction × available,
 * available) rounded DOWN to the step. Zero or less is a deny: `qty_reserved_in_flight` when
 * reservations took it, else `invalid_safe_close_qty`.
 */
export function closeQty(exchangeAmt: Dec, reserved: Dec, fractionText: string, stepText: string): CloseQty {
  const base = abs(exchangeAmt);
  const fraction = parseDec(fractionText);
  const step = parseDec(stepText);
  const held = sign(reserved) > 0;
  const deny = (reason: 'qty_reserved_in_flight' | 'invalid_safe_close_qty') =>
    ({ ok: false, reason, base, reserved }) as const;
  if (!fraction || !step || sign(fraction) <= 0 || sign(step) <= 0) return deny('invalid_safe_close_qty');
  const available = sub(base, reserved);
  if (sign(available) <= 0) return deny(held ? 'qty_reserved_in_flight' : 'invalid_safe_close_qty');
  const qty = closeShare(available, fraction, step);
  if (!qty || sign(qty) <= 0 || cmp(qty, available) > 0) {
    return deny(held ? 'qty_reserved_in_flight' : 'invalid_safe_close_qty');
  }
  return { ok: true, qty, base, reserved };
}

/**
 * Fields no evaluation can count any more at `nowSec`: any snapshot not yet stale then was read
 * after the moment the reservation stopped counting (its `done` mark + the margin, or its
 * `until`; the margin once more for the clocks of other hosts). A done reservation goes a stale
 * threshold after its fill was seen, so a hash holds little more than what is in flight.
 */
export function lapsedFields(state: ReservationState, nowSec: number, staleSec: number): string[] {
  const endsAt = (r: Reservation) =>
    r.done === undefined ? r.until : Math.min(r.until, r.done + DONE_MARGIN_SEC);
  const lapsed = state.reservations
    .filter((r) => nowSec > endsAt(r) + staleSec + RESERVATION_MARGIN_SEC)
    .flatMap((r) => {
      const planId = r.field.slice(RESERVATION_FIELD_PREFIX.length);
      return r.done === undefined ? [r.field] : [r.field, doneField(planId)];
    });
  return [...lapsed, ...state.strayDone];
}

/**
 * TTL of the hash after a grant: long enough that every reservation kept in it, and the grant
 * cooldown, end before the hash does (a lost hash would forget reservations still counting).
 */
export function reservationHashTtlSec(
  kept: readonly { until: number }[],
  grantedAt: number,
  nowSec: number,
  staleSec: number,
  cooldownSec: number,
): number {
  const last = Math.max(
    grantedAt + cooldownSec,
    ...kept.map((r) => r.until + staleSec + RESERVATION_MARGIN_SEC),
  );
  return Math.max(1, Math.ceil(last - nowSec) + RESERVATION_MARGIN_SEC);
}

/**
 * At least any TTL reservationHashTtlSec can give with these limits, and an hour: what a done
 * mark renews the hash to, so a mark never shortens a hash whose reservations or cooldown count.
 */
export function reservationHashTtlCapSec(
  permitTtlSec: number,
  staleSec: number,
  cooldownSec: number,
): number {
  return Math.max(3600, Math.ceil(cooldownSec + permitTtlSec + staleSec) + 4 * RESERVATION_MARGIN_SEC);
}
