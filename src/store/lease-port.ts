/**
 * The lease operations every store adapter has (`store.leases`): apply replicas' symbol leases
 * (one owner per symbol) and the fenced intent write. Their own module so that the adapters'
 * implementations and the port both import them without importing each other.
 */
export type LeaseOutcome = { kind: 'acquired' } | { kind: 'renewed' } | { kind: 'held'; pttlMs: number };
export type LeaseCode = LeaseOutcome['kind'];
export type CreateIntentOutcome = 'written' | 'lease_lost' | 'intent_exists' | 'not_consumed';

export interface LeaseOps {
  /** SET NX PX with `token`, or renew it when `token` holds it; 'held' with its PTTL otherwise. */
  acquire(leaseKey: string, token: string, ttlMs: number): Promise<LeaseOutcome>;
  /**
   * acquire() for many leases in few calls (Redis: acquireLeases-N.lua per hash slot and
   * chunk); one code per key, in order. A failed call rejects (ownership then runs out locally).
   */
  acquireMany(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<LeaseCode[]>;
  /** Whether `token` holds the lease now (a read: nothing is renewed). */
  holds(leaseKey: string, token: string): Promise<boolean>;
  /** Deletes the lease only while `token` holds it. */
  release(leaseKey: string, token: string): Promise<boolean>;
  /**
   * HSET+EXPIRE the intent only while `token` holds `leaseKey` (null: no fence, a single apply),
   * no intent exists and, with `consumeToken`, that consume took the permits (the plan's receipt
   * holds its token): sent right behind the consume, it needs no round trip of its own.
   */
  createIntent(
    keys: { intent: string; lease: string; receipt: string },
    token: string | null,
    fields: Record<string, string>,
    ttlSec: number,
    consumeToken?: string,
  ): Promise<CreateIntentOutcome>;
}
