/**
 * The consumer-group loop both authorities share: create the group at `$` (MKSTREAM), finish our
 * own pending entries after a restart, reclaim dead consumers' entries (XAUTOCLAIM, min idle),
 * read new entries, and acknowledge each one after its handler returns. A handler that throws
 * (Redis unreachable mid-entry) leaves the entry pending: it is handled again after recovery.
 * Outages are waited out with backoff, saying what we wait for.
 *
 * The loop reads the next batch while earlier batches are still being handled (up to
 * `maxInFlight` entries), so an entry that arrives while a batch waits on a slow exchange read
 * is not held back until that batch finishes.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../ops/backoff.js';
import type { Store, StreamEntry } from '../store/port.js';

export interface ConsumerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PlanConsumerOptions {
  store: Store;
  stream: string;
  group: string;
  consumer: string;
  handle: (entry: StreamEntry) => Promise<void>;
  /** Called when a handler keeps throwing for one entry (poison): decide it fails closed, then ack. */
  giveUp: (entry: StreamEntry, err: unknown) => Promise<void>;
  logger: ConsumerLogger;
  batch?: number;
  blockMs?: number;
  /** Entries pending longer than this on another consumer are taken over. */
  claimIdleMs?: number;
  claimEveryMs?: number;
  /** Attempts per entry before giveUp. */
  maxAttempts?: number;
  /** Entries handled at once across batches; the loop stops reading while this many are in flight. */
  maxInFlight?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Waiting out a Redis outage: 200 ms after the first failure, doubling to 3 s. */
const OUTAGE_BACKOFF = { minMs: 100, maxMs: 3000 };

const CONNECTION_ERROR =
  /ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|Connection is closed|connect|timed out|MaxRetriesPerRequest|writeable|LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|READONLY/i;

