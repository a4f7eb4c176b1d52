/**
 * The one module that builds Redis keys. Every key the services, scripts and tools touch comes
 * from here (Lua scripts receive them through KEYS). Names follow ../shared/CONTRACT.md.
 *
 * `cluster` mode wraps the plan id / symbol in a hash tag so that every multi-key operation of
 * one plan lands in one slot; it changes key names, so it is opt-in and never used with the fleet.
 */
export interface KeyOptions {
  /** Prefix for every key (tests isolate themselves with a random one); the fleet uses "". */
  prefix?: string;
  cluster?: boolean;
}

export type KeySpace = ReturnType<typeof keySpace>;

export function keySpace(opts: KeyOptions = {}) {
  const p = opts.prefix ?? '';
  const tag = (s: string) => (opts.cluster ? `{${s}}` : s);
  return {
    prefix: p,
    proposal: (symbol: string) => `${p}quantum:harvest:proposal:${symbol}`,
    proposalPattern: () => `${p}quantum:harvest:proposal:*`,
    dedupe: (planId: string) => `${p}quantum:apply:dedupe:${tag(planId)}`,
    streamPublished: (planId: string) => `${p}quantum:apply:stream_published:${tag(planId)}`,
    planStream: () => `${p}quantum:stream:apply.plan`,
    resultStream: () => `${p}quantum:stream:apply.result`,
    governorPermit: (planId: string) => `${p}quantum:permit:${tag(planId)}`,
    p33Permit: (planId: string) => `${p}quantum:permit:p33:${tag(planId)}`,
    /** Permit key of any authority: governor → quantum:permit:<id>, others → quantum:permit:<name>:<id>. */
    permit: (authority: string, planId: string) =>
      authority === 'governor'
        ? `${p}quantum:permit:${tag(planId)}`
        : `${p}quantum:permit:${authority}:${tag(planId)}`,
    permitPattern: () => `${p}quantum:permit:*`,
    /** Ours: receipt of an atomic permit consume ({token, bodies}); makes a re-run idempotent. */
    permitReceipt: (planId: string) => `${p}quantum:apply:consumed:${tag(planId)}`,
    governorBlock: (planId: string) => `${p}quantum:governor:block:${tag(planId)}`,
    governorExec: (symbol: string) => `${p}quantum:governor:exec:${tag(symbol)}`,
    governorDaily: (symbol: string, day: string) => `${p}quantum:governor:daily:${tag(symbol)}:${day}`,
    governorDisarm: (day: string) => `${p}quantum:governor:disarm:${day}`,
    governorEvents: () => `${p}quantum:stream:governor.events`,
    positionSnapshot: (symbol: string) => `${p}quantum:position:snapshot:${symbol}`,
    positionLedger: (symbol: string) => `${p}quantum:position:ledger:${symbol}`,
    /** Ours: the live arm state read by the apply layer for every plan (hash: armed, reason, by, at). */
    armState: () => `${p}quantum:apply:arm`,
    /** Ours: marks a plan whose result is on the result stream (one result per plan, durable). */
    resultPublished: (planId: string) => `${p}quantum:apply:result_published:${tag(planId)}`,
    /** Ours: exactly-once order intent per plan step (hash), written before an order is sent. */
    orderIntent: (planId: string) => `${p}quantum:apply:intent:${tag(planId)}`,
    /** Ours: the P3.3 ledger's durable cursor over the result stream. */
    ledgerCursor: () => `${p}quantum:position:ledger_cursor`,
    /** Ours: an authority's once-per-plan decision marker (governor / p33), outliving its permit. */
    authorityDecision: (authority: string, planId: string) =>
      `${p}quantum:${authority}:decided:${tag(planId)}`,
    /** Ours: touched at start-up to see whether keyspace notifications are on without CONFIG. */
    notifyProbe: () => `${p}quantum:apply:notify_probe`,
    /** Ours: per-symbol ownership lease for apply replicas. */
    symbolLease: (symbol: string) => `${p}quantum:apply:lease:${symbol}`,
  };
}

export const PLAN_GROUPS = { governor: 'governor', p33: 'p33' } as const;
