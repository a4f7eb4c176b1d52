/**
 * Stop losses on the algo endpoint (conditional types are refused on /fapi/v1/order, -4120):
 * STOP_MARKET, closePosition=true, workingType=MARK_PRICE, our `clientAlgoId`.
 *
 * "Replace" places the new stop first and only then cancels our earlier open stops for the
 * symbol (client ids starting `qa-`): the position is never without a stop, and two
 * closePosition stops for a moment cannot over-close (each closes at most what is left). If
 * the placement's outcome is unknown, the old stops stay.
 *
 * The trigger is rounded to the tick AWAY from the mark (down for a SELL stop, up for a BUY
 * stop), the direction src/domain/stop-price.ts rounds in, so the two never disagree and rounding
 * never makes a stop fire at once. One outside PRICE_FILTER's bounds is refused here, unsent.
 */
import { ExchangeError, type StopFound, type StopLossRequest, type StopOutcome } from '../port.js';
import { compareDecimal, parsePlainDecimal, roundToStep } from '../../domain/decimal.js';
import { isOrderOutcomeUnknown, reasonFor } from './errors.js';
import type { Reads } from './reads.js';
import { algoOrderSchema, openAlgoOrdersSchema, type AlgoOrder } from './schemas.js';
import type { Transport } from './transport.js';

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
export const OUR_ALGO_PREFIX = 'qa-';

export class Stops {
  constructor(
    private readonly t: Transport,
    private readonly reads: Reads,
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
    /**
     * Our stop as the user stream last reported it (ALGO_UPDATE), while the stream is trusted and
     * only in a final status (FINISHED once its triggered order is done, CANCELED, EXPIRED,
     * REJECTED): it never changes again, so no query is needed. Null: ask REST.
     */
    private readonly pushed?: (clientAlgoId: string) => (StopFound & { symbol: string }) | null,
  ) {}

  async placeStopLoss(req: StopLossRequest): Promise<StopOutcome> {
    const trigger = parsePlainDecimal(req.triggerPrice);
    if (!trigger || trigger.m <= 0n || /e/i.test(req.triggerPrice)) {
      return {
        kind: 'rejected',
        reason: 'bad_parameter',
        code: null,
        message: 'trigger price must be a positive decimal',
      };
    }
    if (!CLIENT_ID.test(req.clientAlgoId)) {
      return { kind: 'rejected', reason: 'invalid_client_order_id', code: null, message: 'bad clientAlgoId' };
    }
    let triggerPrice: string;
    try {
      const rules = await this.reads.symbolRules(req.symbol);
      triggerPrice = roundToStep(req.triggerPrice, rules.tickSize, req.side === 'SELL' ? 'down' : 'up');
      const outside = outsideBounds(triggerPrice, rules.minPrice, rules.maxPrice);
      if (outside)
        return { kind: 'rejected', reason: outside, code: null, message: `trigger ${triggerPrice}` };
      await this.reads.ensureTimeSynced();
    } catch (err) {
      const e = err instanceof ExchangeError ? err : new ExchangeError('exchange_unreachable', String(err));
      return { kind: 'rejected', reason: e.reason, code: e.code, message: e.message };
    }
    const params = {
      algoType: 'CONDITIONAL',
      symbol: req.symbol,
      side: req.side,
      type: 'STOP_MARKET',
      triggerPrice,
      closePosition: 'true',
      workingType: 'MARK_PRICE',
      clientAlgoId: req.clientAlgoId,
    };
    let out = await this.t.call('POST', '/fapi/v1/algoOrder', params, { signed: true, order: true });
    if (out.kind === 'http_error' && out.code === -1021) {
      await this.reads.syncTime().catch(() => undefined);
      out = await this.t.call('POST', '/fapi/v1/algoOrder', params, { signed: true, order: true });
    }
    let algoId: string | null = null;
    if (out.kind === 'ok') {
      const parsed = algoOrderSchema.safeParse(out.body);
      if (parsed.success) algoId = String(parsed.data.algoId);
    } else if (out.kind === 'not_sent') {
      return {
        kind: 'rejected',
        reason: out.cause === 'connection_refused' ? 'exchange_unreachable' : out.cause,
        code: null,
        message: out.message,
      };
    } else if (
      out.kind === 'http_error' &&
      !isOrderOutcomeUnknown(out.status, out.code, out.message) &&
      out.code !== -4116
    ) {
      return {
        kind: 'rejected',
        reason: reasonFor(out.status, out.code),
        code: out.code,
        message: out.message,
      };
    }
    if (algoId === null) {
      // Outcome unknown: look it up by our client id before saying anything.
      algoId = await this.findAlgo(req.clientAlgoId);
      if (algoId === null) {
        const cause =
          out.kind === 'http_error'
            ? reasonFor(out.status, out.code)
            : out.kind === 'no_response'
              ? out.cause
              : 'unreadable_answer';
        return {
          kind: 'unknown',
          reason: `unknown_after_${cause}`,
          message: `stop ${req.clientAlgoId} not confirmed`,
        };
      }
    }
    const replaced = await this.cancelOthers(req.symbol, req.clientAlgoId);
    return { kind: 'placed', algoId, clientAlgoId: req.clientAlgoId, replaced };
  }

