/**
 * Symbols noted within the last `windowMs` (the governor: symbols blocked for a rate limit
 * lately). Bounded: past `max` symbols the one noted longest ago is forgotten first.
 */
import type { Clock } from '../../ops/clock.js';
import { BoundedMap } from '../bounded.js';

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

  note(symbol: string): void {
    this.at.set(symbol, this.clock.now());
  }
}
