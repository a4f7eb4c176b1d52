/**
 * The consumer-group loop both authorities share: create the group at `$` (MKSTREAM), finish our
 * own pending entries after a restart, reclaim dead consumers' entries (XAUTOCLAIM, min idle),
 * read new entries, and acknowledge each one after its handler returns. A handler that throws
 * (Redis unreachable mid-entry) leaves the entry pending: it is handled again after recovery.
 * Outages are waited out with backoff, saying what we wait for.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseAuthorityPlan, type PlanParse } from '../domain/governor/plan-input.js';
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
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function backoffMs(failures: number): number {
  return Math.min(100 * 2 ** Math.min(failures, 5), 3000);
}

const CONNECTION_ERROR =
  /ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|Connection is closed|connect|timed out|MaxRetriesPerRequest|writeable|LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|READONLY/i;

/** Redis unreachable or not ready (as opposed to a fault of one entry). */
export function isConnectionError(err: unknown): boolean {
  return CONNECTION_ERROR.test(errText(err)) || CONNECTION_ERROR.test((err as { code?: string })?.code ?? '');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What an authority's options carry through to its plan-stream consumer. */
export interface PlanReaderOptions {
  store: Store;
  /** Consumer name; default `<tag>-<host>-<pid>`. */
  consumer?: string;
  logger: ConsumerLogger;
  batch?: number;
  blockMs?: number;
  claimIdleMs?: number;
}

/**
 * An authority's parse of a plan entry at the boundary: a rejected entry is counted by reason
 * and logged once here, and the caller turns it into its `garbage` outcome.
 */
export function readPlanEntry(
  fields: Record<string, string>,
  o: { metrics?: { inputRejected: { inc(labels: { reason: string }): void } }; logger: ConsumerLogger },
): PlanParse {
  const parsed = parseAuthorityPlan(fields);
  if (!parsed.ok) {
    o.metrics?.inputRejected.inc({ reason: parsed.reason });
    o.logger.warn({ reason: parsed.reason, plan: fields.plan_id?.slice(0, 64) }, 'plan entry rejected');
  }
  return parsed;
}

/** An authority's consumer of the plan stream in its own group (governor, p33). */
export function planStreamConsumer(
  o: PlanReaderOptions,
  group: string,
  tag: string,
  handle: PlanConsumerOptions['handle'],
  giveUp: PlanConsumerOptions['giveUp'],
): PlanConsumer {
  return new PlanConsumer({
    store: o.store,
    stream: o.store.keys.planStream(),
    group,
    consumer: o.consumer ?? `${tag}-${hostname()}-${process.pid}`,
    handle,
    giveUp,
    logger: o.logger,
    batch: o.batch,
    blockMs: o.blockMs,
    claimIdleMs: o.claimIdleMs,
  });
}

export class PlanConsumer {
  private stopped = true;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;
  private waiting: string | null = null;
  private readonly attempts = new Map<string, number>();
  private readonly o: Required<Omit<PlanConsumerOptions, 'sleep'>> & { sleep: (ms: number) => Promise<void> };

  constructor(opts: PlanConsumerOptions) {
    this.o = {
      batch: 64,
      blockMs: 1000,
      claimIdleMs: 30_000,
      claimEveryMs: 5_000,
      maxAttempts: 3,
      sleep: realSleep,
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
    const entries = await store.autoClaim(stream, group, consumer, claimIdleMs, batch);
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
   * XACK (measured: one XACK per entry was 2 of the ~55 Redis commands per plan across the two
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
        await this.pollOnce();
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
        const what = `redis at ${this.o.stream} (group ${this.o.group}): ${errText(err)}`;
        if (this.waiting === null || failures % 20 === 0) {
          this.o.logger.warn({ group: this.o.group, failures, err: errText(err) }, `waiting for ${what}`);
        }
        this.waiting = what;
        await this.o.sleep(backoffMs(failures));
      }
    }
  }
}
