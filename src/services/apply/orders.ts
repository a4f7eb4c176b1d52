/**
 * The one place that sends orders. Exactly once per plan step: the intent hash
 * (`keys.orderIntent(planId)`) is written with state=sending BEFORE the request, updated with
 * the answer after it; an intent found later without a result is recovered by asking the
 * exchange for the client order id, never by sending again.
 */
import type { Logger } from 'pino';
import type { Plan, Step } from '../../domain/plan.js';
import type { OrderFill, StopFound } from '../../exchange/port.js';
import { crashPoint } from './crash-point.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps } from './options.js';
import type { IntentState, IntentWriter } from './intents.js';
import {
  failed,
  filled,
  labelSafe,
  outcome,
  placedStop,
  type ExecOutcome,
  type StepRequest,
} from './outcome.js';

const safeReason = (r: string) => labelSafe(r) || 'unknown';

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

/**
 * A plan whose intent exists but whose result is missing (crash, Redis outage mid-plan): the
 * exchange is asked by client order id; nothing is ever resent.
 */
/** What recovery needs of a plan: a full Plan, or only the ids read back from the plan stream. */
export type PlanRef = Pick<Plan, 'planId' | 'symbol'> & { steps?: readonly Step[] };

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
    updated_at: String(deps.clock.now()),
  });
  return filled(step, found, 'recovered from intent');
}
