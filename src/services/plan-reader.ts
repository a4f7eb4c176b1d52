/**
 * How the authorities (governor, P3.3) read the plan stream: each in its own consumer group,
 * through a PlanConsumer, parsing every entry at the boundary.
 */
import { hostname } from 'node:os';
import {
  parseCheckedPlan,
  type CheckedPlanParse,
  type PlanSignaturePolicy,
} from '../domain/governor/plan-input.js';
import type { Store } from '../store/port.js';
import { PlanConsumer, type ConsumerLogger, type PlanConsumerOptions } from './plan-consumer.js';

/** What an authority's options carry through to its plan-stream consumer. */
export interface PlanReaderOptions {
  store: Store;
  /** Consumer name; default `<tag>-<host>-<pid>`. */
  consumer?: string;
  logger: ConsumerLogger;
  batch?: number;
  blockMs?: number;
  claimIdleMs?: number;
  /** Entries handled at once, batches read ahead included (GOV_/P33_MAX_IN_FLIGHT; default 256). */
  maxInFlight?: number;
}

/**
 * An authority's parse of a plan entry at the boundary: a rejected entry is counted by reason
 * and logged once here, and the caller turns it into its `garbage` outcome, which decides
 * nothing for the plan id (so a forged entry cannot pre-empt the real one). A bad signature on
 * an entry that is handled anyway (signatures not required) is counted and logged the same way.
 */
export function readPlanEntry(
  fields: Record<string, string>,
  o: {
    metrics?: { inputRejected: { inc(labels: { reason: string }): void } };
    logger: ConsumerLogger;
    planSignatures?: PlanSignaturePolicy | null;
  },
): CheckedPlanParse {
  const parsed = parseCheckedPlan(fields, o.planSignatures);
  const plan = fields.plan_id?.slice(0, 64);
  if (!parsed.ok) {
    o.metrics?.inputRejected.inc({ reason: parsed.reason });
    o.logger.warn({ reason: parsed.reason, plan, ...parsed.detail }, 'plan entry rejected');
  } else if (parsed.signature) {
    const { reason, detail } = parsed.signature;
    o.metrics?.inputRejected.inc({ reason });
    o.logger.warn(
      { reason, plan, ...detail },
      'plan entry signature invalid; handled anyway (signed plans not required)',
    );
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
    maxInFlight: o.maxInFlight,
  });
}
