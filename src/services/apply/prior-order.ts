/**
 * Once per plan id, ever: before the first send of a plan step, the exchange is asked for the
 * step's client order id. Exactly-once then rests on the exchange's record (Binance keeps a
 * filled order 90 days), not on Redis keys that expire or are lost with a restart. An order
 * found there is reported, never sent again.
 */
import type { Logger } from 'pino';
import type { Step } from '../../domain/plan.js';
import type { StepResult } from '../../domain/result.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps } from './options.js';
import { exchangeReason, outcome, type ExecOutcome } from './outcome.js';

/** The weight kept in reserve is for recovering orders already sent, not for this lookup. */
const NOT_A_RECOVERY = { recovery: false } as const;

/** What the exchange knows of a plan step's client order id before we would send it. */
export type PriorOrder =
  | { kind: 'absent' }
  | { kind: 'found'; orderId: string; status: string; side: string; executedQty?: string }
  | { kind: 'failed'; reason: string };

/** `absent` only when the exchange says it has no such order; a query that fails is `failed`. */
export async function lookUpPriorOrder(
  deps: ApplyDeps,
  symbol: string,
  step: Step,
  clientId: string,
): Promise<PriorOrder> {
  let out: PriorOrder;
  try {
    if (step.type === 'stop_loss_order') {
      const stop = await deps.exchange.findStopLoss(symbol, clientId, NOT_A_RECOVERY);
      out =
        stop === null
          ? { kind: 'absent' }
          : { kind: 'found', orderId: stop.algoId, status: stop.status, side: '' };
    } else {
      const order = await deps.exchange.findOrder(symbol, clientId, NOT_A_RECOVERY);
      out =
        order === null
          ? { kind: 'absent' }
          : {
              kind: 'found',
              orderId: order.orderId,
              status: order.status,
              side: order.side,
              executedQty: order.executedQty,
            };
    }
  } catch (err) {
    out = { kind: 'failed', reason: exchangeReason(err) };
  }
  (deps.metrics ?? noopMetrics).orderLookup(out.kind);
  return out;
}

/**
 * The exchange already has this plan step's order: sent by an earlier run whose Redis records
 * are gone (expired, or Redis restarted without its data). Never sent again. The result is not
 * an execution of this run (executed False, no executed_qty), so no ledger counts the old fill
 * a second time.
 */
export function alreadyExecuted(
  stepName: string,
  found: Extract<PriorOrder, { kind: 'found' }>,
  log: Logger,
): ExecOutcome {
  const filled = found.executedQty === undefined ? '' : `, executed ${found.executedQty}`;
  log.warn(
    { order_id: found.orderId, status: found.status, executed_qty: found.executedQty },
    'apply: this plan step is already on the exchange (an earlier run sent it); not sending it again',
  );
  const detail: StepResult = {
    step: stepName,
    status: 'already_executed',
    details: `order ${found.orderId} ${found.status}${filled} found by its client order id; not sent again`,
    order_id: found.orderId,
  };
  if (found.side) detail.side = found.side;
  return outcome('SKIP', 'already_executed', [detail]);
}
