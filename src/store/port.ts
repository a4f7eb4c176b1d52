/**
 * The store port: everything the services need from Redis, as a small typed surface.
 * Two adapters implement it: `redis/` (ioredis, Lua scripts in `redis/lua/`) and `memory/`
 * (embedded mode: demo and single-process runs). One contract suite (test/store) runs against both.
 *
 * Keys come from `keys.ts` only. Atomic operations are one Lua file each in Redis and one
 * method each here; the memory adapter implements the same semantics in-process.
 */
import type { KeySpace } from './keys.js';
import type { LeaseOps } from './lease-port.js';

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
  /** Entries not yet delivered to the group (null when the server cannot tell). */
  lag: number | null;
}

export interface ConsumerInfo {
  name: string;
  /** Entries delivered to this consumer and not yet acknowledged. */
  pending: number;
  /** Milliseconds since the consumer last read or claimed. */
  idleMs: number;
}

export interface ScanResult {
  keys: string[];
  complete: boolean;
}

export interface SetOptions {
  ttlSec?: number;
  /** Only set when the key does not exist (SET NX). */
  nx?: boolean;
}

/**
 * Outcome of consuming a set of permits atomically (all or nothing).
 * - `consumed`: every key existed; all were deleted in one step; `bodies[i]` belongs to `keys[i]`.
 * - `missing`: at least one key was absent; nothing was deleted; `ttlMs[i]` is PTTL of `keys[i]`
 *   (-2 absent, -1 no expiry), or -3 for a present key when the call asked `{ readTtl: false }`.
 * - `consumed_elsewhere`: the receipt shows another attempt (another token) consumed this set.
 * Calling again with the same receipt key and token after an ambiguous failure (timeout, dropped
 * connection) returns the original `consumed` outcome: the call is idempotent.
 */
export type ConsumeOutcome =
  | { kind: 'consumed'; bodies: string[]; replayed: boolean }
  | { kind: 'missing'; ttlMs: number[] }
  | { kind: 'consumed_elsewhere' };

export interface KeyChange {
  key: string;
  /** Redis event name: set, hset, del, expired, ... */
  event: string;
}

export type Unsubscribe = () => Promise<void>;

export interface Store {
  readonly keys: KeySpace;
  readonly kind: 'redis' | 'memory';
  /** Apply replicas' symbol leases and the fenced intent write (lease-port.ts). */
  readonly leases: LeaseOps;

  // strings
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  /** Returns false when `nx` was asked and the key existed. */
  set(key: string, value: string, opts?: SetOptions): Promise<boolean>;
  del(keys: string[]): Promise<number>;
  /** Milliseconds to live: -2 when absent, -1 when no expiry. */
  pttl(key: string): Promise<number>;
  exists(key: string): Promise<boolean>;

  // hashes
  hgetall(key: string): Promise<Record<string, string>>;
  /**
   * HGETALL of each key, run on the server one after another in the order given, so a write
   * that one read misses cannot have happened before an earlier read. One round trip on one
   * Redis (one connection executes its commands in order); in cluster mode the keys may sit on
   * different nodes, so each read waits for the one before.
   */
  hgetallInOrder(keys: readonly string[]): Promise<Record<string, string>[]>;
  /** HSET then, when ttlSec is given, EXPIRE, in one round trip. */
  hset(key: string, fields: Record<string, string>, ttlSec?: number): Promise<void>;
  /** HDEL: removes the fields (a hash left without any is deleted); returns how many existed. */
  hdel(key: string, fields: string[]): Promise<number>;
  /**
   * Updates a hash that was created with a TTL, keeping that TTL: HSET alone, and EXPIRE only when
   * the HSET created the key (every field new), so an update never leaves a key without a TTL.
   * One command where hset with a TTL sends two (apply's order intent, once per plan).
   */
  hupdate(key: string, fields: Record<string, string>, ttlSec: number): Promise<void>;

  // lists
  lrange(key: string, start: number, stop: number): Promise<string[]>;

  // keys
  /**
   * SCAN MATCH `pattern` COUNT `count`, until the cursor ends or `limit` keys were seen (tools
   * such as `status`; services never scan). `complete` is false when the limit cut it short.
   */
  scanKeys(pattern: string, opts: { count: number; limit: number }): Promise<ScanResult>;

