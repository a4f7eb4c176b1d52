/**
 * Everything Redis still holds about one plan id, read as it is (no interpretation here):
 * stream entries found by bounded scans, the per-plan keys with their TTLs, the current
 * proposals of the candidate symbols and the arm state. explain.ts turns it into a story.
 */
import { isCanaryPlanId } from '../domain/canary.js';
import { readArmHash } from '../services/arm-state.js';
import type { Store, StreamEntry } from '../store/port.js';
import { findPlanEntries, scanBackwards, type ScanOptions } from './stream-scan.js';
import { isValidSymbol } from '../domain/proposal.js';

export interface KeyRead {
  key: string;
  value: string | null;
  /** PTTL: -2 absent, -1 no expiry. */
  ttlMs: number;
}

export interface PlanTrace {
  planId: string;
  /** Server time when the trace was read (Redis TIME; memory: the store's clock). */
  readAtMs: number;
  planEntries: StreamEntry[];
  resultEntries: StreamEntry[];
  /** The governor's decisions stream entries for this plan (GRANTED / BLOCKED). */
  decisions: StreamEntry[];
  /** The fleet's governor events stream entries naming this plan (AUTO_DISARM). */
  events: StreamEntry[];
  /** A canary's request (quantum:stream:apply.canary_request), when the running apply answered one. */
  canaryRequests: StreamEntry[];
  /** What the failover reconciliation recorded Redis had lost of this plan (failover audit stream). */
  failoverAudit?: StreamEntry[];
  scanned: { plan: number; result: number; decisions: number; events: number; complete: boolean };
  dedupe: KeyRead;
  streamPublished: KeyRead;
  resultPublished: KeyRead;
  governorPermit: KeyRead;
  p33Permit: KeyRead;
  /** Permits of further configured authorities (APPLY_REQUIRED_AUTHORITIES beyond the fleet's two). */
  otherPermits: Record<string, KeyRead>;
  governorBlock: KeyRead;
  governorDecided: KeyRead;
  p33Decided: KeyRead;
  receipt: KeyRead;
  intent: Record<string, string>;
  intentTtlMs: number;
  /** Current proposal hash per candidate symbol (empty object: no proposal). */
  proposals: Record<string, Record<string, string>>;
  armState: Record<string, string>;
}

async function readKey(store: Store, key: string): Promise<KeyRead> {
  const [value, ttlMs] = await Promise.all([store.get(key), store.pttl(key)]);
  return { key, value, ttlMs: value === null ? -2 : ttlMs };
}

/** Does a governor event's JSON context name this plan id? */
export function eventMentions(e: StreamEntry, planId: string): boolean {
  const ctx = e.fields.context ?? '';
  if (!ctx.includes(planId)) return false;
  try {
    const parsed = JSON.parse(ctx) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as Record<string, unknown>).plan_id === planId)
      return true;
  } catch {
    // not JSON: the substring match stands
  }
  return true;
}

/** Symbols named by whatever was found, most reliable first. */
export function symbolsSeen(t: Omit<PlanTrace, 'proposals' | 'armState'>): string[] {
  const out: string[] = [];
  const add = (s: unknown) => {
    if (isValidSymbol(s) && !out.includes(s)) out.push(s);
  };
  for (const e of [...t.planEntries, ...t.resultEntries, ...(t.failoverAudit ?? [])]) add(e.fields.symbol);
  add(t.intent.symbol);
  for (const r of [t.governorPermit, t.p33Permit, t.governorBlock]) {
    if (r.value === null) continue;
    try {
      add((JSON.parse(r.value) as Record<string, unknown>).symbol);
    } catch {
      // unreadable body: no symbol from it
    }
  }
  return out;
}

export interface TraceOptions extends ScanOptions {
  /** Authorities whose permits the apply layer requires (default governor, p33). */
  authorities?: readonly string[];
  /** Symbols whose current proposal is checked when the trace names none (SYMBOLS). */
  fallbackSymbols?: readonly string[];
}

