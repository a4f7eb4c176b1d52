/**
 * The running apply's half of a canary (PROTOCOL.md "Canary plans"): `quantum-apply canary`
 * writes a request on `quantum:stream:apply.canary_request`; every apply replica reads that
 * stream through one consumer group, so exactly one replica takes each request. It checks the
 * request and the rate limit itself (anyone who can write Redis can write a request), then runs
 * each canary with the same permit wait, consume and signature checks as a real plan
 * (runCanary), and publishes each report on the canary stream, where the command waits for it.
 *
 * This module gets a CanaryDeps (store, clock, logger) built field by field: the exchange and
 * the order path are not reachable from here.
 */
import { parseCanaryRequest, type CanaryHandler } from '../../domain/canary.js';
import { CANARY_REQUEST_GROUP } from '../../store/keys.js';
import type { StreamEntry } from '../../store/port.js';
import { PlanConsumer } from '../plan-consumer.js';
import { refuseCanary, runCanary, takeCanaryRun, type CanaryDeps, type CanaryOptions } from './canary.js';

/**
 * How long after the request the command waits for the first answer, beyond APPLY_PERMIT_WAIT_MS
 * (pick-up, the watch, the publication, the report): a request older than the permit wait plus
 * this is dropped unanswered, since no command is waiting for it any more.
 */
export const CANARY_ANSWER_MARGIN_MS = 2000;
/** The request stream is capped like the other streams of ours; requests are rare. */
export const CANARY_REQUEST_MAXLEN = 1000;

export interface CanaryRequestOptions extends CanaryOptions {
  /** APPLY_CANARY_MIN_INTERVAL_SEC / APPLY_CANARY_MAX_COUNT, as this apply process reads them. */
  minIntervalSec: number;
  maxCount: number;
  handler: CanaryHandler;
  /** Group read block (default 1000 ms): how long stop() may wait for the read in progress. */
  blockMs?: number;
}

export interface CanaryRequestDeps extends CanaryDeps {
  /** `quantum_apply_canary_total{outcome}`: passed, the failure reason, a refusal, expired. */
  count?: (outcome: string) => void;
}

export class CanaryRequests {
  private readonly consumer: PlanConsumer;
  private readonly deps: CanaryDeps;

  constructor(
    private readonly d: CanaryRequestDeps,
    private readonly opts: CanaryRequestOptions,
  ) {
    this.deps = { store: d.store, clock: d.clock, logger: d.logger };
    this.consumer = new PlanConsumer({
      store: d.store,
      stream: d.store.keys.canaryRequests(),
      group: CANARY_REQUEST_GROUP,
      consumer: `apply-${opts.handler.instance}`,
      handle: (e) => this.handle(e),
      // A request that keeps failing is dropped: the command reports that no apply answered.
      giveUp: async (e, err) => {
        this.d.count?.('failed');
        d.logger.error({ entry: e.id, err: String(err) }, 'apply: canary request dropped after retries');
      },
      logger: d.logger,
      batch: 8,
      ...(opts.blockMs !== undefined ? { blockMs: opts.blockMs } : {}),
    });
  }

  /** Creates the group before returning (a request written after start() is read), then reads. */
  async start(): Promise<void> {
    try {
      await this.consumer.ensureGroup();
    } catch (err) {
      // The loop creates it once Redis answers.
      this.d.logger.warn({ err: String(err) }, 'apply: canary request group not created yet');
    }
    this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  async handle(entry: StreamEntry): Promise<void> {
    const { store, logger } = this.deps;
    const origin = (requestId: string | null) => ({ requestId, handledBy: this.opts.handler });
    const parsed = parseCanaryRequest(entry.fields);
    if (!parsed.ok) {
      this.d.count?.('bad_request');
      logger.warn({ entry: entry.id, reason: parsed.reason }, 'apply: canary request refused');
      // Answered only when the command can recognise its answer.
      if (parsed.requestId !== null) await this.refuse(entry.fields, parsed.reason, origin(parsed.requestId));
      return;
    }
    const r = parsed.request;
    const at = origin(r.requestId);
    // The entry id's time and TIME are both the server's clock: no host clock skew here.
    const ageMs = (await store.serverTimeMs()) - Number(entry.id.split('-')[0]);
    if (ageMs > this.opts.permitWaitMs + CANARY_ANSWER_MARGIN_MS) {
      this.d.count?.('expired');
      logger.warn({ request: r.requestId, age_ms: ageMs }, 'apply: canary request expired unanswered');
      return;
    }
    if (r.count > this.opts.maxCount) {
      this.d.count?.('count_above_max');
      await this.refuse(entry.fields, 'count_above_max', at);
      return;
    }
    const leftSec = await takeCanaryRun(store, {
      minIntervalSec: this.opts.minIntervalSec,
      nowMs: this.deps.clock.now(),
      holder: { request_id: r.requestId, count: r.count, ...this.opts.handler },
    });
    if (leftSec !== null) {
      this.d.count?.('rate_limited');
      await this.refuse(entry.fields, 'rate_limited', at);
      return;
    }
    logger.info(
      { request: r.requestId, symbol: r.symbol, count: r.count, by: `${r.host}/${r.pid}` },
      'apply: canary request taken',
    );
    for (let i = 0; i < r.count; i++) {
      const report = await runCanary(this.deps, this.opts, { symbol: r.symbol, action: r.action }, at);
      this.d.count?.(report.passed ? 'passed' : (report.reason.split(':')[1] ?? report.reason));
    }
  }

  private async refuse(
    fields: Record<string, string>,
    reason: string,
    origin: Parameters<typeof refuseCanary>[3],
  ): Promise<void> {
    const symbol = typeof fields.symbol === 'string' ? fields.symbol.slice(0, 30) : '';
    const action =
      fields.action === 'PARTIAL_75' || fields.action === 'PARTIAL_50'
        ? fields.action
        : 'FULL_CLOSE_PROPOSED';
    await refuseCanary(this.deps, this.opts, { symbol, action, reason }, origin);
  }
}
