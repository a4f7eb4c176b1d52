/**
 * Pure: the facts of one plan as timeline events (time, source, what, key=value details).
 * Bodies are summarised as key=value, never printed as JSON.
 */
import {
  parseGovernorPermit,
  parseP33Permit,
  type GovernorPermit,
  type P33Permit,
} from '../domain/permits.js';
import { pyJsonParse, type PyJson } from '../domain/pyjson.js';
import { parseBody, secToMs, type Facts, type Parsed } from './facts.js';
import type { PlanTrace } from './trace.js';
import { handledByText, seconds } from './verdict.js';

export type Source = 'proposal' | 'apply' | 'governor' | 'p33' | 'consume' | 'order' | 'result' | 'event';

export interface TimelineEvent {
  /** Unix ms; null when nothing in Redis dates it. */
  atMs: number | null;
  /** The time is derived (e.g. from a TTL) or only to the second. */
  approx: boolean;
  source: Source;
  what: string;
  details: Record<string, string>;
}

const ttl = (ms: number) => (ms === -1 ? 'no expiry' : ms >= 0 ? seconds(ms) : 'gone');

const str = (v: PyJson | undefined | null) =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

function governorDetails(b: Parsed<GovernorPermit>): Record<string, string> {
  if (!b.ok) return { body: `unreadable (${b.reason})` };
  const p = b.value;
  return {
    granted: String(p.granted),
    symbol: p.symbol,
    qty: p.computedQty === null ? '?' : String(p.computedQty),
    notional: p.computedNotional === null ? '?' : String(p.computedNotional),
  };
}

function p33Details(b: Parsed<P33Permit>): Record<string, string> {
  if (!b.ok) return { body: `unreadable (${b.reason})` };
  const p = b.value;
  if (!p.allow) return { allow: 'false', reason: p.reason, context: summarise(p.context) };
  return {
    allow: 'true',
    safe_close_qty: String(p.safeCloseQty),
    exchange_amt: String(p.exchangePositionAmt),
    ledger_amt: String(p.ledgerAmt),
  };
}

/** A JSON value as `k=v k=v` (one level deep), never a wall of JSON. */
export function summarise(v: PyJson | undefined): string {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map((x) => summarise(x)).join(',');
  const parts = Object.entries(v).map(
    ([k, x]) => `${k}=${x !== null && typeof x === 'object' ? '{…}' : String(x)}`,
  );
  return parts.join(' ') || '-';
}

function stepsText(raw: string | undefined): string {
  try {
    const steps = JSON.parse(raw ?? '[]') as Record<string, PyJson>[];
    if (!Array.isArray(steps) || steps.length === 0) return '-';
    return steps
      .map(
        (s) =>
          `${str(s.step)}${s.pct !== undefined ? ` ${str(s.pct)}%` : ''}${s.price !== undefined ? ` @${str(s.price)}` : ''}`,
      )
      .join(',');
  } catch {
    return 'unreadable';
  }
}

function authorityEvents(f: Facts, t: PlanTrace): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const gp = f.governorPermit;
  if (gp) {
    const at = gp.body.ok ? secToMs(gp.body.value.createdAt) : null;
    out.push({
      atMs: at,
      approx: false,
      source: 'governor',
      what: 'permit granted, NOT consumed (still in Redis)',
      details: { ...governorDetails(gp.body), ttl: ttl(gp.ttlMs) },
    });
  }
  if (f.governorBlock) {
    out.push({
      atMs: f.governorBlock.atMs,
      approx: false,
      source: 'governor',
      what: `BLOCKED the plan: ${f.governorBlock.reason}`,
      details: { record_ttl: ttl(f.governorBlock.ttlMs) },
    });
  }
  const pp = f.p33Permit;
  if (pp) {
    const at = pp.body.ok ? secToMs(pp.body.value.createdAt) : null;
    const verb = pp.body.ok ? (pp.body.value.allow ? 'ALLOW' : 'DENY') : 'permit';
    out.push({
      atMs: at,
      approx: false,
      source: 'p33',
      what: `${verb}, NOT consumed (still in Redis)`,
      details: { ...p33Details(pp.body), ttl: ttl(pp.ttlMs) },
    });
  }
  for (const e of t.decisions) {
    const reason = e.fields.reason ?? '';
    out.push({
      atMs: Number(e.id.split('-')[0]),
      approx: false,
      source: 'governor',
      what: `decision ${e.fields.decision ?? '?'}${reason ? `: ${reason}` : ''}`,
      details: {},
    });
  }
  for (const e of t.events) {
    let ctx: PyJson = null;
    try {
      ctx = JSON.parse(e.fields.context ?? 'null') as PyJson;
    } catch {
      ctx = e.fields.context ?? null;
    }
    if (ctx && typeof ctx === 'object' && !Array.isArray(ctx)) {
      const { plan_id: _p, symbol: _s, ...rest } = ctx;
      ctx = rest;
    }
    out.push({
      atMs: Number(e.id.split('-')[0]),
      approx: false,
      source: 'event',
      what: `governor event ${e.fields.event ?? '?'}: ${e.fields.reason ?? ''}`.trim(),
      details: { action_taken: e.fields.action_taken ?? '', context: summarise(ctx) },
    });
  }
  return out;
}

