/**
 * The one place that sends orders, with its crash points. Exactly once per plan step: the intent
 * hash (intents.ts) is written with state=sending BEFORE the request, updated with the answer
 * after it; an intent found later without a result is recovered (recovery.ts) by asking the
 * exchange for the client order id, never by sending again.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Plan, Step } from '../../domain/plan.js';
import { intentFields, takeOver, type EarlyIntent, type IntentState, type IntentWriter } from './intents.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps } from './options.js';
import {
  failed,
  filled,
  outcome,
  placedStop,
  safeReason,
  type ExecOutcome,
  type StepRequest,
} from './outcome.js';

/**
 * Test-only crash points for the fault suite (test/reliability). With
 * QUANTUM_TEST_CRASH_AT=<boundary> in the environment at start-up, the process SIGKILLs itself
 * the first time it reaches that boundary; without it (production) every call is a no-op.
 * Boundaries: after_consume (permits consumed), after_send (order answered, nothing recorded),
 * after_fill (intent records the fill), before_result (result not yet published).
 */
export const CRASH_BOUNDARIES = ['after_consume', 'after_send', 'after_fill', 'before_result'] as const;
export type CrashBoundary = (typeof CRASH_BOUNDARIES)[number];

const armed: string | undefined = process.env.QUANTUM_TEST_CRASH_AT;

export function crashPoint(boundary: CrashBoundary): void {
  if (armed === boundary) process.kill(process.pid, 'SIGKILL');
}

/** What sending one plan step takes. */
export interface OrderStep {
  deps: ApplyDeps;
  intents: IntentWriter;
  plan: Plan;
  step: Step;
  req: StepRequest;
  /** When the proposal was seen: the proposal-to-order latency is measured from it. */
  detectedAtMs: number;
  log: Logger;
  /** Read with the intent write, right before the order: true stops the send. */
  disarmed: () => Promise<boolean>;
  /** The intent startIntent wrote for this plan, if it did. */
  early?: EarlyIntent | null;
}

export async function executeOrderStep({
  deps,
  intents,
  plan,
  step,
  req,
  detectedAtMs,
  log,
  disarmed,
  early = null,
}: OrderStep): Promise<ExecOutcome> {
  const { exchange, clock } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const fields = intentFields(plan, step, req, clock.now());
  const [isDisarmed, { created, early: described }] = await Promise.all([
    disarmed(),
    early
      ? takeOver(deps, intents, early, plan, fields)
      : intents.create(plan.planId, plan.symbol, fields).then((c) => ({ created: c, early: false })),
  ]);
  if (created !== 'written') {
    log.warn(
      { fence: created },
      `apply: not sending for ${plan.planId}: ${created} (another replica owns it)`,
    );
    return { ...outcome('ERROR', created), abandoned: created };
  }
  if (isDisarmed) {
    await intents.write(plan.planId, plan.symbol, { state: 'cancelled', reason: 'kill_switch_active' });
    return outcome('BLOCKED', 'kill_switch_active');
  }
  // A failover could lose an intent only the master holds, and with it the record that this
  // order left (RELIABILITY.md "Failover").
  if (!(await intents.replicated(plan.planId, plan.symbol))) {
    await intents.write(plan.planId, plan.symbol, { state: 'cancelled', reason: 'intent_not_replicated' });
    log.warn({}, `apply: not sending for ${plan.planId}: the intent did not reach the replicas in time`);
    return outcome('ERROR', 'intent_not_replicated');
  }
  const answered = () => metrics.proposalToOrder(plan.symbol, (clock.now() - detectedAtMs) / 1000);
  const record = (state: IntentState, extra: Record<string, string> = {}) =>
    intents.write(plan.planId, plan.symbol, { state, updated_at: String(clock.now()), ...extra });

  if (req.kind === 'stop') {
    let res;
    try {
      res = await exchange.placeStopLoss({
        symbol: plan.symbol,
        side: req.side,
        triggerPrice: req.triggerPrice ?? '',
        clientAlgoId: req.clientId,
      });
    } catch (err) {
      res = { kind: 'unknown' as const, reason: 'exception', message: (err as Error).message };
    }
    answered();
    crashPoint('after_send');
    metrics.execute(plan.symbol, step.step, res.kind);
    if (res.kind === 'placed') {
      await record('placed', { algo_id: res.algoId });
      crashPoint('after_fill');
      metrics.lastSuccess(plan.symbol, Math.floor(clock.now() / 1000));
      // Debug: the plan's result line (info) carries the order id.
      log.debug({ algo_id: res.algoId, replaced: res.replaced }, `apply: stop placed ${req.describe}`);
      return placedStop(step.step, res.algoId, req.side, `${req.describe}; replaced ${res.replaced.length}`);
    }
    await record(res.kind, { reason: res.reason });
    log.error({ outcome: res.kind, reason: res.reason, msg_text: res.message }, 'apply: stop not placed');
    return res.kind === 'rejected'
      ? failed(step.step, `stop_rejected:${safeReason(res.reason)}`, res.message, req.side)
      : failed(step.step, 'order_status_unknown', res.message, req.side);
  }

  let res;
  // Called at once (the request leaves now); a throw becomes a rejection, handled below.
  const sent = (async () =>
    exchange.placeReduceOnlyMarket({
      symbol: plan.symbol,
      side: req.side,
      quantity: req.quantity,
      clientOrderId: req.clientId,
    }))();
  // An early intent names the order by its client id; its side and quantity follow the request
  // out, written while the exchange answers. On the event loop's next turn: the adapter reaches
  // the socket through promise hops only, so the request has been written by then, not held
  // behind this write.
  const describedAt = described
    ? nextTurn()
        .then(() =>
          intents.write(plan.planId, plan.symbol, {
            side: req.side,
            quantity: req.quantity,
            trigger_price: '',
          }),
        )
        .catch((err: unknown) => {
          log.warn({ err: (err as Error).message }, "apply: order intent's side and quantity not recorded");
        })
    : null;
  try {
    res = await sent;
  } catch (err) {
    // The adapter should not throw here; if it does, the request may have left: treat as unknown.
    res = { kind: 'unknown' as const, reason: 'exception', message: (err as Error).message };
  }
  await describedAt;
  answered();
  crashPoint('after_send');
  metrics.execute(plan.symbol, step.step, res.kind);
  if (res.kind === 'filled' || res.kind === 'accepted') {
    await record(res.kind, {
      order_id: res.order.orderId,
      executed_qty: res.order.executedQty,
      avg_price: res.order.avgPrice,
    });
    crashPoint('after_fill');
    metrics.lastSuccess(plan.symbol, Math.floor(clock.now() / 1000));
    // Debug: the plan's result line (info) carries the order id and the executed quantity.
    log.debug(
      { order_id: res.order.orderId, executed_qty: res.order.executedQty, recovered: res.recovered },
      `apply: order ${res.kind} ${req.describe}`,
    );
    return filled(step.step, res.order, `${req.describe}: ${res.order.status}`);
  }
  await record(res.kind, { reason: res.reason });
  log.error({ outcome: res.kind, reason: res.reason, msg_text: res.message }, 'apply: order not filled');
  if (res.kind === 'rejected') {
    return failed(step.step, `order_rejected:${safeReason(res.reason)}`, res.message, req.side);
  }
  // The intent stays (state=unknown) for recovery; the order is never resent.
  return failed(step.step, 'order_status_unknown', res.message, req.side);
}