/** Redis unreachable or not ready (as opposed to a fault of one entry). */
export function isConnectionError(err: unknown): boolean {
  return CONNECTION_ERROR.test(errText(err)) || CONNECTION_ERROR.test((err as { code?: string })?.code ?? '');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class PlanConsumer {
  private stopped = true;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;
  private waiting: string | null = null;
  private readonly attempts = new Map<string, number>();
  /** Batches being handled by the loop, and the ids of their entries. */
  private readonly batches = new Set<Promise<void>>();
  private readonly inFlight = new Set<string>();
  private batchError: { err: unknown } | null = null;
  private readonly o: Required<Omit<PlanConsumerOptions, 'sleep'>> & { sleep: (ms: number) => Promise<void> };

  constructor(opts: PlanConsumerOptions) {
    this.o = {
      batch: 64,
      blockMs: 1000,
      claimIdleMs: 30_000,
      claimEveryMs: 5_000,
      maxAttempts: 3,
      maxInFlight: 256,
      sleep,
      // An option passed as undefined keeps its default.
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as PlanConsumerOptions),
    };
  }

  /** What the loop is waiting for (an outage), or null while consuming normally. */
  get waitingFor(): string | null {
    return this.waiting;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.loop = null;
  }

  /** Creates the group (idempotent). */
  async ensureGroup(): Promise<void> {
    await this.o.store.createGroup(this.o.stream, this.o.group, '$');
  }

  /** Handles and acks this consumer's own pending entries (left by a crash or an outage). */
  async drainOwnPending(): Promise<number> {
    let total = 0;
    for (;;) {
      const entries = await this.o.store.readOwnPending(
        this.o.stream,
        this.o.group,
        this.o.consumer,
        this.o.batch,
      );
      const done = await this.process(entries);
      total += done;
      if (entries.length < this.o.batch || done === 0) return total;
    }
  }

  /** Takes over entries idle on other (dead) consumers and handles them. */
  async reclaim(): Promise<number> {
    const { store, stream, group, consumer, claimIdleMs, batch } = this.o;
    // XAUTOCLAIM does not look at the owner: an entry of ours still in flight (idle that long on a
    // slow handler) comes back too, and is left to the batch handling it.
    const entries = (await store.autoClaim(stream, group, consumer, claimIdleMs, batch)).filter(
      (e) => !this.inFlight.has(e.id),
    );
    if (entries.length > 0) this.o.logger.warn({ count: entries.length, group }, 'reclaimed pending entries');
    return this.process(entries);
  }

  /** One read of new entries (blocking up to blockMs) and their handling. */
  async pollOnce(blockMs = this.o.blockMs): Promise<number> {
    const { store, stream, group, consumer, batch } = this.o;
    const entries = await store.readGroup(stream, group, consumer, { count: batch, blockMs });
    return this.process(entries);
  }

  /**
   * Handles entries concurrently, then acknowledges every entry whose handler returned in one
   * XACK (one XACK per entry was a visible share of the Redis commands per plan across the two
   * authorities). An entry whose handler threw stays pending; the first such error is rethrown
   * after the others are acknowledged. Returns how many were acked.
   */
  async process(entries: StreamEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const settled = await Promise.allSettled(entries.map((e) => this.one(e)));
    const done = entries.filter((_, i) => settled[i]!.status === 'fulfilled').map((e) => e.id);
    if (done.length > 0) await this.o.store.ack(this.o.stream, this.o.group, done);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return done.length;
  }

  private async one(entry: StreamEntry): Promise<void> {
    try {
      await this.o.handle(entry);
    } catch (err) {
      // An outage is waited out, never counted against the entry: only a fault of this entry is.
      if (isConnectionError(err)) throw err;
      const n = (this.attempts.get(entry.id) ?? 0) + 1;
      this.attempts.set(entry.id, n);
      if (n < this.o.maxAttempts) throw err;
      this.o.logger.error(
        { entry: entry.id, attempts: n, err: errText(err) },
        'entry keeps failing: deciding it fails closed',
      );
      await this.o.giveUp(entry, err);
    }
    this.attempts.delete(entry.id);
  }

  /**
   * Reads the next batch and starts handling it without waiting for it to finish, unless
   * `maxInFlight` entries are already in flight (then it waits for a batch to finish instead).
   * A failed batch is rethrown here, after every batch in flight has settled, so that recovery
   * (drainOwnPending) never handles an entry a batch is still handling.
   */
  private async readAhead(): Promise<void> {
    await this.rethrowBatchError();
    const room = this.o.maxInFlight - this.inFlight.size;
    if (room <= 0) {
      await Promise.race(this.batches);
      return;
    }
    const { store, stream, group, consumer, batch, blockMs } = this.o;
    const entries = await store.readGroup(stream, group, consumer, { count: Math.min(batch, room), blockMs });
    if (entries.length === 0) return;
    for (const e of entries) this.inFlight.add(e.id);
    const handled: Promise<void> = this.process(entries)
      .then(
        () => undefined,
        (err: unknown) => void (this.batchError ??= { err }),
      )
      .finally(() => {
        for (const e of entries) this.inFlight.delete(e.id);
        this.batches.delete(handled);
      });
    this.batches.add(handled);
  }

  /** Waits for every batch in flight (their failures were recorded, not thrown). */
  private async settle(): Promise<void> {
    while (this.batches.size > 0) await Promise.all([...this.batches]);
  }

  private async rethrowBatchError(): Promise<void> {
    if (!this.batchError) return;
    await this.settle();
    const { err } = this.batchError;
    this.batchError = null;
    throw err;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needsSetup = true;
    while (!this.stopped) {
      try {
        if (needsSetup) {
          await this.ensureGroup();
          await this.drainOwnPending();
          needsSetup = false;
        }
        if (performance.now() - this.lastClaim >= this.o.claimEveryMs) {
          this.lastClaim = performance.now();
          await this.reclaim();
        }
        await this.readAhead();
        if (this.waiting) {
          this.o.logger.info(
            { group: this.o.group, after: this.waiting },
            'redis reachable again: consuming',
          );
          this.waiting = null;
        }
        failures = 0;
      } catch (err) {
        failures++;
        needsSetup = true;
        // Recovery re-reads our pending entries: let the batches still in flight finish first.
        await this.settle();
        this.batchError = null;
        const what = `redis at ${this.o.stream} (group ${this.o.group}): ${errText(err)}`;
        if (this.waiting === null || failures % 20 === 0) {
          this.o.logger.warn({ group: this.o.group, failures, err: errText(err) }, `waiting for ${what}`);
        }
        this.waiting = what;
        await this.o.sleep(backoffMs(failures, OUTAGE_BACKOFF));
      }
    }
    await this.settle();
  }
}