function consumeEvents(f: Facts): TimelineEvent[] {
  const c = f.consumed;
  if (!c) return [];
  const out: TimelineEvent[] = [];
  const gov = c.bodies.governor;
  const p33 = c.bodies.p33;
  if (gov !== undefined) {
    const b = parseBody(gov, parseGovernorPermit);
    out.push({
      atMs: b.ok ? secToMs(b.value.createdAt) : null,
      approx: false,
      source: 'governor',
      what: 'permit granted (consumed later)',
      details: governorDetails(b),
    });
  }
  if (p33 !== undefined) {
    const b = parseBody(p33, parseP33Permit);
    const verb = b.ok
      ? b.value.allow
        ? 'ALLOW (consumed later)'
        : 'DENY (consumed later)'
      : 'permit (consumed later)';
    out.push({
      atMs: b.ok ? secToMs(b.value.createdAt) : null,
      approx: false,
      source: 'p33',
      what: verb,
      details: p33Details(b),
    });
  }
  out.push({
    atMs: c.atMs,
    approx: true,
    source: 'consume',
    what: `permits consumed atomically (${Object.keys(c.bodies).join(' + ') || 'no bodies'})`,
    details: { receipt_ttl: ttl(c.ttlMs) },
  });
  return out;
}

function orderEvents(t: PlanTrace): TimelineEvent[] {
  const i = t.intent;
  if (Object.keys(i).length === 0) return [];
  const kind = i.kind === 'stop' ? ` STOP trigger ${i.trigger_price ?? '?'}` : ' MARKET reduceOnly';
  const order = `${i.side ?? '?'} ${i.quantity ?? '?'} ${i.symbol ?? '?'}${kind}`;
  const state = i.state ?? '?';
  const out: TimelineEvent[] = [
    {
      atMs: num(i.at),
      approx: false,
      source: 'order',
      what: `order intent written: ${order}`,
      details: { client_order_id: i.client_order_id ?? '?', step: i.step ?? '?', state },
    },
  ];
  // "sending" with no update: the request left (or was about to) and no answer was recorded.
  if (state === 'sending' && i.updated_at === undefined) return out;
  const outcome: Record<string, string> = {};
  for (const f of ['order_id', 'algo_id', 'executed_qty', 'reason'] as const) if (i[f]) outcome[f] = i[f];
  const answeredAt = num(i.updated_at);
  out.push({
    atMs: answeredAt ?? num(i.at),
    approx: answeredAt === null,
    source: 'order',
    what: state === 'cancelled' ? 'order NOT sent: cancelled before sending' : `exchange answered: ${state}`,
    details: outcome,
  });
  return out;
}

const num = (s: string | undefined): number | null =>
  s !== undefined && s !== '' && Number.isFinite(Number(s)) ? Number(s) : null;

/** `CLOSE_FULL success SELL 0.375 filled 0.375 order 123`; the free-text details only without an order. */
export function stepResultsText(raw: string | undefined): string {
  const parsed = pyJsonParse(raw ?? '[]')?.value;
  if (!Array.isArray(parsed)) return 'unreadable';
  const one = (v: PyJson) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return summarise(v);
    const parts = [str(v.step) || '?', str(v.status) || '?'];
    if (v.side !== undefined)
      parts.push(`${str(v.side)}${v.quantity !== undefined ? ` ${str(v.quantity)}` : ''}`);
    if (v.executed_qty !== undefined) parts.push(`filled ${str(v.executed_qty)}`);
    if (v.order_id !== undefined) parts.push(`order ${str(v.order_id)}`);
    else if (v.details !== undefined) parts.push(`(${str(v.details)})`);
    return parts.join(' ');
  };
  return parsed.map(one).join(' | ') || '-';
}

