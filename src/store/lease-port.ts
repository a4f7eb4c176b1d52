/**
 * The lease capability for apply replicas (one owner per symbol) and the fenced intent write.
 * A port beside the Store port rather than in it: only the apply layer's replica mode uses it.
 * Its own module so that lease.ts (which picks the implementation) and the Redis implementation
 * both import it without importing each other.
 */
export type LeaseOutcome = { kind: 'acquired' } | { kind: 'renewed' } | { kind: 'held'; pttlMs: number };
export type LeaseCode = LeaseOutcome['kind'];
export type CreateIntentOutcome = 'written' | 'lease_lost' | 'intent_exists';

export interface LeaseOps {
  acquire(leaseKey: string, token: string, ttlMs: number): Promise<LeaseOutcome>;
  /**
   * acquire() for many leases in few calls (Redis: acquireLeases-N.lua per hash slot and chunk);
   * one code per key, in order. A failed call rejects (ownership then runs out locally).
   */
  acquireMany(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<LeaseCode[]>;
  release(leaseKey: string, token: string): Promise<boolean>;
  /** HSET+EXPIRE the intent only while `token` holds `leaseKey` and no intent exists. */
  createIntent(
    intentKey: string,
    leaseKey: string,
    token: string,
    fields: Record<string, string>,
    ttlSec: number,
  ): Promise<CreateIntentOutcome>;
}
