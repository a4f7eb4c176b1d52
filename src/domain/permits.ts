/**
 * Permit bodies (PROTOCOL.md "Permits") parsed and checked after an atomic consume. A permit set
 * authorises an order only when every check passes; any doubt is a refusal with a stable reason.
 */
import { actionFractionText, type Plan } from './plan.js';
import { abs, cmp, min, mul, parseDec, quantityAtStep, sign, toText, type Dec } from './decimal.js';
import { parsePyFloat } from './pyfloat.js';
import { pyJsonParse, type PyJson } from './pyjson.js';

export const MAX_PERMIT_BODY_CHARS = 16_384;

export interface GovernorPermit {
  granted: boolean;
  symbol: string;
  decision: string | null;
  computedQty: number | null;
  computedNotional: number | null;
  createdAt: number | null;
  consumed: boolean | null;
}

export interface P33Allow {
  allow: true;
  symbol: string;
  /** Finite and > 0 once validatePermits accepted it; as parsed (maybe NaN) before. */
  safeCloseQty: number | null;
  exchangePositionAmt: number | null;
  ledgerAmt: number | null;
  createdAt: number | null;
  reason: string | null;
}

export interface P33Deny {
  allow: false;
  symbol: string;
  reason: string;
  context: PyJson;
  createdAt: number | null;
}

export type P33Permit = P33Allow | P33Deny;

/**
 * Every refusal validatePermits can return, in its order (a closed set: it becomes the result
 * entry's `error`; PROTOCOL.md lists each, and a test holds the two together).
 */
export const PERMIT_REFUSALS = [
  'plan_not_execute',
  'invalid_governor_permit_format',
  'governor_permit_not_granted',
  'governor_permit_not_execute',
  'governor_permit_already_consumed',
  'invalid_p33_permit_format',
  'p33_permit_denied',
  'permit_symbol_mismatch',
  'invalid_safe_close_qty',
  'permit_qty_exceeds_plan',
  'invalid_position_amount',
  'safe_qty_exceeds_position',
  'invalid_step_size',
  'qty_below_step',
] as const;
export type PermitRefusal = (typeof PERMIT_REFUSALS)[number];
/** The two refusals a body that does not parse gets (parseGovernorPermit, parseP33Permit). */
type PermitFormatReason = 'invalid_governor_permit_format' | 'invalid_p33_permit_format';

export type BodyParse<T> =
  { ok: true; permit: T } | { ok: false; reason: PermitFormatReason; detail: Record<string, unknown> };

/**
 * `quantity`: what the order may carry, on the step grid; null when the position is flat or
 * unknown (nothing to size against: the caller skips or refuses). `planShare`: the plan's own
 * share of the position (null for a stop), so logs can say which bound decided.
 */
export type PermitVerdict =
  | {
      ok: true;
      quantity: string | null;
      safeCloseQty: number;
      planShare: string | null;
      governor: GovernorPermit;
      p33: P33Allow;
    }
  | { ok: false; error: string; detail: Record<string, unknown> };

/**
 * Slack when comparing a permit's quantity with the plan's share of P3.3's own position: an
 * authority in Python rounds with floats (`floor(q / step) * step`), which can land an ulp above
 * the exact decimal. A real mismatch (another action's share) is larger by whole steps.
 */
const SHARE_SLACK = { m: 1_000_000_001n, scale: 9 } as const satisfies Dec;

type Obj = Record<string, PyJson>;

/** A JSON object of at most MAX_PERMIT_BODY_CHARS, parsed as Python's json reads it; else null. */
export function parseObject(body: unknown): Obj | null {
  if (typeof body !== 'string' || body.length > MAX_PERMIT_BODY_CHARS) return null;
  const parsed = pyJsonParse(body);
  const v = parsed?.value;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
}

const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Informational numbers: a JSON number, a Python-float string, or null when absent/other. */
function optNumber(o: Obj, k: string): number | null {
  const v = o[k];
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parsePyFloat(v);
  return null;
}

function optString(o: Obj, k: string): string | null {
  const v = o[k];
  return typeof v === 'string' ? v : null;
}

function bad<T>(reason: PermitFormatReason, field: string): BodyParse<T> {
  return { ok: false, reason, detail: { field } };
}

/** Governor body: `granted` (boolean) and `symbol` (string) required; other fields tolerated. */
export function parseGovernorPermit(body: string): BodyParse<GovernorPermit> {
  const reason = 'invalid_governor_permit_format';
  const o = parseObject(body);
  if (!o) return bad(reason, 'body');
  if (typeof o.granted !== 'boolean') return bad(reason, 'granted');
  if (typeof o.symbol !== 'string') return bad(reason, 'symbol');
  if (has(o, 'decision') && o.decision !== null && typeof o.decision !== 'string')
    return bad(reason, 'decision');
  if (has(o, 'consumed') && o.consumed !== null && typeof o.consumed !== 'boolean')
    return bad(reason, 'consumed');
  return {
    ok: true,
    permit: {
      granted: o.granted,
      symbol: o.symbol,
      decision: optString(o, 'decision'),
      computedQty: optNumber(o, 'computed_qty'),
      computedNotional: optNumber(o, 'computed_notional'),
      createdAt: optNumber(o, 'created_at'),
      consumed: typeof o.consumed === 'boolean' ? o.consumed : null,
    },
  };
}

/**
 * P3.3 body: `allow` (boolean) and `symbol` (string) required. An allow's `safe_close_qty` may
 * be a number or a Python-float string (the seed read it with float()); its validity is judged
 * by validatePermits so that the contract's `invalid_safe_close_qty` text is kept.
 */