export function timelineOf(f: Facts, t: PlanTrace): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const p = f.proposal;
  if (p?.present) {
    const same = p.currentPlanId === f.planId;
    out.push({
      atMs: p.atMs,
      approx: false,
      source: 'proposal',
      what: same
        ? 'current proposal yields this plan id'
        : p.currentPlanId
          ? `current proposal has moved on (now yields ${p.currentPlanId})`
          : `current proposal yields no plan (${p.parseError ?? '?'})`,
      details: {
        action: p.fields.harvest_action ?? '?',
        kill_score: p.fields.kill_score ?? '?',
        new_sl: p.fields.new_sl_proposed || '-',
        computed_at_utc: p.fields.computed_at_utc ?? '-',
      },
    });
  }
  const dedupeSec = num(t.dedupe.value ?? undefined);
  if (dedupeSec !== null) {
    out.push({
      atMs: dedupeSec * 1000,
      approx: true,
      source: 'apply',
      what: 'dedupe key set (first EXECUTE decision)',
      details: { ttl: ttl(t.dedupe.ttlMs) },
    });
  }
  for (const e of t.planEntries) {
    const d = e.fields;
    out.push({
      atMs: Number(e.id.split('-')[0]),
      approx: false,
      source: 'apply',
      what: `plan published: ${d.decision ?? '?'} ${d.action ?? ''}`.trim(),
      details: {
        reasons: d.reason_codes || '-',
        kill_score: d.kill_score ?? '?',
        steps: stepsText(d.steps),
        entry: e.id,
      },
    });
  }
  out.push(...authorityEvents(f, t), ...consumeEvents(f), ...orderEvents(t));
  for (const e of t.canaryRequests) {
    const d = e.fields;
    out.push({
      atMs: Number(e.id.split('-')[0]),
      approx: false,
      source: 'apply',
      what: `canary requested: ${d.count ?? '?'} × ${d.action ?? '?'} ${d.symbol ?? '?'}`,
      details: { request: d.request_id ?? '?', by: `${d.host || '?'} pid ${d.pid || '?'}`, entry: e.id },
    });
  }
  for (const e of t.failoverAudit ?? []) {
    const d = e.fields;
    out.push({
      atMs: Number(e.id.split('-')[0]),
      approx: false,
      source: 'apply',
      what: `failover reconciliation: Redis lost this plan's ${d.kind ?? '?'}; ${d.action ?? '?'}`,
      details: {
        order_id: d.order_id ?? '?',
        order_status: d.order_status ?? '?',
        executed_qty: d.executed_qty ?? '?',
        client_order_id: d.client_order_id ?? '?',
        entry: e.id,
      },
    });
  }
  for (const e of t.resultEntries) {
    const d = e.fields;
    if (d.decision === 'CANARY') {
      out.push({
        atMs: Number(e.id.split('-')[0]),
        approx: false,
        source: 'result',
        what: `canary report: ${d.passed === 'True' ? 'passed' : `failed ${d.error || '?'}`}${d.refused === 'True' ? ' (request refused)' : ''}`,
        details: { handled_by: handledByText(d.handled_by), wait_ms: d.wait_ms ?? '?', entry: e.id },
      });
      continue;
    }
    const steps = stepResultsText(d.steps_results);
    out.push({
      atMs: Number(e.id.split('-')[0]),
      approx: false,
      source: 'result',
      what: `result: ${d.decision ?? '?'} executed=${d.executed ?? '?'}${d.error ? ` error=${d.error}` : ''}`,
      details: { would_execute: d.would_execute ?? '?', steps, entry: e.id },
    });
  }
  // Stable: same-time events keep the causal order they were pushed in.
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.atMs ?? Infinity) - (b.e.atMs ?? Infinity) || a.i - b.i)
    .map((x) => x.e);
}
