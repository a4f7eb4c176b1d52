/**
 * The one module that builds Redis keys. Every key the services, scripts and tools touch comes
 * from here (Lua scripts receive them through KEYS). Names: PROTOCOL.md "Keys and streams".
 *
 * `cluster` mode (REDIS_CLUSTER=true, opt-in, never used with the fleet: it renames keys) puts a
 * hash tag in every key that a multi-key operation touches, so each one stays in one slot:
 *  - a plan's keys (permits, receipt, decision markers, block record, intent) and its symbol's
 *    keys (lease, governor counters, P3.3 reservations) carry `{<symbol>}`: consume, grant,
 *    decide and the fenced intent run in the symbol's slot. Per-plan key builders therefore take
 *    the symbol as well, and throw without it in cluster mode (in fleet mode the symbol is not
 *    part of the name);
 *  - the once-per-plan stream markers carry the stream's own name as their tag, so a marker
 *    hashes like the untagged stream it guards (publishOnce);
 *  - the P3.3 ledgers carry `{<prefix>ledger}`, the tag of the ledger cursor they advance with.
 */
export interface KeyOptions {
  /** Prefix for every key (tests isolate themselves with a random one); the fleet uses "". */
  prefix?: string;
  cluster?: boolean;
}

export type KeySpace = ReturnType<typeof keySpace>;

