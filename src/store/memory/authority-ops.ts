/**
 * The authorities' atomic operations for the in-process store, with the same semantics as the
 * Lua scripts (grantPermit-5, decideOnce-3, grantCloseQty-3, applyLedgerResults-N,
 * seedLedgers-N). Each runs synchronously over
 * `MemOps`, so nothing interleaves: that is what makes it atomic in one process.
 */
import type {
  DecideOnceRequest,
  GrantCloseCode,
  GrantCloseQtyRequest,
  GrantPermitOutcome,
  GrantPermitRequest,
  LedgerBatchRequest,
  LedgerSeedRequest,
  LedgerWriteCode,
  LedgerWriteRequest,
} from '../port.js';
import { countingVerdict } from '../../domain/governor/gates.js';

/** Synchronous primitives the memory store exposes to these operations. */
export interface MemOps {
  exists(key: string): boolean;
  getString(key: string): string | null;
  /** SET: without ttlSec the key has none afterwards. */
  setString(key: string, value: string, ttlSec?: number): void;
  /** A new value that keeps the key's TTL, as INCRBYFLOAT does. */
  replaceString(key: string, value: string): void;
  hget(key: string, field: string): string | null;
  hset(key: string, fields: Record<string, string>): void;
  /** HDEL (a hash left without fields is deleted); returns how many fields existed. */
  hdel(key: string, fields: readonly string[]): number;
  lrange(key: string): string[];
  /** LPUSH one value then LTRIM 0 keep-1. */
  lpushTrim(key: string, value: string, keep: number): void;
  expire(key: string, ttlSec: number): void;
}

/** The governor's counting rule (src/domain/governor/gates.ts), atomic with its writes here. */
export function grantPermitSync(m: MemOps, r: GrantPermitRequest): GrantPermitOutcome {
  if (m.exists(r.decisionKey) || m.exists(r.permitKey) || m.exists(r.blockKey)) {
    return { code: 'already_decided', hourCount: 0, fiveMinCount: 0, dailyTotal: '0' };
  }
  const raw = m.getString(r.dailyKey);
  const v = countingVerdict({
    execTimestamps: m.lrange(r.execKey),
    dailyTotal: raw,
    nowSec: r.nowSec,
    enforce: r.enforce,
    limits: { maxExecPerHour: r.maxPerHour, maxExecPer5Min: r.maxPer5Min },
    amount: r.amount,
    cap: r.cap,
  });
  const out: GrantPermitOutcome = {
    code: v.code,
    hourCount: v.counts.hour,
    fiveMinCount: v.counts.fiveMin,
    dailyTotal: raw ?? '0',
  };
  if (v.code !== 'granted') {
    const record = { reason: v.reason, timestamp: r.nowSec, symbol: r.symbol };
    m.setString(r.blockKey, JSON.stringify(record), r.blockTtlSec);
    m.setString(r.decisionKey, v.reason, r.blockTtlSec);
    return out;
  }
  m.setString(r.permitKey, r.permitBody, r.permitTtlSec);
  m.setString(r.decisionKey, 'granted', r.blockTtlSec);
  const creates = !m.exists(r.execKey);
  m.lpushTrim(r.execKey, String(r.nowSec), r.execKeep);
  if (creates || r.renewHistoryTtl) m.expire(r.execKey, r.historyTtlSec);
  m.replaceString(r.dailyKey, String(v.newDailyTotal));
  if (raw === null) m.expire(r.dailyKey, r.historyTtlSec); // the day's TTL runs from its first amount
  return out;
}

export function decideOnceSync(m: MemOps, r: DecideOnceRequest): boolean {
  if (m.exists(r.decisionKey) || m.exists(r.recordKey) || m.exists(r.guardKey)) return false;
  m.setString(r.recordKey, r.body, r.ttlSec);
  m.setString(r.decisionKey, r.markerValue, r.markerTtlSec);
  return true;
}

export function grantCloseQtySync(m: MemOps, r: GrantCloseQtyRequest): GrantCloseCode {
  if (m.exists(r.decisionKey) || m.exists(r.permitKey)) return 'already_decided';
  const seq = m.hget(r.reservationKey, 'seq') ?? '';
  if (seq !== r.expectSeq) return 'conflict';
  m.setString(r.permitKey, r.permitBody, r.permitTtlSec);
  m.setString(r.decisionKey, r.markerValue, r.markerTtlSec);
  if (r.dropFields.length > 0) m.hdel(r.reservationKey, r.dropFields);
  // Lua's tonumber: a seq that is not a number counts from 0, as the script does.
  const prev = seq.trim() === '' ? 0 : Number(seq);
  const next = (Number.isFinite(prev) ? prev : 0) + 1;
  m.hset(r.reservationKey, { [r.field]: r.value, seq: String(next), granted_at: r.grantedAt });
  m.expire(r.reservationKey, r.reservationTtlSec);
  return 'granted';
}

function sid(id: string): [number, number] | null {
  const g = /^(\d+)-(\d+)$/.exec(id);
  return g ? [Number(g[1]), Number(g[2])] : null;
}

/** Stream id `a` strictly after `b` (an unreadable cursor counts as before everything). */
export function streamIdAfter(a: string, b: string): boolean {
  const x = sid(a);
  const y = sid(b);
  if (!x) return false;
  if (!y) return true;
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

export function applyLedgerResultSync(m: MemOps, r: LedgerWriteRequest): LedgerWriteCode {
  if (r.entryId !== '') {
    const cursor = m.getString(r.cursorKey);
    if (cursor !== null && !streamIdAfter(r.entryId, cursor)) return 'already_applied';
  }
  if (r.expect.kind === 'absent' && m.exists(r.ledgerKey)) return 'conflict';
  if (r.expect.kind === 'value' && m.hget(r.ledgerKey, 'last_known_amt') !== r.expect.lastKnownAmt) {
    return 'conflict';
  }
  const names = Object.keys(r.fields);
  if (names.length > 0) {
    // HSET's count of new fields, as the script reads it: all new means the write creates the ledger.
    const creates = names.every((f) => m.hget(r.ledgerKey, f) === null);
    m.hset(r.ledgerKey, r.fields);
    if (creates || r.renewTtl) m.expire(r.ledgerKey, r.ttlSec);
  }
  if (r.entryId !== '') m.setString(r.cursorKey, r.entryId);
  return 'applied';
}

export function applyLedgerResultsSync(m: MemOps, r: LedgerBatchRequest): LedgerWriteCode[] {
  const out: LedgerWriteCode[] = [];
  for (const e of r.entries) {
    const code = applyLedgerResultSync(m, {
      // Entries without a ledger only move the cursor: no expectation, no fields.
      ledgerKey: e.ledgerKey ?? '',
      cursorKey: r.cursorKey,
      entryId: e.entryId,
      expect: e.ledgerKey === null ? { kind: 'any' } : e.expect,
      ttlSec: r.ttlSec,
      fields: e.ledgerKey === null ? {} : e.fields,
      renewTtl: e.renewTtl,
    });
    out.push(code);
    if (code === 'conflict') break;
  }
  return out;
}

export function seedLedgersSync(m: MemOps, r: LedgerSeedRequest): boolean[] {
  return r.ledgers.map(({ ledgerKey, fields }) => {
    if (m.exists(ledgerKey)) return false;
    m.hset(ledgerKey, fields);
    m.expire(ledgerKey, r.ttlSec);
    return true;
  });
}
