/**
 * Ours: the order events stream (`keys.orderEvents()`): one compact entry per write of an order
 * intent, so a recorder sees the intent and every answer the exchange gave (order id, state,
 * executed quantity, average price) after the intent hash has expired.
 *
 * Off the trading path: the entry is added after the intent write without being awaited (one
 * connection keeps the entries of a plan in order), and a failed add is logged, never retried
 * and never fails the order.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/port.js';

/** Capped like the plan stream (a plan writes two or three intent updates). */
export const ORDER_EVENTS_MAXLEN = 30_000;

/** The entry's fields: plan_id, symbol, the intent fields written, then timestamp (unix ms). */
export function orderEventFields(
  planId: string,
  symbol: string,
  written: Record<string, string>,
  atMs: number,
): Record<string, string> {
  return { plan_id: planId, symbol, ...written, timestamp: String(atMs) };
}

export function publishOrderEvent(
  store: Store,
  logger: Pick<Logger, 'warn'>,
  planId: string,
  symbol: string,
  written: Record<string, string>,
  atMs: number,
): void {
  store
    .xadd(store.keys.orderEvents(), orderEventFields(planId, symbol, written, atMs), ORDER_EVENTS_MAXLEN)
    .catch((err: unknown) =>
      logger.warn(
        { plan: planId, symbol, state: written.state, err: (err as Error).message },
        'order event not recorded on the order events stream',
      ),
    );
}
