/** `status`: what the failover reconciliation recorded of lost writes (the audit stream). */
import type { Store } from '../store/port.js';
import { entryMs } from './stream-scan.js';

export interface FailoverAuditStatus {
  entries: number;
  lastHour: number;
  last: LastLostWrite | null;
}

export interface LastLostWrite {
  kind: string;
  planId: string;
  symbol: string;
  action: string;
  atMs: number | null;
}

/** At most this many audit entries are counted for the last hour (a count past it reads "≥"). */
const AUDIT_HOUR_SCAN = 1000;

export async function failoverAudit(store: Store, nowMs: number): Promise<FailoverAuditStatus> {
  const k = store.keys;
  const [entries, hour] = await Promise.all([
    store.xlen(k.failoverAudit()),
    store.xrevrange(k.failoverAudit(), '+', String(Math.max(0, nowMs - 3_600_000)), AUDIT_HOUR_SCAN),
  ]);
  const newest = hour[0] ?? (await store.xrevrange(k.failoverAudit(), '+', '-', 1))[0];
  return {
    entries,
    lastHour: hour.length,
    last: newest
      ? {
          kind: newest.fields.kind ?? '',
          planId: newest.fields.plan_id ?? '',
          symbol: newest.fields.symbol ?? '',
          action: newest.fields.action ?? '',
          atMs: entryMs(newest.id),
        }
      : null,
  };
}
