/**
 * Pure: the one closing line of `explain`, saying why a plan ended where it did. Reads the result
 * entry first (the apply layer's own word), then whatever else is left in Redis to say why.
 */
import type { PyJson } from '../domain/pyjson.js';
import { parseArmState } from '../services/arm-state.js';
import type { Facts } from './facts.js';
import type { PlanTrace } from './trace.js';

export const VERDICT_KINDS = [
  'EXECUTED',
  'DRY_RUN',
  'CANARY',
  'BLOCKED',
  'SKIP',
  'ERROR',
  'IN_FLIGHT',
  'NOT_PUBLISHED',
  'INCOMPLETE',
  'UNKNOWN',
] as const;
export type VerdictKind = (typeof VERDICT_KINDS)[number];

export interface Verdict {
  kind: VerdictKind;
  /** `KIND: why`, one line. */
  line: string;
  /** The stable snake_case reason behind it, when there is one. */
  reason: string | null;
}

export interface VerdictContext {
  permitWaitMs: number;
  mode: string;
}

/** A plan this long without a result is no longer merely "in flight". */
export const STALLED_AFTER_MS = 60_000;

const verdict = (kind: VerdictKind, why: string, reason: string | null = null): Verdict => ({
  kind,
  line: `${kind.replace('_', ' ')}: ${why}`,
  reason,
});

const text = (v: PyJson | undefined): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

export function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