export function parseP33Permit(body: string): BodyParse<P33Permit> {
  const reason = 'invalid_p33_permit_format';
  const o = parseObject(body);
  if (!o) return bad(reason, 'body');
  if (typeof o.allow !== 'boolean') return bad(reason, 'allow');
  if (typeof o.symbol !== 'string') return bad(reason, 'symbol');
  const createdAt = optNumber(o, 'created_at');
  if (!o.allow) {
    return {
      ok: true,
      permit: {
        allow: false,
        symbol: o.symbol,
        reason: optString(o, 'reason') ?? 'unknown',
        context: o.context ?? null,
        createdAt,
      },
    };
  }
  return {
    ok: true,
    permit: {
      allow: true,
      symbol: o.symbol,
      safeCloseQty: optNumber(o, 'safe_close_qty'),
      exchangePositionAmt: optNumber(o, 'exchange_position_amt'),
      ledgerAmt: optNumber(o, 'ledger_amt'),
      createdAt,
      reason: optString(o, 'reason'),
    },
  };
}

/**
 * The contract's checks, in its order; the first failure is the verdict. Then the quantity: the
 * smaller of P3.3's `safe_close_qty` and the plan's own share of `position` (the amount read
 * once the permits are in), rounded down to the step; so no permit, snapshot or ledger can make a
 * close larger than its plan. A `safe_close_qty` above the whole position is a disagreement
 * between the authority and the exchange: refused, never clamped.
 */
export function validatePermits(args: {
  plan: Plan;
  governorBody: string;
  p33Body: string;
  /** The position as read once the permits are in (decimal text, signed); null: not known here. */
  position: string | null;
  stepSize: string;
}): PermitVerdict {
  const { plan } = args;
  const refuse = (error: PermitRefusal, detail: Record<string, unknown> = {}): PermitVerdict => ({
    ok: false,
    error,
    detail: { plan_id: plan.planId, symbol: plan.symbol, ...detail },
  });
  // Only an EXECUTE plan can be authorised, whatever the permits say.
  if (plan.decision !== 'EXECUTE') return refuse('plan_not_execute', { decision: plan.decision });
  const gov = parseGovernorPermit(args.governorBody);
  if (!gov.ok) return refuse(gov.reason, gov.detail);
  if (gov.permit.granted !== true) return refuse('governor_permit_not_granted');
  if (gov.permit.decision !== null && gov.permit.decision !== 'EXECUTE') {
    return refuse('governor_permit_not_execute', { decision: gov.permit.decision });
  }
  if (gov.permit.consumed === true) return refuse('governor_permit_already_consumed');
  const p33 = parseP33Permit(args.p33Body);
  if (!p33.ok) return refuse(p33.reason, p33.detail);
  if (!p33.permit.allow) {
    return refuse('p33_permit_denied', { reason: p33.permit.reason, context: p33.permit.context });
  }
  const allow = p33.permit;
  if (gov.permit.symbol !== plan.symbol || allow.symbol !== plan.symbol) {
    return refuse('permit_symbol_mismatch', {
      governor_symbol: gov.permit.symbol,
      p33_symbol: allow.symbol,
    });
  }
  const safeNumber = allow.safeCloseQty;
  const safe = safeNumber !== null && Number.isFinite(safeNumber) ? parseDec(String(safeNumber)) : null;
  if (safeNumber === null || safe === null || sign(safe) <= 0) {
    return refuse('invalid_safe_close_qty', { safe_close_qty: String(safeNumber) });
  }
  const fraction = actionFractionText(plan.action);
  const share = (amount: Dec) => mul(abs(amount), parseDec(fraction ?? '1')!);
  if (fraction !== null) {
    // The permit must have been computed for this plan: within the plan's share of the
    // position P3.3 itself saw. A larger one was granted for another plan (a forged plan entry
    // with this id and a larger action) or by a faulty authority.
    const seen = allow.exchangePositionAmt;
    const seenDec = seen !== null && Number.isFinite(seen) ? parseDec(String(seen)) : null;
    if (seenDec === null) return refuse('invalid_p33_permit_format', { field: 'exchange_position_amt' });
    if (cmp(safe, mul(share(seenDec), SHARE_SLACK)) > 0) {
      return refuse('permit_qty_exceeds_plan', {
        safe_close_qty: safeNumber,
        exchange_position_amt: seen,
        action: plan.action,
      });
    }
  }
  const ok = (quantity: string | null, planShare: string | null): PermitVerdict => ({
    ok: true,
    quantity,
    safeCloseQty: safeNumber,
    planShare,
    governor: gov.permit,
    p33: allow,
  });
  if (args.position === null) return ok(null, null);
  const live = parseDec(args.position);
  if (live === null)
    return refuse('invalid_position_amount', { position_amount: args.position.slice(0, 40) });
  if (sign(live) === 0) return ok(null, null);
  if (cmp(safe, abs(live)) > 0) {
    return refuse('safe_qty_exceeds_position', {
      safe_close_qty: safeNumber,
      position_amount: args.position,
    });
  }
  const planShare = fraction === null ? null : share(live);
  const quantity = quantityAtStep(toText(planShare === null ? safe : min(safe, planShare)), args.stepSize);
  if (quantity === null) return refuse('invalid_step_size', { step_size: args.stepSize });
  if (!/[1-9]/.test(quantity)) {
    return refuse('qty_below_step', {
      safe_close_qty: safeNumber,
      plan_share: planShare === null ? null : toText(planShare),
      step_size: args.stepSize,
    });
  }
  return ok(quantity, planShare === null ? null : toText(planShare));
}
