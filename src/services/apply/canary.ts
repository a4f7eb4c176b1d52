/**
 * One canary through the live permit chain (PROTOCOL.md "Canary plans"): publish a CANARY plan
 * entry, wait for every required permit and consume the set atomically exactly as a real plan's
 * (waitAndConsumePermits, the same script), check signatures as apply does, judge the bodies,
 * log the `[PERMIT_WAIT]` line, and publish one entry on the canary stream. It stops there: this
 * module reaches neither the exchange nor the order path, and a canary's governor permit says
 * `decision: CANARY`, which the order path refuses.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  canaryEntryFields,
  canaryGatesOf,
  canaryPlanId,
  judgeCanary,
  CANARY_DECISION,
  type CanaryAction,
  type CanaryHandler,
} from '../../domain/canary.js';
import { governorBlockReason, permitWaitReason } from '../../domain/governor-block.js';
import { parseObject, parseP33Permit } from '../../domain/permits.js';
import { verifyPermitSet } from '../../domain/permit-signing.js';
import { waitAndConsumePermits } from '../../store/permit-chain.js';
import { watchPermits } from '../../store/permit-watch.js';
import type { Store } from '../../store/port.js';
import type { Clock } from '../../ops/clock.js';
import { PLAN_STREAM_MAXLEN, STREAM_PUBLISHED_TTL_SEC, type ApplyOptions } from './options.js';

export type CanaryOptions = Pick<
  ApplyOptions,
  | 'permitWaitMs'
  | 'permitStepMs'
  | 'requiredAuthorities'
  | 'signedPermits'
  | 'signPlanEntry'
  | 'notifications'
> & { dedupeTtlSec: number };

/**
 * All a canary may use: no exchange, no order path. The running apply builds this object from
 * its own dependencies field by field, so the exchange adapter is not even reachable from it.
 */
export interface CanaryDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
}

/** Who asked for a canary and who handled it (absent: the command ran it itself, `--local`). */
export interface CanaryOrigin {
  requestId: string | null;
  handledBy: CanaryHandler;
}

/** One canary's report line (the CLI prints it; the canary stream entry carries it). */
export interface CanaryReport {
  plan_id: string;
  symbol: string;
  action: CanaryAction;
  /** The whole chain answered within APPLY_PERMIT_WAIT_MS, consumed, and both authorities passed. */
  passed: boolean;
  /** '' when passed; else the wait's or the judgement's reason (as a real plan's result names it). */
  reason: string;
  /** Every required permit was consumed in one atomic step. */
  consumed: boolean;
  wait_ms: number;
  /** Per authority: its record's creation time (its clock) minus the entry's publication (ours); null: none. */
  authority_wait_ms: Record<string, number | null>;
  governor: { verdict: 'granted' | 'blocked' | 'missing'; reason: string | null; gates: string[] };
  p33: { verdict: 'allow' | 'deny' | 'missing'; reason: string | null; safe_close_qty: number | null };
  permit_wait_line: string;
  /** The canary request this canary answers (null: `--local`, the command ran it itself). */
  request_id: string | null;
  /** The apply process that published the canary and consumed its permits. */
  handled_by: CanaryHandler;
  /** True when the handler refused the request (rate limit, count, bad request): nothing published. */
  refused: boolean;
}

/** When an authority wrote its record (`created_at`, a block's `timestamp`), unix ms; null if unknown. */
function createdMs(body: string | null): number | null {
  const o = parseObject(body);
  const t = o?.created_at ?? o?.timestamp;
  return typeof t === 'number' && Number.isFinite(t) ? t * 1000 : null;
}