  /** Recovery's lookup: like findAlgo, but a failed query throws instead of reading as absent. */
  async findStopLoss(symbol: string, clientAlgoId: string, recovery = true): Promise<StopFound | null> {
    const pushed = this.pushed?.(clientAlgoId);
    if (pushed && pushed.symbol === symbol) return { algoId: pushed.algoId, status: pushed.status };
    let a;
    try {
      a = await this.queryAlgo(clientAlgoId, recovery);
    } catch (err) {
      if (err instanceof ExchangeError && err.code === -2013) return null;
      throw err;
    }
    // An answer about another order must never be adopted as ours.
    if (a.clientAlgoId !== clientAlgoId || a.symbol !== symbol) {
      throw new ExchangeError('bad_response', `stop query for ${clientAlgoId} answered about another order`);
    }
    return { algoId: String(a.algoId), status: a.algoStatus ?? 'NEW' };
  }

  private async findAlgo(clientAlgoId: string): Promise<string | null> {
    try {
      return workingId(await this.queryAlgo(clientAlgoId, false));
    } catch {
      return null;
    }
  }

  /** GET /fapi/v1/algoOrder by our client id; `recovery` may spend the reserved weight. */
  private queryAlgo(clientAlgoId: string, recovery: boolean): Promise<AlgoOrder> {
    return this.reads.get('/fapi/v1/algoOrder', { clientAlgoId }, true, algoOrderSchema, true, recovery);
  }

  private async cancelOthers(symbol: string, keep: string): Promise<string[]> {
    const replaced: string[] = [];
    let open;
    try {
      open = await this.reads.get('/fapi/v1/openAlgoOrders', { symbol }, true, openAlgoOrdersSchema);
    } catch (err) {
      this.warn({ symbol, err: String(err) }, 'could not list open stops to replace');
      return replaced;
    }
    for (const a of open) {
      if (a.symbol !== symbol || a.clientAlgoId === keep || !a.clientAlgoId.startsWith(OUR_ALGO_PREFIX))
        continue;
      const out = await this.t.call(
        'DELETE',
        '/fapi/v1/algoOrder',
        { algoId: String(a.algoId) },
        { signed: true },
      );
      if (out.kind === 'ok') replaced.push(a.clientAlgoId);
      else this.warn({ symbol, clientAlgoId: a.clientAlgoId, out }, 'could not cancel a replaced stop');
    }
    return replaced;
  }
}

/**
 * Why the venue would refuse this trigger (the reason its code maps to: -4013, -4007), or null.
 * A zero bound is disabled; a trigger rounded down to zero is no price at all.
 */
function outsideBounds(trigger: string, minPrice: string, maxPrice: string): string | null {
  if (compareDecimal(trigger, '0') <= 0) return 'bad_parameter';
  if (compareDecimal(minPrice, '0') > 0 && compareDecimal(trigger, minPrice) < 0)
    return 'price_below_min_price';
  if (compareDecimal(maxPrice, '0') > 0 && compareDecimal(trigger, maxPrice) > 0)
    return 'stop_price_above_max_price';
  return null;
}

/** The algo id of a stop that is still working, null once it is not. */
function workingId(a: AlgoOrder): string | null {
  return a.algoStatus === undefined || a.algoStatus === 'NEW' ? String(a.algoId) : null;
}
