/**
 * One serial worker per symbol: at most one run in flight per symbol, different symbols in
 * parallel. A kick while a run is in flight only marks the symbol dirty, so any burst of changes
 * coalesces into exactly one re-read after the current run ends. A run that throws (Redis
 * outage, unexpected bug) is retried with capped exponential backoff; the symbol stays dirty and
 * keeps the earliest detection time, so latency metrics include the outage.
 *
 * At most `maxInFlight` runs at once over all symbols (APPLY_MAX_IN_FLIGHT, default 64): past
 * it, kicked symbols wait their turn (still coalescing), so an overloaded process holds its
 * intake back instead of publishing plans whose permits cannot come within the wait. Without a
 * bound, `all` past capacity published every plan, starved its own authorities and ended nearly
 * every plan BLOCKED permit_timeout; `all` defaults lower (src/cli/commands/all.ts,
 * ALL_MAX_IN_FLIGHT), trading a little throughput for memory. Figures: BENCHMARKS.md.
 */
import { backoffMs } from '../../ops/backoff.js';

export interface SchedulerOptions {
  /** Runs in flight over all symbols at most (default: unbounded). */
  maxInFlight?: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  onError: (symbol: string, err: unknown, attempt: number, retryInMs: number) => void;
}

interface WorkerState {
  dirty: boolean;
  /** Earliest detection (ms) of a change not yet picked up by a run; null when none. */
  detectedAtMs: number | null;
  running: Promise<void> | null;
  failures: number;
  wake: (() => void) | null;
}

export type RunFn = (symbol: string, detectedAtMs: number) => Promise<void>;

export class SymbolScheduler {
  private readonly workers = new Map<string, WorkerState>();
  private stopped = false;
  /** Runs holding a slot, and runs waiting for one (FIFO). */
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly run: RunFn,
    private readonly opts: SchedulerOptions,
  ) {}

  /** Marks `symbol` dirty and starts its worker unless one is already running. */
  kick(symbol: string, detectedAtMs: number): void {
    if (this.stopped) return;
    let st = this.workers.get(symbol);
    if (!st) {
      st = { dirty: false, detectedAtMs: null, running: null, failures: 0, wake: null };
      this.workers.set(symbol, st);
    }
    st.dirty = true;
    if (st.detectedAtMs === null) st.detectedAtMs = detectedAtMs;
    if (!st.running) st.running = this.loop(symbol, st);
  }

  inFlight(): number {
    let n = 0;
    for (const st of this.workers.values()) if (st.running) n++;
    return n;
  }

  /** Runs waiting for a slot (APPLY_MAX_IN_FLIGHT reached). */
  queued(): number {
    return this.waiting.length;
  }

  /** Stops intake, cuts backoff sleeps short and waits for every in-flight run to end. */
  async drain(): Promise<void> {
    this.stopped = true;
    for (const st of this.workers.values()) st.wake?.();
    // Each waiting run gets a slot, sees `stopped` and gives it back.
    for (const go of this.waiting.splice(0)) {
      this.active++;
      go();
    }
    await Promise.all([...this.workers.values()].map((st) => st.running ?? Promise.resolve()));
  }

  private async loop(symbol: string, st: WorkerState): Promise<void> {
    try {
      while (st.dirty && !this.stopped) {
        // The slot first: kicks while waiting for it coalesce into this run. A free slot is
        // taken without yielding, so the run starts at once, as it did without the bound.
        if (!this.take()) await new Promise<void>((resolve) => this.waiting.push(resolve));
        if (this.stopped) {
          this.release();
          break;
        }
        st.dirty = false;
        const at = st.detectedAtMs ?? 0;
        st.detectedAtMs = null;
        try {
          await this.run(symbol, at);
          st.failures = 0;
        } catch (err) {
          st.failures++;
          const wait = backoffMs(st.failures - 1, {
            minMs: this.opts.backoffMinMs,
            maxMs: this.opts.backoffMaxMs,
          });
          this.opts.onError(symbol, err, st.failures, wait);
          st.dirty = true;
          if (st.detectedAtMs === null || at < st.detectedAtMs) st.detectedAtMs = at;
          this.release(); // not held through the backoff
          await this.sleep(st, wait);
          continue;
        }
        this.release();
      }
    } finally {
      st.running = null;
    }
  }

  /** Takes a free slot (true), or none is free (false). */
  private take(): boolean {
    if (this.active >= (this.opts.maxInFlight ?? Infinity)) return false;
    this.active++;
    return true;
  }

  /** Hands the slot to the next waiting run, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private sleep(st: WorkerState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        st.wake = null;
        resolve();
      }
      st.wake = done;
    });
  }
}