export async function runCanary(
  deps: CanaryDeps,
  opts: CanaryOptions,
  c: { symbol: string; action: CanaryAction },
  origin: CanaryOrigin,
): Promise<CanaryReport> {
  const { store, clock } = deps;
  const k = store.keys;
  const planId = canaryPlanId(randomBytes(8).toString('hex'));
  const log = deps.logger.child({ plan: planId, symbol: c.symbol, canary: true });
  const authorities = opts.requiredAuthorities;
  const events = opts.notifications !== false;
  const watch = events ? await watchPermits(store, planId, authorities, c.symbol) : null;
  const base = canaryEntryFields({ planId, symbol: c.symbol, action: c.action, nowSec: clock.now() / 1000 });
  const fields = (opts.signPlanEntry ?? ((f) => f))(base);
  // Per-authority waits count from the moment the entry left (the authorities may answer before publishOnce returns).
  const publishedAt = clock.now();
  let chain: Awaited<ReturnType<typeof waitAndConsumePermits>>;
  try {
    await store.publishOnce(
      k.streamPublished(planId),
      STREAM_PUBLISHED_TTL_SEC,
      k.planStream(),
      fields,
      PLAN_STREAM_MAXLEN,
    );
    chain = await waitAndConsumePermits(store, planId, authorities, {
      waitMs: opts.permitWaitMs,
      stepMs: opts.permitStepMs,
      clock,
      events,
      symbol: c.symbol,
      watch,
      // The entry is published after the watch opened, and the authorities write a plan's
      // permits only after reading its entry.
      noPermitBeforeWatch: true,
    });
  } finally {
    if (watch) void watch.close().catch(() => {});
  }

  const prefix = `[PERMIT_WAIT]`;
  const tail = `plan=${planId} symbol=${c.symbol} wait_ms=${chain.waitMs}`;
  const report = blankReport(planId, c, origin, { consumed: chain.ok, wait_ms: chain.waitMs });
  const since = (body: string | null) => {
    const at = createdMs(body);
    return at === null ? null : Math.max(0, Math.round(at - publishedAt));
  };

  if (!chain.ok) {
    // Nothing was consumed: read what each authority left (a block record, a permit left to expire).
    const [block, govLeft, p33Left] = await Promise.all([
      store.get(k.governorBlock(planId, c.symbol)),
      store.get(k.governorPermit(planId, c.symbol)),
      store.get(k.p33Permit(planId, c.symbol)),
    ]);
    const named = governorBlockReason(block, c.symbol);
    const govRecord = named !== null ? block : govLeft;
    report.governor =
      named !== null
        ? { verdict: 'blocked', reason: named, gates: canaryGatesOf(block) }
        : { verdict: govLeft === null ? 'missing' : 'granted', reason: null, gates: canaryGatesOf(govLeft) };
    report.authority_wait_ms.governor = govRecord === null ? null : since(govRecord);
    describeP33(report, p33Left);
    report.authority_wait_ms.p33 = p33Left === null ? null : since(p33Left);
    report.reason = `permit_timeout_or_missing:${permitWaitReason(chain.reason, named)}`;
    const govTtl = chain.ttlMs.governor ?? -2;
    const p33Ttl = chain.ttlMs.p33 ?? -2;
    report.permit_wait_line = `${prefix} BLOCK ${tail} reason=${chain.reason} gov_ttl=${govTtl} p33_ttl=${p33Ttl}${named === null ? '' : ` governor_reason=${named}`}`;
    log.warn({ wait_ms: chain.waitMs, reason: chain.reason, ttl_ms: chain.ttlMs }, report.permit_wait_line);
    return publish(deps, opts, report);
  }

  const gov = chain.bodies.governor ?? '';
  const p33 = chain.bodies.p33 ?? '';
  for (const a of authorities) report.authority_wait_ms[a] = since(chain.bodies[a] ?? null);
  describeP33(report, p33);
  const verdict = judgeCanary(c.symbol, gov, p33);
  const notGranted = !verdict.pass && verdict.reason === 'governor_permit_not_granted';
  report.governor = { verdict: notGranted ? 'blocked' : 'granted', reason: null, gates: verdict.gates };
  const signed = opts.signedPermits;
  const sig = signed
    ? verifyPermitSet({ ...signed, planId, nowSec: clock.now() / 1000, bodies: chain.bodies })
    : null;
  if (sig && !sig.ok) {
    report.reason = sig.reason;
    report.permit_wait_line = `${prefix} BLOCK ${tail} reason=${sig.reason} authority=${sig.authority}`;
  } else if (!verdict.pass) {
    report.reason = verdict.reason;
    const why = verdict.p33Reason ? ` p33_reason=${verdict.p33Reason}` : '';
    report.permit_wait_line = `${prefix} BLOCK ${tail} reason=${verdict.reason}${why}`;
  } else {
    report.passed = true;
    report.permit_wait_line = `${prefix} OK ${tail} safe_qty=${verdict.safeCloseQty}`;
  }
  if (report.passed) log.info({ wait_ms: chain.waitMs, via: chain.via }, report.permit_wait_line);
  else log.warn({ wait_ms: chain.waitMs, reason: report.reason }, report.permit_wait_line);
  return publish(deps, opts, report);
}

