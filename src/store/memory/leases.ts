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
    private readonly store: Pick<Store, 'exists' | 'get' | 'hset'>,
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

  async holds(key: string, token: string): Promise<boolean> {
    return this.live(key)?.token === token;
  }

  async release(key: string, token: string): Promise<boolean> {
    if (this.live(key)?.token !== token) return false;
    this.table.delete(key);
    return true;
  }

  readonly createIntent: LeaseOps['createIntent'] = async (keys, token, fields, ttlSec, consumeToken) => {
    // Checked and written without an await in between the last check and the write's start:
    // atomic on the one JS thread, as the script is in Redis.
    const fenced = () => token === null || this.live(keys.lease)?.token === token;
    if (!fenced()) return 'lease_lost';
    const [receipt, exists] = await Promise.all([
      consumeToken === undefined ? null : this.store.get(keys.receipt),
      this.store.exists(keys.intent),
    ]);
    if (consumeToken !== undefined && receiptToken(receipt) !== consumeToken) return 'not_consumed';
    if (exists) return 'intent_exists';
    if (!fenced()) return 'lease_lost';
    await this.store.hset(keys.intent, fields, ttlSec);
    return 'written';
  };
}

/** The token a consume receipt holds (`{"token": ..., "bodies": [...]}`), or null. */
function receiptToken(receipt: string | null): string | null {
  if (receipt === null) return null;
  try {
    const stored: unknown = JSON.parse(receipt);
    const token = (stored as { token?: unknown } | null)?.token;
    return typeof token === 'string' ? token : null;
  } catch {
    return null;
  }
}
