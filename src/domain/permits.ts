/**
 * Permit bodies (CONTRACT.md "Permits") parsed and checked after an atomic consume. A permit set
 * authorises an order only when every check passes; any doubt is a refusal with a stable reason.
 */
import { floorToStep } from './decimal.js';
import type { Plan } from './plan.js';
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

export type BodyParse<T> =
  { ok: true; permit: T } | { ok: false; reason: string; detail: Record<string, unknown> };

export type PermitVerdict =
  | { ok: true; quantity: string; safeCloseQty: number; governor: GovernorPermit; p33: P33Allow }
  | { ok: false; error: string; detail: Record<string, unknown> };

type Obj = Record<string, PyJson>;

function parseObject(body: unknown): Obj | null {
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

function bad<T>(reason: string, field: string): BodyParse<T> {
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

/** The contract's checks, in its order; the first failure is the verdict. */
export function validatePermits(args: {
  plan: Plan;
  governorBody: string;
  p33Body: string;
  positionAmount: number;
  stepSize: string;
}): PermitVerdict {
  const { plan } = args;
  const refuse = (error: string, detail: Record<string, unknown> = {}): PermitVerdict => ({
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
  if (gov.permit.symbol !== plan.symbol || p33.permit.symbol !== plan.symbol) {
    return refuse('permit_symbol_mismatch', {
      governor_symbol: gov.permit.symbol,
      p33_symbol: p33.permit.symbol,
    });
  }
  const safe = p33.permit.safeCloseQty;
  if (safe === null || !Number.isFinite(safe) || safe <= 0) {
    return refuse('invalid_safe_close_qty', { safe_close_qty: String(safe) });
  }
  if (!Number.isFinite(args.positionAmount)) {
    return refuse('invalid_position_amount', { position_amount: String(args.positionAmount) });
  }
  // Exact: both are doubles, and double order equals the order of their decimal values.
  if (safe > Math.abs(args.positionAmount)) {
    return refuse('safe_qty_exceeds_position', {
      safe_close_qty: safe,
      position_amount: args.positionAmount,
    });
  }
  const quantity = floorToStep(safe, args.stepSize);
  if (quantity === null) return refuse('invalid_step_size', { step_size: args.stepSize });
  if (!/[1-9]/.test(quantity)) {
    return refuse('qty_below_step', { safe_close_qty: safe, step_size: args.stepSize });
  }
  return { ok: true, quantity, safeCloseQty: safe, governor: gov.permit, p33: p33.permit };
}
