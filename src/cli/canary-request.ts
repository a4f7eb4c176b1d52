/**
 * The command's side of a canary through the running apply (PROTOCOL.md "Canary plans"): write
 * one request on the request stream, then read the canary stream for the reports that answer it.
 * Each report must come within APPLY_PERMIT_WAIT_MS plus a margin of the one before (of the
 * request, for the first): a canary no apply picks up is the failure a canary exists to catch.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import { canaryRequestFields, type CanaryAction } from '../domain/canary.js';
import type { Clock } from '../ops/clock.js';
import type { CanaryReport } from '../services/apply/canary.js';
import { CANARY_ANSWER_MARGIN_MS, CANARY_REQUEST_MAXLEN } from '../services/apply/canary-requests.js';
import type { Store } from '../store/port.js';

/** How often the canary stream is read while waiting (a report is a few ms late at most). */
const READ_EVERY_MS = 20;

export type RequestOutcome =
  | { kind: 'answered'; requestId: string; reports: CanaryReport[] }
  /** The first report is a refusal (rate limit, count): the handler ran nothing. */
  | { kind: 'refused'; requestId: string; report: CanaryReport }
  /** No report (or not all of them) within the bound. */
  | { kind: 'unanswered'; requestId: string; reports: CanaryReport[]; boundMs: number };

function reportOf(fields: Record<string, string>): CanaryReport | null {
  try {
    const r = JSON.parse(fields.report ?? '') as CanaryReport;
    return r && typeof r === 'object' && typeof r.plan_id === 'string' ? r : null;
  } catch {
    return null;
  }
}

export async function requestCanaries(
  store: Store,
  clock: Clock,
  c: {
    symbol: string;
    action: CanaryAction;
    count: number;
    permitWaitMs: number;
    host: string;
    pid: number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<RequestOutcome> {
  const sleep = c.sleep ?? wait;
  const requestId = randomBytes(8).toString('hex');
  const k = store.keys;
  const fields = canaryRequestFields({
    requestId,
    symbol: c.symbol,
    action: c.action,
    count: c.count,
    host: c.host,
    pid: String(c.pid),
    atMs: clock.now(),
  });
  // The reports come after the request: their ids (same server clock) follow its id.
  let after = await store.xadd(k.canaryRequests(), fields, CANARY_REQUEST_MAXLEN);
  const boundMs = c.permitWaitMs + CANARY_ANSWER_MARGIN_MS;
  const reports: CanaryReport[] = [];
  let deadline = clock.now() + boundMs;
  while (reports.length < c.count) {
    const entries = await store.xrange(k.canaryStream(), `(${after}`, '+', 100);
    for (const e of entries) {
      after = e.id;
      if (e.fields.request_id !== requestId) continue;
      const r = reportOf(e.fields);
      if (r === null) continue;
      if (r.refused) return { kind: 'refused', requestId, report: r };
      reports.push(r);
      deadline = clock.now() + boundMs;
    }
    if (reports.length >= c.count) break;
    if (clock.now() >= deadline) return { kind: 'unanswered', requestId, reports, boundMs };
    if (entries.length === 0) await sleep(READ_EVERY_MS);
  }
  return { kind: 'answered', requestId, reports };
}