export function keySpace(opts: KeyOptions = {}) {
  const p = opts.prefix ?? '';
  const cluster = opts.cluster ?? false;
  if (cluster && /[{}]/.test(p)) throw new Error('cluster key mode: the key prefix must not contain { or }');
  /** Per-plan key tail: `<id>` in fleet mode, `{<symbol>}:<id>` in cluster mode. */
  const planTail = (what: string, planId: string, symbol: string | undefined) => {
    if (!cluster) return planId;
    if (!symbol) throw new Error(`cluster key mode: ${what} needs the plan's symbol (plan ${planId})`);
    return `{${symbol}}:${planId}`;
  };
  const symbolTag = (s: string) => (cluster ? `{${s}}` : s);
  const planStream = `${p}quantum:stream:apply.plan`;
  const resultStream = `${p}quantum:stream:apply.result`;
  const reconciledStream = `${p}quantum:stream:apply.reconciled`;
  const canaryStream = `${p}quantum:stream:apply.canary`;
  const canaryRequests = `${p}quantum:stream:apply.canary_request`;
  const failoverAuditStream = `${p}quantum:stream:apply.failover_audit`;
  /** Marker guarding a stream: in cluster mode tagged with the stream's name (same slot). */
  const streamMarker = (name: string, stream: string, planId: string) =>
    cluster ? `${p}quantum:apply:${name}:{${stream}}:${planId}` : `${p}quantum:apply:${name}:${planId}`;
  /** The P3.3 ledgers' and their cursor's common hash tag (cluster mode). */
  const ledgerTag = `{${p}ledger}`;
  const permit = (authority: string, planId: string, symbol?: string) =>
    authority === 'governor'
      ? `${p}quantum:permit:${planTail('permit', planId, symbol)}`
      : `${p}quantum:permit:${authority}:${planTail('permit', planId, symbol)}`;
  return {
    prefix: p,
    cluster,
    proposal: (symbol: string) => `${p}quantum:harvest:proposal:${symbol}`,
    proposalPattern: () => `${p}quantum:harvest:proposal:*`,
    dedupe: (planId: string, symbol?: string) =>
      `${p}quantum:apply:dedupe:${planTail('dedupe', planId, symbol)}`,
    streamPublished: (planId: string) => streamMarker('stream_published', planStream, planId),
    planStream: () => planStream,
    resultStream: () => resultStream,
    governorPermit: (planId: string, symbol?: string) => permit('governor', planId, symbol),
    p33Permit: (planId: string, symbol?: string) => permit('p33', planId, symbol),
    /** Permit key of any authority: governor → quantum:permit:<id>, others → quantum:permit:<name>:<id>. */
    permit,
    permitPattern: () => `${p}quantum:permit:*`,
    /** Ours: receipt of an atomic permit consume ({token, bodies}); makes a re-run idempotent. */
    permitReceipt: (planId: string, symbol?: string) =>
      `${p}quantum:apply:consumed:${planTail('permitReceipt', planId, symbol)}`,
    governorBlock: (planId: string, symbol?: string) =>
      `${p}quantum:governor:block:${planTail('governorBlock', planId, symbol)}`,
    governorExec: (symbol: string) => `${p}quantum:governor:exec:${symbolTag(symbol)}`,
    governorDaily: (symbol: string, day: string) => `${p}quantum:governor:daily:${symbolTag(symbol)}:${day}`,
    governorDisarm: (day: string) => `${p}quantum:governor:disarm:${day}`,
    /** The fleet's: AUTO_DISARM entries alone, in the fleet's fields (a fleet reader takes any entry for a disarm). */
    governorEvents: () => `${p}quantum:stream:governor.events`,
    /**
     * Ours: one compact entry per governor decision (grant or block) and per change of the arm
     * state, for readers that follow decisions (explain, recorders); capped like the plan stream.
     */
    governorDecisions: () => `${p}quantum:stream:governor.decisions`,
    /** Ours: one compact entry per P3.3 decision (allow or deny), for recorders; capped likewise. */
    p33Decisions: () => `${p}quantum:stream:p33.decisions`,
    /**
     * Ours: one compact entry per write of an order intent (the intent, then each answer), so a
     * recorder sees what the exchange answered after the intent's TTL; capped like the plan stream.
     */
    orderEvents: () => `${p}quantum:stream:apply.orders`,
    positionSnapshot: (symbol: string) => `${p}quantum:position:snapshot:${symbol}`,
    positionLedger: (symbol: string) =>
      `${p}quantum:position:ledger:${cluster ? `${ledgerTag}:` : ''}${symbol}`,
    /** Ours: the live arm state read by the apply layer for every plan (hash: armed, reason, by, at). */
    armState: () => `${p}quantum:apply:arm`,
    /** Ours: marks a plan whose result is on the result stream (one result per plan, durable). */
    resultPublished: (planId: string) => streamMarker('result_published', resultStream, planId),
    /** Ours: exactly-once order intent per plan step (hash), written before an order is sent. */
    orderIntent: (planId: string, symbol?: string) =>
      `${p}quantum:apply:intent:${planTail('orderIntent', planId, symbol)}`,
    /** Ours: the P3.3 ledger's durable cursor over the result stream. */
    ledgerCursor: () => `${p}quantum:position:ledger_cursor${cluster ? `:${ledgerTag}` : ''}`,
    /**
     * Ours: orders whose outcome a plan's result left unknown (hash: plan id → {symbol, since});
     * the reconciler asks the exchange until each is settled.
     */
    unresolvedOrders: () => `${p}quantum:apply:unresolved`,
    /**
     * Ours: what the reconciler found of an order a result left unknown, one entry per plan, in
     * the result entry's format (so the P3.3 ledger follows the real fill).
     */
    reconciledStream: () => reconciledStream,
    /** Ours: marks a plan whose reconciled entry is published (once per plan). */
    reconciledPublished: (planId: string) => streamMarker('reconciled', reconciledStream, planId),
    /** Ours: the P3.3 ledger's cursor over the reconciled stream. */
    reconciledCursor: () => `${p}quantum:position:reconciled_cursor${cluster ? `:${ledgerTag}` : ''}`,
    /**
     * Ours: what the failover reconciliation found Redis had lost of our orders (a plan entry, an
     * intent, a consume receipt, a result) and what it did, one entry per plan and kind; capped.
     */
    failoverAudit: () => failoverAuditStream,
    /** Ours: marks a (plan, kind) whose failover audit entry is published (once each). */
    failoverAudited: (kind: string, planId: string) =>
      streamMarker(`failover_audited:${kind}`, failoverAuditStream, planId),
    /** Ours: an authority's once-per-plan decision marker (governor / p33), outliving its permit. */
    authorityDecision: (authority: string, planId: string, symbol?: string) =>
      `${p}quantum:${authority}:decided:${planTail('authorityDecision', planId, symbol)}`,
    /** Ours: touched at start-up to see whether keyspace notifications are on without CONFIG. */
    notifyProbe: () => `${p}quantum:apply:notify_probe`,
    /**
     * Ours: P3.3's close quantity permitted and not yet seen executed or lapsed (hash: seq,
     * granted_at, plan:<id>); the slot of the symbol's P3.3 permits and decision markers.
     */
    p33Reserved: (symbol: string) => `${p}quantum:p33:reserved:${symbolTag(symbol)}`,
    /**
     * Ours: a running service's heartbeat (hash: mode, exchange host, version, pid, host, start
     * time, config hash, last success), one per process, in the service's own namespace (so each
     * service's Redis ACL already covers it); `status` reads them (SCAN).
     */
    heartbeat: (service: HeartbeatNamespace, instance: string) =>
      `${p}quantum:${service}:heartbeat:${instance}`,
    heartbeatPatterns: () => HEARTBEAT_NAMESPACES.map((s) => `${p}quantum:${s}:heartbeat:*`),
    /**
     * Ours: one entry per canary plan, in the result entry's format plus the canary's report
     * (never the fleet's result stream, whose readers scan only its newest entries).
     */
    canaryStream: () => canaryStream,
    /** Ours: marks a canary whose entry is on the canary stream (once per canary). */
    canaryPublished: (planId: string) => streamMarker('canary_published', canaryStream, planId),
    /**
     * Ours: canary requests of `quantum-apply canary` (capped), read by the running apply replicas
     * through one consumer group (CANARY_REQUEST_GROUP), so exactly one replica handles each.
     */
    canaryRequests: () => canaryRequests,
    /** Ours: held for APPLY_CANARY_MIN_INTERVAL_SEC by the last canary run (SET NX): the rate limit. */
    canaryRun: () => `${p}quantum:apply:canary_run`,
    /** Ours: per-symbol ownership lease for apply replicas (the symbol's slot in cluster mode). */
    symbolLease: (symbol: string) => `${p}quantum:apply:lease:${symbolTag(symbol)}`,
  };
}

/** The key namespaces of the services that publish a heartbeat (apply, governor, P3.3). */
export const HEARTBEAT_NAMESPACES = ['apply', 'governor', 'p33'] as const;
export type HeartbeatNamespace = (typeof HEARTBEAT_NAMESPACES)[number];

export const PLAN_GROUPS = { governor: 'governor', p33: 'p33' } as const;

/** The apply replicas' consumer group on the canary request stream (keys.canaryRequests). */
export const CANARY_REQUEST_GROUP = 'apply';