export async function readPlanTrace(
  store: Store,
  planId: string,
  opts: TraceOptions = {},
): Promise<PlanTrace> {
  const k = store.keys;
  const others = (opts.authorities ?? ['governor', 'p33']).filter((a) => a !== 'governor' && a !== 'p33');
  const [plans, results, decisions, events, audit, readAtMs] = await Promise.all([
    findPlanEntries(store, k.planStream(), planId, opts),
    // A canary's one entry is on the canary stream, never on the result stream.
    findPlanEntries(store, isCanaryPlanId(planId) ? k.canaryStream() : k.resultStream(), planId, opts),
    findPlanEntries(store, k.governorDecisions(), planId, opts),
    scanBackwards(store, k.governorEvents(), (e) => eventMentions(e, planId), opts),
    findPlanEntries(store, k.failoverAudit(), planId, opts),
    store.serverTimeMs(),
  ]);
  // A canary answered by the running apply names its request: the command's entry, by its id.
  const requestId = results.matches
    .map((e) => e.fields.request_id)
    .find((id) => id !== undefined && id !== '');
  const requests = requestId
    ? await scanBackwards(store, k.canaryRequests(), (e) => e.fields.request_id === requestId, {
        ...opts,
        stop: (m) => m.length > 0,
      })
    : null;
  // Cluster key mode names a plan's keys by its symbol: take it from the plan's own entries.
  // (A plan entry a failover lost leaves its symbol on the failover audit entry.)
  const symbol = [...plans.matches, ...results.matches, ...audit.matches]
    .map((e) => e.fields.symbol)
    .find(isValidSymbol);
  // Without it (no entry left) a cluster-mode plan's keys cannot be named: they read as absent.
  const nameable = !k.cluster || symbol !== undefined;
  const read = (name: () => string): Promise<KeyRead> =>
    nameable
      ? readKey(store, name())
      : Promise.resolve({ key: '(unknown: cluster key mode needs the plan symbol)', value: null, ttlMs: -2 });
  const intentKey = nameable ? k.orderIntent(planId, symbol) : null;
  const [dedupe, streamPublished, resultPublished, governorPermit, p33Permit, governorBlock] =
    await Promise.all([
      read(() => k.dedupe(planId, symbol)),
      readKey(store, k.streamPublished(planId)),
      readKey(store, k.resultPublished(planId)),
      read(() => k.governorPermit(planId, symbol)),
      read(() => k.p33Permit(planId, symbol)),
      read(() => k.governorBlock(planId, symbol)),
    ]);
  const [governorDecided, p33Decided, receipt, intent, intentTtlMs, armState] = await Promise.all([
    read(() => k.authorityDecision('governor', planId, symbol)),
    read(() => k.authorityDecision('p33', planId, symbol)),
    read(() => k.permitReceipt(planId, symbol)),
    intentKey ? store.hgetall(intentKey) : Promise.resolve({}),
    intentKey ? store.pttl(intentKey) : Promise.resolve(-2),
    // An arm key of another type shows as the disarmed state apply reads it as.
    readArmHash(store).then((r) => r.hash),
  ]);
  const otherPermits: Record<string, KeyRead> = {};
  for (const a of others) otherPermits[a] = await read(() => k.permit(a, planId, symbol));
  const base = {
    planId,
    readAtMs,
    planEntries: [...plans.matches].reverse(),
    resultEntries: [...results.matches].reverse(),
    decisions: [...decisions.matches].reverse(),
    events: [...events.matches].reverse(),
    canaryRequests: requests?.matches ?? [],
    failoverAudit: [...audit.matches].reverse(),
    scanned: {
      plan: plans.scanned,
      result: results.scanned,
      decisions: decisions.scanned,
      events: events.scanned,
      complete: plans.complete && results.complete && decisions.complete && events.complete,
    },
    dedupe,
    streamPublished,
    resultPublished,
    governorPermit,
    p33Permit,
    otherPermits,
    governorBlock,
    governorDecided,
    p33Decided,
    receipt,
    intent,
    intentTtlMs,
  };
  const seen = symbolsSeen(base);
  const candidates = seen.length > 0 ? seen.slice(0, 1) : [...(opts.fallbackSymbols ?? [])];
  const proposals: Record<string, Record<string, string>> = {};
  await Promise.all(
    candidates.map(async (s) => {
      proposals[s] = await store.hgetall(k.proposal(s));
    }),
  );
  return { ...base, proposals, armState };
}
