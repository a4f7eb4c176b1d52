/**
 * Symbols noted within the last `windowMs`. The governor: symbols blocked for a rate limit
 * lately. The authorities: symbols whose long-lived keys (execution list, ledger, snapshot) had
 * their TTL renewed lately, so a write in between leaves the TTL alone (TTL_RENEW_MS).
 * Bounded: past `max` symbols the one noted longest ago is forgotten first.
 */
import type { Clock } from '../ops/clock.js';
import { BoundedMap } from './bounded.js';

/**
 * How often the authorities renew the TTL of a symbol's day-long keys (execution list 86,400 s,
 * ledger 86,400 s, snapshot 3,600 s) while they keep writing them: such a key then lives at least
 * its TTL minus one minute after its last write, and every write in between is one command fewer.
 * A write that creates the key always sets its TTL.
 */
export const TTL_RENEW_MS = 60_000;

export class RecentSymbols {
  /** Symbol → when it was last noted (unix ms). */
  private readonly at: BoundedMap<string, number>;

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    max = 10_000,
  ) {
    this.at = new BoundedMap(max);
  }

  has(symbol: string): boolean {
    const at = this.at.get(symbol);
    return at !== undefined && this.clock.now() - at < this.windowMs;
  }

  /** Every symbol noted within the window. */
  noted(): string[] {
    const now = this.clock.now();
    return [...this.at.entries()].filter(([, at]) => now - at < this.windowMs).map(([s]) => s);
  }

  note(symbol: string): void {
    this.at.set(symbol, this.clock.now());
  }
}
