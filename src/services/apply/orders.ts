/**
 * The one place that sends orders. Exactly once per plan step: the intent hash
 * (`keys.orderIntent(planId)`) is written with state=sending BEFORE the request, updated with
 * the answer after it; an intent found later without a result is recovered (recovery.ts) by
 * asking the exchange for the client order id, never by sending again.
 */
import type { Logger } from 'pino';
import type { Plan, Step } from '../../domain/plan.js';
import { crashPoint } from './crash-point.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps } from './options.js';
import type { IntentState, IntentWriter } from './intents.js';
import {
  failed,
  filled,
  outcome,
  placedStop,
  safeReason,
  type ExecOutcome,
  type StepRequest,
} from './outcome.js';

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
}: OrderStep): Promise<ExecOutcome> {
  const { exchange, clock } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const [isDisarmed, created] = await Promise.all([
    disarmed(),
    intents.create(plan.planId, plan.symbol, {
      plan_id: plan.planId,
      step: step.step,
      kind: req.kind,
      client_order_id: req.clientId,
      symbol: plan.symbol,
      side: req.side,
      quantity: req.quantity,
      trigger_price: req.triggerPrice ?? '',
      state: 'sending',
      at: String(clock.now()),
    }),
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
  try {
    res = await exchange.placeReduceOnlyMarket({
      symbol: plan.symbol,
      side: req.side,
      quantity: req.quantity,
      clientOrderId: req.clientId,
    });
  } catch (err) {
    // The adapter should not throw here; if it does, the request may have left: treat as unknown.
    res = { kind: 'unknown' as const, reason: 'exception', message: (err as Error).message };
  }
  answered();
  crashPoint('after_send');
  metrics.execute(plan.symbol, step.step, res.kind);
  if (res.kind === 'filled' || res.kind === 'accepted') {
    await record(res.kind, { order_id: res.order.orderId, executed_qty: res.order.executedQty });
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
