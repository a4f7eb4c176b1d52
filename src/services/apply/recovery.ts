/**
 * Recovery: plans whose result is missing after a crash, a kill or a Redis outage. A plan with
 * an order intent takes its result from the exchange's record of that order (recoverFromIntent);
 * recoverOrphans finds such plans on the plan stream. Nothing here ever sends an order.
 */
import type { Logger } from 'pino';
import { PLAN_ID_PATTERN } from '../../domain/plan.js';
import type { OrderFill, StopFound } from '../../exchange/port.js';
import type { ApplyDeps } from './options.js';
import type { IntentWriter } from './intents.js';
import {
  failed,
  filled,
  outcome,
  placedStop,
  safeReason,
  type ExecOutcome,
  type PlanRef,
} from './outcome.js';
import type { ResultPublisher } from './result-publisher.js';

/** What recoverOrphans needs of the proposal handler. */
export interface OrphanScan {
  deps: ApplyDeps;
  intents: IntentWriter;
  results: ResultPublisher;
  /** Plan ids whose dedupe key this process set: their own worker publishes the result. */
  owned: { has(planId: string): boolean };
}

/**
 * A plan whose intent exists but whose result is missing (crash, Redis outage mid-plan): the
 * exchange is asked by client order id; nothing is ever resent.
 */
export async function recoverFromIntent(
  deps: ApplyDeps,
  intents: IntentWriter,
  plan: PlanRef,
  intent: Record<string, string>,
  log: Logger,
): Promise<ExecOutcome> {
  const step = intent.step ?? plan.steps?.[0]?.step ?? 'UNKNOWN';
  const clientId = intent.client_order_id ?? '';
  const state = intent.state ?? 'sending';
  log.warn({ intent }, `apply: recovering plan ${plan.planId} from its order intent (state=${state})`);
  if (state === 'cancelled') return outcome('BLOCKED', intent.reason ?? 'kill_switch_active');
  if (state === 'rejected') {
    return failed(step, `order_rejected:${safeReason(intent.reason ?? 'unknown')}`, 'recovered');
  }
  if (intent.kind === 'stop') {
    if (state === 'placed') return placedStop(step, intent.algo_id ?? '', intent.side ?? '', 'recovered');
    // Sent, no answer recorded (a crash, a kill): ask the exchange before calling it unknown. A
    // stop found in any state was placed (it may since have been replaced or triggered).
    let found: StopFound | null = null;
    try {
      found = await deps.exchange.findStopLoss(plan.symbol, clientId);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'apply: stop lookup failed during recovery');
    }
    if (found === null) return failed(step, 'order_status_unknown', 'stop intent without answer; not resent');
    await intents.write(plan.planId, plan.symbol, { state: 'placed', algo_id: found.algoId });
    return placedStop(step, found.algoId, intent.side ?? '', `recovered from the exchange (${found.status})`);
  }
  if ((state === 'filled' || state === 'accepted') && intent.order_id) {
    return filled(
      step,
      {
        orderId: intent.order_id,
        clientOrderId: clientId,
        symbol: plan.symbol,
        side: intent.side === 'BUY' ? 'BUY' : 'SELL',
        status: state.toUpperCase(),
        origQty: intent.quantity ?? '',
        executedQty: intent.executed_qty ?? '',
        avgPrice: '',
        reduceOnly: true,
      },
      'recovered from intent',
    );
  }
  let found: OrderFill | null = null;
  try {
    found = await deps.exchange.findOrder(plan.symbol, clientId);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'apply: order lookup failed during recovery');
  }
  if (!found) {
    // Replicas: the intent's writer may be paused between its fence and its send; give it time
    // before calling the order absent (a negative age is clock skew, not trusted to defer).
    const age = deps.clock.now() - Number(intent.at ?? 'x');
    if (state === 'sending' && deps.ownership && age >= 0 && age < deps.ownership.intentGraceMs) {
      throw new Error(`recovery of ${plan.planId} deferred: its intent is ${age} ms old`);
    }
    await intents.write(plan.planId, plan.symbol, { state: 'unknown', updated_at: String(deps.clock.now()) });
    return failed(step, 'order_status_unknown', 'intent without a confirmed order; not resent');
  }
  if (!['FILLED', 'PARTIALLY_FILLED', 'NEW'].includes(found.status)) {
    await intents.write(plan.planId, plan.symbol, { state: 'rejected', reason: found.status.toLowerCase() });
    return failed(step, `order_${safeReason(found.status.toLowerCase())}`, 'recovered', found.side);
  }
  await intents.write(plan.planId, plan.symbol, {
    state: 'filled',
    order_id: found.orderId,
    executed_qty: found.executedQty,
    avg_price: found.avgPrice,
    // An intent written behind its consume may not have recorded them before the crash.
    side: found.side,
    quantity: found.origQty,
    updated_at: String(deps.clock.now()),
  });
  return filled(step, found, 'recovered from intent');
}

