/**
 * What the authorities (governor, P3.3) read from a plan stream entry, parsed at the boundary.
 * A field that fails to parse makes the whole entry garbage with a short snake_case reason:
 * garbage is acknowledged and counted, never granted.
 */

export type AuthorityPlan = {
  planId: string;
  symbol: string;
  action: string;
  decision: string;
  /** Always finite (NaN/inf kill scores are garbage: they would slip past a `>=` gate). */
  killScore: number;
};

export type PlanParse = { ok: true; plan: AuthorityPlan } | { ok: false; reason: string };

export const CLOSE_ACTIONS = ['FULL_CLOSE_PROPOSED', 'PARTIAL_75', 'PARTIAL_50'] as const;

const PLAN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SYMBOL = /^[A-Z0-9]{2,30}$/;
const WORD = /^[A-Z0-9_]{1,40}$/;
const PY_FLOAT = /^[+-]?(?:\d+(?:_\d+)*\.?(?:\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const PY_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** Python's float() on a string: blanks around allowed, `nan`/`inf` parse; otherwise null. */
export function parsePyFloat(raw: string | undefined): number | null {
  if (raw === undefined || raw.length > 100) return null;
  const s = raw.trim();
  if (PY_SPECIAL.test(s)) {
    const neg = s.startsWith('-');
    if (/nan/i.test(s)) return NaN;
    return neg ? -Infinity : Infinity;
  }
  if (!PY_FLOAT.test(s)) return null;
  return Number(s.replace(/_/g, ''));
}

/** Fraction of the position an action closes; non-close actions count as the full position. */
export function actionFraction(action: string): number {
  switch (action) {
    case 'PARTIAL_75':
      return 0.75;
    case 'PARTIAL_50':
      return 0.5;
    default:
      return 1;
  }
}

/** The same fraction as an exact decimal string (for quantity arithmetic without floats). */
export function actionFractionText(action: string): string {
  return action === 'PARTIAL_75' ? '0.75' : action === 'PARTIAL_50' ? '0.5' : '1';
}

export function isCloseAction(action: string): boolean {
  return (CLOSE_ACTIONS as readonly string[]).includes(action);
}

export function parseAuthorityPlan(fields: Record<string, string>): PlanParse {
  const planId = fields.plan_id;
  if (planId === undefined || planId === '') return { ok: false, reason: 'missing_plan_id' };
  if (!PLAN_ID.test(planId)) return { ok: false, reason: 'invalid_plan_id' };
  const symbol = fields.symbol;
  if (symbol === undefined || symbol === '') return { ok: false, reason: 'missing_symbol' };
  if (!SYMBOL.test(symbol)) return { ok: false, reason: 'invalid_symbol' };
  const decision = fields.decision;
  if (decision === undefined || decision === '') return { ok: false, reason: 'missing_decision' };
  if (!WORD.test(decision)) return { ok: false, reason: 'invalid_decision' };
  const action = fields.action ?? '';
  if (action !== '' && !WORD.test(action)) return { ok: false, reason: 'invalid_action' };
  const ks = parsePyFloat(fields.kill_score);
  if (ks === null) return { ok: false, reason: 'missing_kill_score' };
  if (!Number.isFinite(ks)) return { ok: false, reason: 'invalid_kill_score' };
  return { ok: true, plan: { planId, symbol, action, decision, killScore: ks } };
}
