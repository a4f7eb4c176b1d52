/**
 * The history recorder: follows the plan, result, reconciled, order-event and both decision
 * streams through a consumer group of its own (`history`), turns each entry into a row
 * (rows.ts) and writes them in batches (write.ts), acknowledging a batch's entries only after its
 * commit. Off the trading path: it only reads the streams and acks its own group, so a database
 * that is down or slow holds back its rows, never a plan or an order; the held batch is written
 * again with backoff until it commits, then the recorder catches up from its group.
 *
 * A restart re-reads the consumer's own pending entries; entries left pending by a recorder that
 * is gone are taken over once idle (XAUTOCLAIM). Writing an entry twice is a no-op (natural keys).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, type Backoff } from '../ops/backoff.js';
import type { Clock } from '../ops/clock.js';
import type { HistoryMetrics } from '../ops/metrics.js';
import type { ConsumerLogger } from '../services/plan-consumer.js';
import type { Store, StreamEntry } from '../store/port.js';
import type { History } from './db.js';
import {
  decisionRow,
  HISTORY_STREAMS,
  historyStreamKeys,
  orderEvent,
  planRow,
  resultRow,
  streamIdMs,
  type HistoryStream,
} from './rows.js';
import { batchSize, emptyBatch, writeBatch, type RowBatch } from './write.js';

export const HISTORY_GROUP = 'history';

export interface HistoryLag {
  stream: HistoryStream;
  /** Entries on the stream not yet recorded. */
  entries: number;
  /** Age of the oldest of them (0 when none). */
  seconds: number;
}

/** A pino logger, or anything with its three levels. */
export type RecorderLogger = ConsumerLogger;

export interface RecorderOptions {
  store: Store;
  history: Pick<History, 'db'>;
  clock: Clock;
  logger: RecorderLogger;
  metrics?: HistoryMetrics;
  /** Consumer name in the group (`rec-<host>-<pid>`). */
  consumer: string;
  /** Entries read per stream per round (HISTORY_BATCH). */
  batch?: number;
  /** Wait when a round read nothing. */
  idleMs?: number;
  /** Entries pending this long on another consumer are taken over. */
  claimIdleMs?: number;
  claimEveryMs?: number;
  /** Between failed writes of a held batch, and between failed Redis reads. */
  retry?: Backoff;
  sleep?: (ms: number) => Promise<void>;
}

/** Adds one stream's entries to a batch; returns the skipped entries' reasons. */
export function addEntries(
  batch: RowBatch,
  stream: HistoryStream,
  entries: readonly StreamEntry[],
): string[] {
  const skipped: string[] = [];
  for (const e of entries) {
    let p;
    switch (stream) {
      case 'apply.plan':
        p = planRow(e);
        if (p.ok) batch.plans.push(p.row);
        break;
      case 'apply.result':
      case 'apply.reconciled':
        p = resultRow(stream, e);
        if (p.ok) batch.results.push(p.row);
        break;
      case 'apply.orders':
        p = orderEvent(e);
        if (p.ok) batch.orders.push(p.row);
        break;
      case 'governor.decisions':
      case 'p33.decisions':
        p = decisionRow(stream, e);
        if (p.ok) batch.decisions.push(p.row);
        break;
    }
    if (!p.ok) skipped.push(p.reason);
  }
  return skipped;
}

export class Recorder {
  private stopped = true;
  private loop: Promise<void> | null = null;
  private readonly keys: Record<HistoryStream, string>;
  /** Streams whose own pending entries are not all re-read yet (after a start). */
  private readonly draining = new Set<HistoryStream>();
  private groupsReady = false;
  private lastClaim = 0;
  /** The last entry id acked per stream (the lag's reference). */
  private readonly lastAcked = new Map<HistoryStream, string>();
  private waiting: string | null = null;
  private readonly o: Required<Omit<RecorderOptions, 'metrics'>> & Pick<RecorderOptions, 'metrics'>;