/**
 * Pass over the newest EXECUTE entries of the plan stream (all symbols at start-up; one symbol
 * when a replica takes its lease over) for plans of ours left without a result, whose proposal
 * may have changed since, so the normal path will never see them again:
 * - with an order intent: the result comes from the exchange's record of the order;
 * - without one: no order was sent and none can be (the intent is written through the fence
 *   before any send), so the plan ends ERROR interrupted_before_send instead of never.
 * A plan with a result entry on the stream (ours or the fleet's) is done. Runs before intake,
 * or inside the symbol's serial run, so it cannot race this process's own worker.
 */
export async function recoverOrphans(
  scan: OrphanScan,
  limit: number,
  onlySymbol?: string,
): Promise<{ recovered: number; deferred: number }> {
  const { store, logger, ownership } = scan.deps;
  const k = store.keys;
  const [entries, results] = await Promise.all([
    store.xrevrange(k.planStream(), '+', '-', limit),
    store.xrevrange(k.resultStream(), '+', '-', limit * 2),
  ]);
  const withResult = new Set(results.map((e) => e.fields.plan_id));
  const candidates = entries
    .map((e) => ({
      planId: e.fields.plan_id ?? '',
      symbol: e.fields.symbol ?? '',
      decision: e.fields.decision,
    }))
    .filter(
      (p) =>
        p.decision === 'EXECUTE' &&
        PLAN_ID_PATTERN.test(p.planId) &&
        p.symbol !== '' &&
        (onlySymbol === undefined || p.symbol === onlySymbol) &&
        !withResult.has(p.planId) &&
        !scan.results.handled.has(p.planId) &&
        // Replicas: another replica's symbol may be mid-plan; only its owner recovers it.
        (!ownership || ownership.owns(p.symbol)),
    );
  const checks = await Promise.all(
    candidates.map(async (p) => {
      const [done, intent] = await Promise.all([
        store.exists(k.resultPublished(p.planId)),
        scan.intents.read(p.planId, p.symbol),
      ]);
      return { p, done, intent };
    }),
  );
  let recovered = 0;
  let deferred = 0;
  for (const { p, done, intent } of checks) {
    if (done) continue;
    const log = logger.child({ plan: p.planId, symbol: p.symbol });
    let result: ExecOutcome;
    if (Object.keys(intent).length === 0) {
      // Our own worker may still be on it (it set the dedupe key): it publishes the result.
      if (scan.owned.has(p.planId)) continue;
      log.warn('apply: plan left without an intent or a result; no order was sent');
      result = outcome('ERROR', 'interrupted_before_send');
    } else {
      try {
        result = await recoverFromIntent(scan.deps, scan.intents, p, intent, log);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'apply: recovery of this plan deferred');
        deferred++;
        continue;
      }
    }
    // Only EXECUTE plans leave an owned dedupe key or an intent to recover.
    await scan.results.publish(p, 'EXECUTE', result, log);
    recovered++;
  }
  return { recovered, deferred };
}