  // streams
  /** XADD with `MAXLEN ~ maxLen` when given. Returns the entry id. */
  xadd(stream: string, fields: Record<string, string>, maxLen?: number): Promise<string>;
  xrange(stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]>;
  xrevrange(stream: string, end: string, start: string, count?: number): Promise<StreamEntry[]>;
  xlen(stream: string): Promise<number>;
  /** XGROUP CREATE ... MKSTREAM; an existing group is left as it is. */
  createGroup(stream: string, group: string, startId?: string): Promise<void>;
  /**
   * XREADGROUP ... STREAMS stream '>' (new entries). With blockMs > 0 the call blocks on a
   * connection dedicated to this consumer, never on the shared command connection.
   */
  readGroup(
    stream: string,
    group: string,
    consumer: string,
    opts: { count: number; blockMs: number },
  ): Promise<StreamEntry[]>;
  /** This consumer's own pending entries (XREADGROUP with id 0), e.g. after a restart. */
  readOwnPending(stream: string, group: string, consumer: string, count: number): Promise<StreamEntry[]>;
  ack(stream: string, group: string, ids: string[]): Promise<number>;
  /** XAUTOCLAIM entries idle longer than minIdleMs to this consumer (dead consumers' work). */
  autoClaim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): Promise<StreamEntry[]>;
  groups(stream: string): Promise<GroupInfo[]>;
  /** XINFO CONSUMERS (tools such as `status`); [] when the stream or group does not exist. */
  consumers(stream: string, group: string): Promise<ConsumerInfo[]>;

  // atomic operations (one Lua script each in Redis)
  /** consumePermits: all-or-nothing consume of `permitKeys`, idempotent per (receiptKey, token). */
  consumePermits(
    permitKeys: string[],
    receiptKey: string,
    token: string,
    receiptTtlSec: number,
    /** readTtl (default true): read present keys' TTLs on `missing`; false saves a command each. */
    opts?: { readTtl?: boolean },
  ): Promise<ConsumeOutcome>;
  /**
   * publishOnce: SET marker NX EX markerTtlSec, and only if it was set, XADD the entry
   * (MAXLEN ~ maxLen). Returns the entry id, or null when the marker already existed.
   */
  publishOnce(
    markerKey: string,
    markerTtlSec: number,
    stream: string,
    fields: Record<string, string>,
    maxLen: number,
  ): Promise<string | null>;
  /**
   * publishPlan-4.lua: a decided plan's publication in one step. 'handled' when its result
   * marker exists; with `dedupe` (an EXECUTE plan), SET NX the dedupe key and 'duplicate' when it
   * existed; nothing is written in those two cases. Then publishOnce(marker, stream, fields).
   * (Cluster key mode: the keys sit in different slots, so the same steps run one by one.)
   */
  publishPlan(req: PublishPlanRequest): Promise<PublishPlanOutcome>;
  /** grantPermit-5.lua: the governor's grant or limit block, atomic with its counting. */
  grantPermit(req: GrantPermitRequest): Promise<GrantPermitOutcome>;
  /** decideOnce-3.lua: write a block record / P3.3 permit at most once per plan; false if decided. */
  decideOnce(req: DecideOnceRequest): Promise<boolean>;
  /**
   * grantCloseQty-3.lua: P3.3's close allow with the reservation of its quantity, once per plan,
   * and only while the symbol's reservation hash is as the evaluation read it.
   */
  grantCloseQty(req: GrantCloseQtyRequest): Promise<GrantCloseCode>;
  /**
   * applyLedgerResults-N.lua: per result entry, in stream order, the cursor check and a
   * compare-and-set on its ledger, in one step; one code per entry, ending at the first 'conflict' (nothing after it is written).
   */
  applyLedgerResults(req: LedgerBatchRequest): Promise<LedgerWriteCode[]>;
  /**
   * seedLedgers-N.lua: write each absent ledger (fields, TTL) and leave existing ones alone;
   * true where written.
   */
  seedLedgers(req: LedgerSeedRequest): Promise<boolean[]>;

  // change notifications
  /**
   * Calls `onChange` for writes to keys matching the glob `pattern` (Redis keyspace
   * notifications, subscribed on a dedicated connection; in memory: in-process events).
   * With `opts.keys`, only for those keys (each matching the pattern): the adapter routes an
   * event to the listeners of its key alone, so many waiters on one pattern cost O(1) per event.
   * Best effort: callers keep a polling fallback. `notificationsActive()` says whether the
   * server delivers them (false when notify-keyspace-events could not be enabled).
   */
  onKeyChange(
    pattern: string,
    onChange: (change: KeyChange) => void,
    opts?: { keys?: readonly string[] },
  ): Promise<Unsubscribe>;
  notificationsActive(): boolean;
  /**
   * How many times the connection delivering onKeyChange events was lost (0 in memory, where
   * none is lost). Events can have been missed only across a change of this number: a caller
   * that saw the same epoch before and after a window, and a write of its own announced in
   * between, heard every event of that window (one connection delivers them in order).
   */
  notificationEpoch(): number;

  /** Server time in ms (Redis TIME; memory: the injected clock). */
  serverTimeMs(): Promise<number>;

  /**
   * Redis WAIT on the connection that wrote `key`: resolves with how many replicas of that
   * key's master acknowledged every write this client made before it, waiting at most
   * `timeoutMs`. In memory: `replicas` (nothing to replicate, nothing to lose).
   */
  waitForReplicas(key: string, replicas: number, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Input of `publishPlan` (publishPlan-4.lua). */
export interface PublishPlanRequest {
  resultMarkerKey: string;
  /** An EXECUTE plan's dedupe key, SET NX with this value and TTL; null for other decisions. */
  dedupe: { key: string; value: string; ttlSec: number } | null;
  markerKey: string;
  markerTtlSec: number;
  stream: string;
  fields: Record<string, string>;
  maxLen: number;
}

/** `dedupeSet`: this call set the dedupe key (false without `dedupe`). */
export type PublishPlanOutcome =
  | { kind: 'handled' }
  | { kind: 'duplicate' }
  | { kind: 'published'; id: string; dedupeSet: boolean }
  | { kind: 'exists'; dedupeSet: boolean };

// ---- authority operations (governor grant, decide-once records, P3.3 ledger) ----

/** Input of `grantPermit` (grantPermit-5.lua): the governor's decision, atomic with its counting. */
export interface GrantPermitRequest {
  decisionKey: string;
  permitKey: string;
  blockKey: string;
  execKey: string;
  dailyKey: string;
  /** Unix seconds (float), from the injected clock. */
  nowSec: number;
  /** false only with GOV_AUTO_APPROVE: grant without the counting gates. */
  enforce: boolean;
  maxPerHour: number;
  maxPer5Min: number;
  /** What this execution adds to the daily total (notional, or quantity without a price). */
  amount: number;
  cap: number;
  permitBody: string;
  permitTtlSec: number;
  /** TTL of the block record and of the decision marker. */
  blockTtlSec: number;
  symbol: string;
  execKeep: number;
  /** TTL of the execution list and the daily key. */
  historyTtlSec: number;
  /**
   * true: renew the execution list's TTL; false: leave it (renewed lately, see TTL_RENEW_MS),
   * unless this grant creates the list.
   */
  renewHistoryTtl: boolean;
}

export const GRANT_CODES = [
  'granted',
  'already_decided',
  'hourly_limit_exceeded',
  'burst_limit_exceeded',
  'daily_limit_exceeded',
  'daily_total_invalid',
] as const;
export type GrantCode = (typeof GRANT_CODES)[number];

export interface GrantPermitOutcome {
  code: GrantCode;
  /** Executions of the symbol in the last hour / 5 minutes before this one. */
  hourCount: number;
  fiveMinCount: number;
  /** The daily total before this execution (text as stored, '0' when absent). */
  dailyTotal: string;
}

/** Input of `decideOnce` (decideOnce-3.lua): write a record for a plan at most once. */
export interface DecideOnceRequest {
  decisionKey: string;
  recordKey: string;
  /** A further key whose existence means decided (e.g. the governor permit); may equal recordKey. */
  guardKey: string;
  markerValue: string;
  markerTtlSec: number;
  body: string;
  ttlSec: number;
}

/** Input of `grantCloseQty` (grantCloseQty-3.lua). */
export interface GrantCloseQtyRequest {
  decisionKey: string;
  permitKey: string;
  /** The symbol's reservation hash (keys.p33Reserved). */
  reservationKey: string;
  markerValue: string;
  markerTtlSec: number;
  permitBody: string;
  permitTtlSec: number;
  /** The hash's `seq` as read ('' when it had none): the compare-and-set token. */
  expectSeq: string;
  /** This plan's reservation field and value. */
  field: string;
  value: string;
  /** Unix seconds written to `granted_at`. */
  grantedAt: string;
  /** Reservation fields found lapsed: deleted with the grant. */
  dropFields: string[];
  /** The hash's TTL after the grant. */
  reservationTtlSec: number;
}

export const GRANT_CLOSE_CODES = ['granted', 'already_decided', 'conflict'] as const;
export type GrantCloseCode = (typeof GRANT_CLOSE_CODES)[number];

/** One entry's compare-and-set on a ledger (a step of applyLedgerResults; the memory adapter's unit). */
export interface LedgerWriteRequest {
  ledgerKey: string;
  cursorKey: string;
  /** Result entry id; '' when seeding (cursor untouched). */
  entryId: string;
  expect: { kind: 'absent' } | { kind: 'value'; lastKnownAmt: string } | { kind: 'any' };
  ttlSec: number;
  /** Ledger fields to write; empty: only move the cursor. */
  fields: Record<string, string>;
  /**
   * true: renew the ledger's TTL with the write; false: leave it (renewed lately, see
   * TTL_RENEW_MS), unless the write creates the ledger (every field written is new).
   */
  renewTtl: boolean;
}

/** Input of `applyLedgerResults`: result entries in stream order, one ledger (or none) each. */
export interface LedgerBatchRequest {
  cursorKey: string;
  ttlSec: number;
  entries: {
    entryId: string;
    /** null: the entry moves only the cursor. */
    ledgerKey: string | null;
    expect: LedgerWriteRequest['expect'];
    fields: Record<string, string>;
    renewTtl: boolean;
  }[];
}

/** Input of `seedLedgers`: distinct ledger keys and the fields each is created with. */
export interface LedgerSeedRequest {
  ledgers: { ledgerKey: string; fields: Record<string, string> }[];
  ttlSec: number;
}

export const LEDGER_CODES = ['applied', 'already_applied', 'conflict'] as const;
export type LedgerWriteCode = (typeof LEDGER_CODES)[number];