  constructor(opts: RecorderOptions) {
    this.o = {
      batch: 500,
      idleMs: 200,
      claimIdleMs: 30_000,
      claimEveryMs: 5_000,
      retry: { minMs: 200, maxMs: 10_000 },
      sleep,
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as RecorderOptions),
    };
    this.keys = historyStreamKeys(opts.store.keys);
  }

  /** What the recorder is waiting for (the database, Redis), or null while it keeps up. */
  get waitingFor(): string | null {
    return this.waiting;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const s of HISTORY_STREAMS) this.draining.add(s);
    this.loop = this.run();
  }

  /** Stops after the round in flight; a batch not yet committed stays pending for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.loop = null;
  }

  /** Creates the groups at the start of each stream, so a first start records what they still hold. */
  async ensureGroups(): Promise<void> {
    for (const s of HISTORY_STREAMS) await this.o.store.createGroup(this.keys[s], HISTORY_GROUP, '0');
    this.groupsReady = true;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.groupsReady) await this.ensureGroups();
        const n = await this.round();
        if (this.waiting)
          this.o.logger.info({ waited_for: this.waiting }, 'history recorder: recording again');
        this.waiting = null;
        failures = 0;
        if (n === 0 && !this.stopped) await this.o.sleep(this.o.idleMs);
      } catch (err) {
        // A stream deleted under us (its groups with it; Redis lost its data): create them again.
        if (/NOGROUP/.test((err as Error).message)) this.groupsReady = false;
        const what = `Redis (${(err as Error).message})`;
        if (this.waiting !== what)
          this.o.logger.warn({ err: (err as Error).message }, 'history recorder: waiting for Redis');
        this.waiting = what;
        await this.o.sleep(backoffMs(failures++, this.o.retry));
      }
    }
  }

  /** One round: read every stream, write what was read, ack it. Returns the entries read. */
  async round(): Promise<number> {
    const read = await this.readAll();
    const total = [...read.values()].reduce((n, es) => n + es.length, 0);
    if (total === 0) return 0;
    const batch = emptyBatch();
    for (const [stream, entries] of read) {
      for (const reason of addEntries(batch, stream, entries)) {
        this.o.metrics?.skipped.inc({ stream, reason });
        this.o.logger.warn({ stream, reason }, 'history recorder: entry not recorded');
      }
    }
    if (batchSize(batch) > 0 && !(await this.commit(batch))) return total;
    for (const [stream, entries] of read) {
      if (entries.length === 0) continue;
      await this.o.store.ack(
        this.keys[stream],
        HISTORY_GROUP,
        entries.map((e) => e.id),
      );
      this.lastAcked.set(stream, entries[entries.length - 1]!.id);
    }
    return total;
  }

  /**
   * How far behind each stream is: entries not yet recorded (undelivered + pending in the group),
   * and the age of the oldest of them, taken as the first entry after the last one this process
   * acked (so an idle, caught-up stream reads 0, and a stalled one grows).
   */
  async lag(): Promise<HistoryLag[]> {
    const { store, clock } = this.o;
    const out: HistoryLag[] = [];
    for (const s of HISTORY_STREAMS) {
      const key = this.keys[s];
      const g = (await store.groups(key)).find((x) => x.name === HISTORY_GROUP);
      // No group yet (before the first round): nothing the stream holds is recorded.
      const entries = g ? (g.lag ?? 0) + g.pending : await store.xlen(key);
      let seconds = 0;
      if (entries > 0) {
        const after = this.lastAcked.get(s);
        const next = (await store.xrange(key, after ?? '-', '+', 2)).find((e) => e.id !== after);
        const ms = next ? streamIdMs(next.id) : null;
        if (ms !== null) seconds = Math.max(0, (clock.now() - ms) / 1000);
      }
      out.push({ stream: s, entries, seconds });
    }
    return out;
  }

  private async readAll(): Promise<Map<HistoryStream, StreamEntry[]>> {
    const { store, consumer, batch } = this.o;
    const claim = this.o.clock.now() - this.lastClaim >= this.o.claimEveryMs;
    if (claim) this.lastClaim = this.o.clock.now();
    const out = new Map<HistoryStream, StreamEntry[]>();
    for (const s of HISTORY_STREAMS) {
      const key = this.keys[s];
      let entries: StreamEntry[] = [];
      if (this.draining.has(s)) {
        entries = await store.readOwnPending(key, HISTORY_GROUP, consumer, batch);
        if (entries.length < batch) this.draining.delete(s);
      }
      if (entries.length === 0 && claim) {
        entries = await store.autoClaim(key, HISTORY_GROUP, consumer, this.o.claimIdleMs, batch);
      }
      if (entries.length === 0)
        entries = await store.readGroup(key, HISTORY_GROUP, consumer, { count: batch, blockMs: 0 });
      out.set(s, entries);
    }
    return out;
  }

  /**
   * Writes the batch, again and again with backoff while the database fails. False when stopped
   * first: nothing is acked, so the entries are read again.
   */
  private async commit(batch: RowBatch): Promise<boolean> {
    const { metrics, clock } = this.o;
    for (let attempt = 0; ; attempt++) {
      const t0 = clock.now();
      try {
        const n = await writeBatch(this.o.history, batch);
        metrics?.batchSeconds.observe((clock.now() - t0) / 1000);
        for (const [table, count] of Object.entries(n)) metrics?.rows.inc({ table }, count);
        if (attempt > 0)
          this.o.logger.info({ attempts: attempt + 1 }, 'history recorder: database written again');
        return true;
      } catch (err) {
        metrics?.writeFailures.inc();
        const what = `the history database (${(err as Error).message})`;
        if (this.waiting !== what)
          this.o.logger.warn({ err: (err as Error).message }, 'history recorder: write failed; retrying');
        this.waiting = what;
        if (this.stopped) return false;
        await this.o.sleep(backoffMs(attempt, this.o.retry));
        if (this.stopped) return false;
      }
    }
  }
}
