/**
 * Symbols noted within the last `windowMs` (the governor: symbols blocked for a rate limit
 * lately). Bounded: past `max` symbols the one noted longest ago is forgotten first.
 */
import type { Clock } from '../../ops/clock.js';

export class RecentSymbols {
  /** Symbol → when it was last noted (unix ms), oldest first. */
  private readonly at = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly max = 10_000,
  ) {}

  has(symbol: string): boolean {
    const at = this.at.get(symbol);
    return at !== undefined && this.clock.now() - at < this.windowMs;
  }

  note(symbol: string): void {
    this.at.delete(symbol); // re-inserted last, so the first key is the oldest
    this.at.set(symbol, this.clock.now());
    if (this.at.size > this.max) {
      const oldest = this.at.keys().next().value;
      if (oldest !== undefined) this.at.delete(oldest);
    }
  }
}