/**
 * A request the handler refuses (`rate_limited`, `count_above_max`, `bad_request_<field>`): one
 * canary stream entry under a fresh canary id, so the waiting command reads the reason and
 * `status` shows it. Nothing reaches the plan stream or an authority.
 */
export function refuseCanary(
  deps: CanaryDeps,
  opts: CanaryOptions,
  c: { symbol: string; action: CanaryAction; reason: string },
  origin: CanaryOrigin,
): Promise<CanaryReport> {
  const planId = canaryPlanId(randomBytes(8).toString('hex'));
  deps.logger.warn(
    { plan: planId, symbol: c.symbol, canary: true, request: origin.requestId, reason: c.reason },
    `apply: canary request refused: ${c.reason}`,
  );
  return publish(deps, opts, blankReport(planId, c, origin, { reason: c.reason, refused: true }));
}

/** A report with nothing passed, consumed or heard from an authority yet. */
function blankReport(
  planId: string,
  c: { symbol: string; action: CanaryAction },
  origin: CanaryOrigin,
  over: Partial<CanaryReport>,
): CanaryReport {
  return {
    plan_id: planId,
    symbol: c.symbol,
    action: c.action,
    passed: false,
    reason: '',
    consumed: false,
    wait_ms: 0,
    authority_wait_ms: {},
    governor: { verdict: 'missing', reason: null, gates: [] },
    p33: { verdict: 'missing', reason: null, safe_close_qty: null },
    permit_wait_line: '',
    request_id: origin.requestId,
    handled_by: origin.handledBy,
    refused: false,
    ...over,
  };
}

/**
 * The rate limit, shared by every host and every apply replica: the first run within
 * APPLY_CANARY_MIN_INTERVAL_SEC holds the key (SET NX EX). Returns null when taken, else the
 * seconds until the next run is allowed.
 */
export async function takeCanaryRun(
  store: Store,
  c: { minIntervalSec: number; nowMs: number; holder: Record<string, string | number | null> },
): Promise<number | null> {
  const key = store.keys.canaryRun();
  const held = await store.set(key, JSON.stringify({ at: c.nowMs, ...c.holder }), {
    nx: true,
    ttlSec: c.minIntervalSec,
  });
  if (held) return null;
  return Math.max(1, Math.ceil((await store.pttl(key)) / 1000));
}

function describeP33(report: CanaryReport, body: string | null): void {
  if (body === null) return;
  const p = parseP33Permit(body);
  if (!p.ok) report.p33 = { verdict: 'deny', reason: p.reason, safe_close_qty: null };
  else if (p.permit.allow)
    report.p33 = { verdict: 'allow', reason: null, safe_close_qty: p.permit.safeCloseQty };
  else report.p33 = { verdict: 'deny', reason: p.permit.reason, safe_close_qty: null };
}

/**
 * The canary's one entry on the canary stream: the result entry's fields (never `executed`
 * True: no ledger may follow it) and the report. Once per canary id.
 */
async function publish(deps: CanaryDeps, opts: CanaryOptions, r: CanaryReport): Promise<CanaryReport> {
  const { store, clock } = deps;
  const fields: Record<string, string> = {
    plan_id: r.plan_id,
    symbol: r.symbol,
    decision: CANARY_DECISION,
    executed: 'False',
    would_execute: 'False',
    steps_results: '[]',
    error: r.reason,
    timestamp: String(Math.floor(clock.now() / 1000)),
    canary: 'True',
    passed: r.passed ? 'True' : 'False',
    consumed: r.consumed ? 'True' : 'False',
    action: r.action,
    wait_ms: String(r.wait_ms),
    request_id: r.request_id ?? '',
    handled_by: JSON.stringify(r.handled_by),
    refused: r.refused ? 'True' : 'False',
    report: JSON.stringify(r),
  };
  try {
    await store.publishOnce(
      store.keys.canaryPublished(r.plan_id),
      opts.dedupeTtlSec,
      store.keys.canaryStream(),
      fields,
      PLAN_STREAM_MAXLEN,
    );
  } catch (err) {
    // The report is printed either way; only explain and status miss this canary.
    deps.logger.warn({ plan: r.plan_id, err: (err as Error).message }, 'canary entry not published');
  }
  return r;
}
