/**
 * The memory adapter's symbol leases and fenced intent write (lease-port.ts): one table per
 * store on its clock, so in-process replicas sharing a MemoryStore see the same leases.
 */
import type { Clock } from '../../ops/clock.js';
import type { LeaseCode, LeaseOps, LeaseOutcome } from '../lease-port.js';
import type { Store } from '../port.js';

interface MemLease {
  token: string;
  expiresAt: number;
}

export class MemLeases implements LeaseOps {
  private readonly table = new Map<string, MemLease>();

  constructor(
    private readonly clock: Clock,
    private readonly store: Pick<Store, 'exists' | 'hset'>,
  ) {}

  private live(key: string): MemLease | undefined {
    const l = this.table.get(key);
    if (l && l.expiresAt <= this.clock.now()) this.table.delete(key);
    return this.table.get(key);
  }

  private take(key: string, token: string, ttlMs: number): LeaseOutcome {
    const cur = this.live(key);
    if (cur && cur.token !== token) return { kind: 'held', pttlMs: cur.expiresAt - this.clock.now() };
    this.table.set(key, { token, expiresAt: this.clock.now() + ttlMs });
    return { kind: cur ? 'renewed' : 'acquired' };
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<LeaseOutcome> {
    return this.take(key, token, ttlMs);
  }

  async acquireMany(keys: readonly string[], token: string, ttlMs: number): Promise<LeaseCode[]> {
    return keys.map((key) => this.take(key, token, ttlMs).kind);
  }

  async release(key: string, token: string): Promise<boolean> {
    if (this.live(key)?.token !== token) return false;
    this.table.delete(key);
    return true;
  }

  readonly createIntent: LeaseOps['createIntent'] = async (intentKey, leaseKey, token, fields, ttlSec) => {
    // Checked and written without an await in between: atomic on the one JS thread.
    if (this.live(leaseKey)?.token !== token) return 'lease_lost';
    const exists = this.store.exists(intentKey);
    if (await exists) return 'intent_exists';
    if (this.live(leaseKey)?.token !== token) return 'lease_lost';
    await this.store.hset(intentKey, fields, ttlSec);
    return 'written';
  };
}