export function isoSec(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function executed(f: Facts): Verdict {
  const s = f.result!.steps[0] ?? {};
  const sym = f.symbol ?? '?';
  if (text(s.step) === 'UPDATE_SL') {
    return verdict(
      'EXECUTED',
      `stop-loss placed for ${sym} (${text(s.side) || '?'}), algo order ${text(s.order_id) || '?'}`,
    );
  }
  const qty = text(s.quantity) || text(s.executed_qty) || '?';
  const ro = s.reduce_only === true ? ' reduceOnly' : '';
  return verdict(
    'EXECUTED',
    `${text(s.side) || '?'} ${qty} ${sym}${ro}, order ${text(s.order_id) || '?'}, filled ${text(s.executed_qty) || '?'}`,
  );
}

/** Why each missing permit is missing, and which permits still sit unconsumed. */
function permitStory(f: Facts, t: PlanTrace, missing: string, named: string | null): string[] {
  const out: string[] = [];
  const absent = (name: string) =>
    missing === 'missing_both' || missing === 'missing_all' || missing.includes(name);
  if (absent('governor')) {
    if (f.governorBlock) out.push(`the governor blocked it: ${f.governorBlock.reason}`);
    // The record is gone (expired, deleted) but apply read it when it published the result.
    else if (named !== null) out.push(`the governor blocked it: ${named}`);
    else if (!f.governorPermit && t.governorDecided.value !== null)
      out.push(`governor decided ${t.governorDecided.value} but its permit is gone (expired unused?)`);
    else if (!f.governorPermit) out.push('no governor decision found: governor down or behind?');
  }
  if (absent('p33')) {
    if (!f.p33Permit && t.p33Decided.value !== null)
      out.push(`P3.3 decided ${t.p33Decided.value} but its permit is gone (expired unused?)`);
    else if (!f.p33Permit)
      out.push('no P3.3 decision found: P3.3 down or behind, or symbol not in P33_ALLOWLIST?');
  }
  const live = (name: string, p: { ttlMs: number } | null, late: boolean) => {
    if (!p) return;
    const ttl = p.ttlMs >= 0 ? ` for ${seconds(p.ttlMs)}` : '';
    out.push(`${name} permit ${late ? 'arrived late, ' : ''}still live${ttl}`);
  };
  live('governor', f.governorPermit, absent('governor'));
  live('P3.3', f.p33Permit, absent('p33'));
  return out;
}

/** Permit-chain failures that are not a missing permit. */
const CHAIN_FAILURES: Record<string, string> = {
  consumed_elsewhere: "another apply attempt consumed this plan's permits; look for its order",
  consume_outcome_unknown: 'the permit consume could not be confirmed (Redis errors); no order was sent',
  aborted: 'the permit wait was cut short (apply stopping); no order was sent',
};

/** The consumed bodies' deciding fields: `governor granted=true symbol=X, P3.3 allow=true ...`. */
function consumedSummary(f: Facts): string {
  const pick = (body: string | undefined, keys: string[]) => {
    if (body === undefined) return null;
    try {
      const o = JSON.parse(body) as Record<string, unknown>;
      return keys
        .filter((k) => k in o)
        .map((k) => `${k}=${String(o[k])}`)
        .join(' ');
    } catch {
      return 'unreadable';
    }
  };
  const gov = pick(f.consumed?.bodies.governor, ['granted', 'symbol']);
  const p33 = pick(f.consumed?.bodies.p33, ['allow', 'symbol', 'safe_close_qty', 'exchange_position_amt']);
  return [gov !== null && `governor ${gov}`, p33 !== null && `P3.3 ${p33}`].filter(Boolean).join(', ');
}

function blocked(f: Facts, t: PlanTrace, ctx: VerdictContext): Verdict {
  const r = f.result!;
  const error = r.error || f.plan?.reasons.join(',') || 'unknown';
  if (error.startsWith('permit_timeout_or_missing:')) {
    // `missing_governor:daily_limit_exceeded`: the wait's reason, then the governor's block reason.
    const rest = error.slice('permit_timeout_or_missing:'.length);
    const cut = rest.indexOf(':');
    const missing = cut < 0 ? rest : rest.slice(0, cut);
    const named = cut < 0 ? null : rest.slice(cut + 1);
    const special = CHAIN_FAILURES[missing];
    if (special) return verdict('BLOCKED', `${special} (${missing})`, missing);
    const story = [missing, ...permitStory(f, t, missing, named)].join('; ');
    return verdict('BLOCKED', `permits missing after ${ctx.permitWaitMs} ms (${story})`, missing);
  }
  if (error === 'p33_permit_denied') {
    const deny = f.consumed?.bodies.p33;
    let why = 'reason unknown: consume receipt expired';
    if (deny) {
      try {
        why = String((JSON.parse(deny) as Record<string, unknown>).reason ?? 'no reason given');
      } catch {
        why = 'unreadable deny body';
      }
    }
    return verdict('BLOCKED', `P3.3 denied (${why})`, error);
  }
  if (error.split(',').includes('kill_switch_active')) {
    const arm = parseArmState(t.armState);
    const now = arm.armed ? 'armed again now' : `disarmed now by ${arm.by || '?'}: ${arm.reason}`;
    return verdict(
      'BLOCKED',
      `kill switch / disarmed when it ran (kill_switch_active; ${now})`,
      'kill_switch_active',
    );
  }
  if (f.plan && f.plan.decision === 'BLOCKED') {
    const score = f.plan.entry.fields.kill_score;
    return verdict(
      'BLOCKED',
      `apply decided BLOCKED (${error}${score ? `, kill_score ${score}` : ''})`,
      error,
    );
  }
  const consumed = consumedSummary(f);
  return verdict(
    'BLOCKED',
    `${error} (permits consumed, order refused${consumed ? `; ${consumed}` : ''})`,
    error,
  );
}

function skipped(f: Facts, t: PlanTrace): Verdict {
  const r = f.result!;
  const reasons = f.plan?.reasons ?? [];
  if (reasons.includes('duplicate_plan') || r.error.split(',').includes('duplicate_plan')) {
    const at = Number(t.dedupe.value);
    const when =
      t.dedupe.value !== null && Number.isFinite(at)
        ? `dedupe key set at ${isoSec(at * 1000)}`
        : 'dedupe key since expired';
    return verdict('SKIP', `duplicate of an earlier plan (${when})`, 'duplicate_plan');
  }
  if (r.error === 'no_position')
    return verdict('SKIP', 'permits consumed but the position was flat (no_position)', 'no_position');
  if (r.error === 'already_executed') {
    const s = r.steps[0] ?? {};
    return verdict(
      'SKIP',
      `already on the exchange: ${text(s.details) || 'its client order id was found'} (an earlier run sent it; its Redis records are gone)`,
      'already_executed',
    );
  }
  const why = r.error || reasons.join(',') || 'no reason recorded';
  return verdict('SKIP', why, why);
}

function errored(f: Facts, t: PlanTrace): Verdict {
  const e = f.result!.error || 'unknown';
  if (e === 'order_status_unknown') {
    const i = t.intent;
    if (i.resolved_by === 'reconciler') {
      const what =
        i.state === 'filled'
          ? `filled ${i.executed_qty ?? '?'} (order ${i.order_id ?? '?'})`
          : i.state === 'placed'
            ? `placed (stop ${i.algo_id ?? '?'})`
            : `not filled (${i.reason ?? i.state ?? '?'})`;
      return verdict(
        'ERROR',
        `order status was unknown; the reconciler found it ${what} (client id ${i.client_order_id ?? '?'}); never resent`,
        e,
      );
    }
    return verdict(
      'ERROR',
      `order status unknown (intent state=${i.state ?? '?'}, client id ${i.client_order_id ?? '?'}): check the exchange; apply never resends`,
      e,
    );
  }
  return verdict('ERROR', e, e);
}

/** A canary's entry (PROTOCOL.md "Canary plans"): whether the chain passed; never an order. */
function canary(f: Facts): Verdict {
  const e = f.result!.entry.fields;
  const by = `; handled by apply ${handledByText(e.handled_by)}`;
  if (e.refused === 'True')
    return verdict(
      'CANARY',
      `request refused (${e.error || '?'})${by}; nothing published, no order`,
      e.error || null,
    );
  if (e.passed !== 'True')
    return verdict('CANARY', `failed the permit chain (${e.error || '?'})${by}; no order`, e.error || null);
  let qty = '?';
  try {
    const r = JSON.parse(e.report ?? '{}') as { p33?: { safe_close_qty?: unknown } };
    qty = String(r.p33?.safe_close_qty ?? '?');
  } catch {
    // the line says '?'
  }
  return verdict(
    'CANARY',
    `passed the permit chain: permits consumed atomically after ${e.wait_ms ?? '?'} ms, P3.3 would have permitted ${qty}${by}; no order (a canary never orders)`,
  );
}

export function verdictOf(f: Facts, t: PlanTrace, ctx: VerdictContext): Verdict {
  const r = f.result;
  if (r?.decision === 'CANARY') return canary(f);
  if (r) {
    if (r.executed) return executed(f);
    if (r.decision === 'EXECUTE' && r.wouldExecute) {
      const s = r.steps[0] ?? {};
      return verdict(
        'DRY_RUN',
        `${text(s.details) || 'would send an order'} (no order sent; mode was dry_run)`,
      );
    }
    if (r.decision === 'BLOCKED') return blocked(f, t, ctx);
    if (r.decision === 'SKIP') return skipped(f, t);
    return errored(f, t);
  }
  if (f.plan) {
    const age = f.plan.atMs === null ? null : t.readAtMs - f.plan.atMs;
    const intent = t.intent.state ? `; order intent state=${t.intent.state}` : '';
    if (age !== null && age > STALLED_AFTER_MS) {
      return verdict(
        'IN_FLIGHT',
        `plan published ${seconds(age)} ago, no result yet${intent}: apply stopped mid-plan? (it recovers from the intent on restart)`,
      );
    }
    return verdict(
      'IN_FLIGHT',
      `plan published${age === null ? '' : ` ${seconds(age)} ago`}, no result yet${intent}`,
    );
  }
  if (t.resultPublished.value !== null) {
    return verdict(
      'INCOMPLETE',
      'a result was published (marker set) but its entry has left the capped result stream',
    );
  }
  const leftovers = [
    t.dedupe.value !== null && 'dedupe key',
    f.governorPermit && 'governor permit',
    f.p33Permit && 'P3.3 permit',
    f.governorBlock && 'governor block record',
    f.consumed && 'consume receipt',
    Object.keys(t.intent).length > 0 && 'order intent',
    t.decisions.length > 0 && 'governor decisions',
    t.events.length > 0 && 'governor events',
  ].filter((x): x is string => typeof x === 'string');
  if (leftovers.length > 0) {
    return verdict(
      'INCOMPLETE',
      `found ${leftovers.join(', ')} but neither a plan nor a result entry (trimmed from the capped streams?)`,
    );
  }
  if (f.proposal?.currentPlanId === f.planId) {
    return verdict(
      'NOT_PUBLISHED',
      `the current ${f.proposal.symbol} proposal yields this plan id but apply has not published it (apply down, or symbol not in SYMBOLS?)`,
    );
  }
  return verdict('UNKNOWN', 'no trace of this plan id in Redis (streams are capped near 10,000 entries)');
}

/** `handled_by` of a canary entry ({instance, host, pid}) as one line; `local` when absent (older entries). */
export function handledByText(text: string | undefined): string {
  try {
    const h = JSON.parse(text ?? '') as { instance?: unknown; host?: unknown; pid?: unknown };
    if (h && typeof h === 'object' && typeof h.instance === 'string')
      return `${h.instance} (host ${String(h.host)}, pid ${String(h.pid)})`;
  } catch {
    // below
  }
  return 'the canary command (no record of a handler)';
}
