/**
 * What the order path passes around: the order a plan step sends (StepRequest) and what a plan's
 * execution ends in (ExecOutcome), with the constructors of each outcome and the label-safe
 * reasons they carry. execute.ts, prior-order.ts, orders.ts and the reconciler all build them;
 * keeping them here lets those modules import each other one way only.
 */
import type { Decision, Plan, Step } from '../../domain/plan.js';
import type { StepResult } from '../../domain/result.js';
import { checkStopPrice, type StopPriceReason } from '../../domain/stop-price.js';
import { ExchangeError, type OrderFill, type SymbolRules } from '../../exchange/port.js';
import type { CreateIntentOutcome } from '../../store/lease-port.js';

/** What orders.ts sends for a plan step; stepRequest() builds it. */
export interface StepRequest {
  kind: 'market' | 'stop';
  side: 'BUY' | 'SELL';
  quantity: string;
  /** Stop trigger price, already on the tick grid. */
  triggerPrice: string | null;
  clientId: string;
  describe: string;
}

/**
 * The order a step sends. A stop's trigger must pass the symbol's PRICE_FILTER and lie on the
 * closing side of the mark (checkStopPrice: rounded to the tick away from the mark, so rounding
 * alone never makes it trigger at once); otherwise it is refused here, not at the venue.
 * `clientId`: the id the exchange was asked about before the send (lookUpPriorOrder), so the
 * order sent is the one that lookup would have found.
 */
export interface StepOrder {
  plan: Plan;
  step: Step;
  clientId: string;
  side: 'BUY' | 'SELL';
  /** Decimal text, as sized against the live position. */
  quantity: string;
  rules: SymbolRules;
  /** The mark a stop's trigger is judged against (unused for a market step). */
  markPrice: number;
}

export function stepRequest({
  plan,
  step,
  clientId,
  side,
  quantity,
  rules,
  markPrice,
}: StepOrder): StepRequest | { refused: StopPriceReason; detail: string } {
  if (step.type === 'market_reduce_only') {
    return {
      kind: 'market',
      side,
      quantity,
      triggerPrice: null,
      clientId,
      describe: `reduceOnly MARKET ${side} ${quantity} ${plan.symbol}`,
    };
  }
  const check = checkStopPrice({
    price: step.price,
    side,
    tickSize: rules.tickSize,
    minPrice: rules.minPrice,
    maxPrice: rules.maxPrice,
    markPrice,
  });
  if (!check.ok) return { refused: check.reason, detail: check.detail };
  const price = check.triggerPrice;
  return {
    kind: 'stop',
    side,
    quantity,
    triggerPrice: price,
    clientId,
    describe: `reduce-only STOP_MARKET ${side} trigger ${price} ${plan.symbol}`,
  };
}

/** What recovery needs of a plan: a full Plan, or only the ids read back from the plan stream. */
export type PlanRef = Pick<Plan, 'planId' | 'symbol'> & { steps?: readonly Step[] };

export interface ExecOutcome {
  decision: Decision;
  executed: boolean;
  /** True only for a dry_run plan that would have sent, as the fleet writes it; never once sent. */
  wouldExecute: boolean;
  steps: StepResult[];
  error: string;
  /**
   * Replicas: the fenced intent write refused (our symbol lease is gone, or another replica
   * created the intent). Nothing was sent; the plan's owner publishes its result, we publish none.
   */
  abandoned?: Exclude<CreateIntentOutcome, 'written'>;
}

/** Free text as a reason part metrics can label by: [A-Za-z0-9_] only, at most 64 characters. */
export const labelSafe = (text: string): string => text.replace(/[^a-z0-9_]/gi, '_').slice(0, 64);

/** labelSafe(), or `unknown` when nothing is left: the tail of an order's refusal reason. */
export const safeReason = (text: string): string => labelSafe(text) || 'unknown';

/** An exchange error's reason, label-safe. */
export function exchangeReason(err: unknown): string {
  if (err instanceof ExchangeError) return labelSafe(err.reason);
  return 'exchange_error';
}

export const outcome = (
  decision: ExecOutcome['decision'],
  error: string,
  steps: StepResult[] = [],
  flags: { executed?: boolean; wouldExecute?: boolean } = {},
): ExecOutcome => ({
  decision,
  error,
  steps,
  executed: flags.executed ?? false,
  wouldExecute: flags.wouldExecute ?? false,
});

/** Nothing to close: SKIP `no_position` with the POSITION_CHECK step the fleet writes. */
export const noPosition = (): ExecOutcome =>
  outcome('SKIP', 'no_position', [
    { step: 'POSITION_CHECK', status: 'no_position', details: 'No position to close' },
  ]);

export function fillStep(step: string, order: OrderFill, status: string, details: string): StepResult {
  return {
    step,
    status,
    details,
    order_id: order.orderId,
    side: order.side,
    quantity: order.origQty,
    executed_qty: order.executedQty,
    reduce_only: order.reduceOnly,
  };
}

/** An order the exchange filled or accepted. */
export const filled = (step: string, order: OrderFill, details: string): ExecOutcome =>
  outcome('EXECUTE', '', [fillStep(step, order, 'success', details)], { executed: true });

/** A working stop: its algo id and side, no fill (the ledger leaves it alone). */
export const placedStop = (step: string, algoId: string, side: string, details: string): ExecOutcome =>
  outcome('EXECUTE', '', [{ step, status: 'success', details, order_id: algoId, side, reduce_only: true }], {
    executed: true,
  });

/** An order refused, or one whose fate is unknown; `error` is the plan's reason. */
export const failed = (step: string, error: string, details: string, side?: string): ExecOutcome =>
  outcome('ERROR', error, [{ step, status: 'error', details, ...(side ? { side } : {}) }]);
