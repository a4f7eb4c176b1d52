/**
 * One serial worker per symbol: at most one run in flight per symbol, different symbols in
 * parallel. A kick while a run is in flight only marks the symbol dirty, so any burst of changes
 * coalesces into exactly one re-read after the current run ends. A run that throws (Redis
 * outage, unexpected bug) is retried with capped exponential backoff; the symbol stays dirty and
 * keeps the earliest detection time, so latency metrics include the outage.
 */

export interface SchedulerOptions {
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

  /** Stops intake, cuts backoff sleeps short and waits for every in-flight run to end. */
  async drain(): Promise<void> {
    this.stopped = true;
    for (const st of this.workers.values()) st.wake?.();
    await Promise.all([...this.workers.values()].map((st) => st.running ?? Promise.resolve()));
  }

  private async loop(symbol: string, st: WorkerState): Promise<void> {
    try {
      while (st.dirty && !this.stopped) {
        st.dirty = false;
        const at = st.detectedAtMs ?? 0;
        st.detectedAtMs = null;
        try {
          await this.run(symbol, at);
          st.failures = 0;
        } catch (err) {
          st.failures++;
          const wait = Math.min(this.opts.backoffMaxMs, this.opts.backoffMinMs * 2 ** (st.failures - 1));
          this.opts.onError(symbol, err, st.failures, wait);
          st.dirty = true;
          if (st.detectedAtMs === null || at < st.detectedAtMs) st.detectedAtMs = at;
          await this.sleep(st, wait);
        }
      }
    } finally {
      st.running = null;
    }
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
