/**
 * Position reads within one account's request weight.
 *
 * positionRisk costs weight 5 whether it names one symbol or none, and the apply layer and the
 * governor each read a position for every plan: ~10 weight a plan, so the account's 2,400 a minute
 * carried ~230 plans a minute. Past that the adapter refused reads locally, plans failed with
 * `exchange_read_failed:rate_limited`, and three refused governor reads auto-disarmed the apply
 * layer: a burst of exits (a market moving against many positions at once) stopped trading.
 *
 * So: while this minute's weight (the X-MBX-USED-WEIGHT-1M header) is below `shareFromWeight`,
 * each call is its own read, as before. From there until the minute rolls over, calls wait for the
 * next shared read: one account-wide read (or the one symbol's, when one symbol waits), started
 * after every call it serves was made, so no call gets an older answer than its own read would
 * have given. At most one shared read is in flight, and each starts at least `intervalMs()` after
 * the previous one: a third of the weight left this minute, spread over what is left of the minute
 * (between `minIntervalMs` and `maxIntervalMs`).
 *
 * A caller that accepts an older read (the governor: `maxAgeMs`, its position cache's second) is
 * answered from the last account-wide read when that read started recently enough, without waiting.
 */
import { ExchangeError, type Position } from '../port.js';
import { positionOrThrow, type PositionLookup } from './reads.js';

export interface PositionReadsOptions {
  /** One positionRisk read: of the one symbol given, else of the account. */
  read(symbol?: string): Promise<PositionLookup>;
  /** This minute's weight as last reported; null when no answer of this minute said. */
  weightUsed(): number | null;
  /** What the adapter lets reads spend this minute (the limit less the recovery reserve). */
  weightAllowed: number;
  msLeftInMinute(): number;
  now(): number;
  /** Reads are shared from this much weight used this minute (default: 40 % of the limit). */
  shareFromWeight: number;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  /** Called when the adapter starts sharing reads (at most once a minute): a log line. */
  onShare?(weightUsed: number): void;
}

const READ_WEIGHT = 5;
/** A shared read may spend this share of the weight left: apply, the governor and the rest share it. */
const SHARE_OF_REST = 3;

interface Waiter {
  resolve(p: Position): void;
  reject(err: unknown): void;
}

export class PositionReads {
  private waiting = new Map<string, Waiter[]>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  private lastStart = -Infinity;
  private sharedMinute = -1;
  /** The last account-wide read: when it started, and what it says of any symbol. */
  private lastAccount: { at: number; of: PositionLookup } | null = null;

  constructor(private readonly o: PositionReadsOptions) {}

  /** Shared reads sent so far, and the calls they answered (tests). */
  readonly stats = { shared: 0, served: 0 };

  async position(symbol: string, maxAgeMs = 0): Promise<Position> {
    const last = this.lastAccount;
    const ageMs = last ? this.o.now() - last.at : Infinity;
    if (maxAgeMs > 0 && last && ageMs <= maxAgeMs) return { ...positionOrThrow(last.of(symbol)), ageMs };
    const used = this.o.weightUsed();
    if (this.waiting.size === 0 && !this.inFlight && (used === null || used < this.o.shareFromWeight)) {
      return positionOrThrow((await this.o.read(symbol))(symbol));
    }
    if (used !== null && Math.floor(this.o.now() / 60_000) !== this.sharedMinute) {
      this.sharedMinute = Math.floor(this.o.now() / 60_000);
      this.o.onShare?.(used);
    }
    return new Promise<Position>((resolve, reject) => {
      const list = this.waiting.get(symbol);
      if (list) list.push({ resolve, reject });
      else this.waiting.set(symbol, [{ resolve, reject }]);
      this.schedule();
    });
  }

  /** Milliseconds between the starts of two shared reads, from the weight left this minute. */
  intervalMs(): number {
    const min = this.o.minIntervalMs ?? 250;
    const max = this.o.maxIntervalMs ?? 2000;
    const left = this.o.weightAllowed - (this.o.weightUsed() ?? 0);
    if (left <= 0) return max;
    const ms = (SHARE_OF_REST * READ_WEIGHT * this.o.msLeftInMinute()) / left;
    return Math.min(max, Math.max(min, ms));
  }

  /** Stops a pending shared read; its waiters fail (the adapter is closing). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = new Map();
    for (const list of batch.values())
      for (const w of list) w.reject(new ExchangeError('exchange_unreachable', 'adapter closed'));
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    const delay = Math.max(0, this.lastStart + this.intervalMs() - this.o.now());
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const batch = this.waiting;
    this.waiting = new Map();
    if (batch.size === 0) return;
    this.inFlight = true;
    this.lastStart = this.o.now();
    this.stats.shared++;
    this.stats.served += [...batch.values()].reduce((n, l) => n + l.length, 0);
    const symbols = [...batch.keys()];
    const at = this.lastStart;
    try {
      const of = await this.o.read(symbols.length === 1 ? symbols[0] : undefined);
      if (symbols.length > 1 && (this.lastAccount?.at ?? -Infinity) < at) this.lastAccount = { at, of };
      for (const symbol of symbols) {
        const p = of(symbol);
        for (const w of batch.get(symbol)!) {
          if (p instanceof ExchangeError) w.reject(p);
          else w.resolve(p);
        }
      }
    } catch (err) {
      for (const list of batch.values()) for (const w of list) w.reject(err);
    } finally {
      this.inFlight = false;
      if (this.waiting.size > 0) this.schedule();
    }
  }
}
