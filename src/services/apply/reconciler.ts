/**
 * Settles orders whose plan ended `order_status_unknown`: the result is published at once (a plan
 * never waits for the exchange to answer), the order is remembered in `keys.unresolvedOrders()`,
 * and this reconciler asks the exchange for it by client order id until it knows. What it finds
 * goes into the intent (explain shows it) and, once per plan, onto the reconciled stream in the
 * result entry's format, so the P3.3 ledger follows the real fill. Nothing is ever sent here.
 */
import type { Logger } from 'pino';
import { resultFields, type StepResult } from '../../domain/result.js';
import type { Store } from '../../store/port.js';
import { noopMetrics, type ApplyMetricsSink } from './metrics.js';
import { PLAN_STREAM_MAXLEN, type ApplyDeps } from './options.js';
import type { IntentWriter } from './intents.js';
import { fillStep } from './outcome.js';
import { PLAN_ID_PATTERN } from '../../domain/plan.js';
import { isValidSymbol } from '../../domain/proposal.js';

/**
 * How long an order that the exchange does not know is given before it is called never placed:
 * far past the request's recvWindow (after which the matching engine drops it) and a slow answer.
 */
export const ABSENT_AFTER_MS = 120_000;
/** Unresolved orders looked at per pass (oldest first); the rest wait for the next pass. */
const PER_PASS = 50;

export type ReconcileOutcome =
  'filled' | 'not_filled' | 'placed' | 'absent' | 'pending' | 'failed' | 'expired';

interface Unresolved {
  planId: string;
  symbol: string;
  since: number;
}

/** Remembers an order whose outcome a plan's result leaves unknown (before that result is published). */
export async function rememberUnresolved(store: Store, planId: string, symbol: string, nowMs: number) {
  await store.hset(store.keys.unresolvedOrders(), { [planId]: JSON.stringify({ symbol, since: nowMs }) });
}

export class OrderReconciler {
  private readonly metrics: ApplyMetricsSink;

  constructor(
    private readonly deps: ApplyDeps,
    private readonly intents: IntentWriter,
    private readonly dedupeTtlSec: number,
  ) {
    this.metrics = deps.metrics ?? noopMetrics;
  }

  /** One pass over the unresolved orders of symbols this process owns; returns what became of each. */
  async pass(): Promise<Map<string, ReconcileOutcome>> {
    const { store, ownership } = this.deps;
    const all = parseUnresolved(await store.hgetall(store.keys.unresolvedOrders()));
    this.metrics.unresolvedOrders(all.length);
    const out = new Map<string, ReconcileOutcome>();
    const mine = all.filter((u) => !ownership || ownership.owns(u.symbol));
    for (const u of mine.sort((a, b) => a.since - b.since).slice(0, PER_PASS)) {
      const outcome = await this.settle(u);
      this.metrics.reconcile(outcome);
      out.set(u.planId, outcome);
    }
    return out;
  }

  private async settle(u: Unresolved): Promise<ReconcileOutcome> {
    const { store, exchange, clock, logger } = this.deps;
    const log = logger.child({ plan: u.planId, symbol: u.symbol });
    const intent = await this.intents.read(u.planId, u.symbol);
    const forget = () => store.hdel(store.keys.unresolvedOrders(), [u.planId]);
    if (Object.keys(intent).length === 0) {
      log.error('apply: an unresolved order lost its intent record (TTL) before the exchange settled it');
      await forget();
      return 'expired';
    }
    if (intent.state !== 'unknown' && intent.state !== 'sending') {
      await forget(); // settled meanwhile (a recovery found it)
      return intent.state === 'filled' ? 'filled' : 'not_filled';
    }
    const clientId = intent.client_order_id ?? '';
    const step = intent.step ?? 'UNKNOWN';
    const age = clock.now() - Number(intent.at ?? u.since);
    try {
      if (intent.kind === 'stop') {
        const stop = await exchange.findStopLoss(u.symbol, clientId);
        if (stop === null) return await this.absent(u, step, age, forget, log);
        await this.intents.write(u.planId, u.symbol, {
          state: 'placed',
          algo_id: stop.algoId,
          resolved_by: 'reconciler',
          resolved_at: String(clock.now()),
        });
        const s: StepResult = {
          step,
          status: 'reconciled',
          details: `stop ${stop.algoId} found ${stop.status}`,
          order_id: stop.algoId,
          reduce_only: true,
        };
        if (intent.side) s.side = intent.side;
        await this.record(u, { decision: 'EXECUTE', executed: true, steps: [s], error: '' });
        await forget();
        log.warn({ algo_id: stop.algoId, status: stop.status }, 'apply: reconciled a stop left unknown');
        return 'placed';
      }
      const order = await exchange.findOrder(u.symbol, clientId);
      if (order === null) return await this.absent(u, step, age, forget, log);
      // A MARKET order still working is rare and short: ask again next pass.
      if (order.status === 'NEW' || order.status === 'PARTIALLY_FILLED') return 'pending';
      const executed = /[1-9]/.test(order.executedQty);
      await this.intents.write(u.planId, u.symbol, {
        state: executed ? 'filled' : 'rejected',
        // An intent written behind its consume may not have recorded them before the crash.
        side: order.side,
        quantity: order.origQty,
        order_id: order.orderId,
        executed_qty: order.executedQty,
        avg_price: order.avgPrice,
        ...(executed ? {} : { reason: order.status.toLowerCase() }),
        resolved_by: 'reconciler',
        resolved_at: String(clock.now()),
      });
      const s = fillStep(
        step,
        order,
        'reconciled',
        `order ${order.orderId} found ${order.status}, avg price ${order.avgPrice || '?'}`,
      );
      await this.record(u, {
        decision: executed ? 'EXECUTE' : 'ERROR',
        executed,
        steps: [s],
        error: executed ? '' : `order_${order.status.toLowerCase().replace(/[^a-z_]/g, '_')}`,
      });
      await forget();
      log.warn(
        { order_id: order.orderId, status: order.status, executed_qty: order.executedQty },
        'apply: reconciled an order left unknown',
      );
      return executed ? 'filled' : 'not_filled';
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'apply: reconciling an unknown order failed; will retry');
      return 'failed';
    }
  }

  /** The exchange has no such order: believed only once it can no longer appear. */
  private async absent(
    u: Unresolved,
    step: string,
    ageMs: number,
    forget: () => Promise<unknown>,
    log: Logger,
  ): Promise<ReconcileOutcome> {
    if (!(ageMs >= ABSENT_AFTER_MS)) return 'pending';
    await this.intents.write(u.planId, u.symbol, {
      state: 'rejected',
      reason: 'order_not_placed',
      resolved_by: 'reconciler',
      resolved_at: String(this.deps.clock.now()),
    });
    await this.record(u, {
      decision: 'ERROR',
      executed: false,
      steps: [{ step, status: 'reconciled', details: 'the exchange has no order with this client id' }],
      error: 'order_not_placed',
    });
    await forget();
    log.warn('apply: an order left unknown was never placed (the exchange has no such client id)');
    return 'absent';
  }

  private async record(
    u: Unresolved,
    r: { decision: 'EXECUTE' | 'ERROR'; executed: boolean; steps: StepResult[]; error: string },
  ): Promise<void> {
    const { store, clock } = this.deps;
    const fields = {
      ...resultFields({
        planId: u.planId,
        symbol: u.symbol,
        decision: r.decision,
        executed: r.executed,
        wouldExecute: false,
        steps: r.steps,
        error: r.error,
        nowSec: clock.now() / 1000,
      }),
      reconciles: 'order_status_unknown',
    };
    await store.publishOnce(
      store.keys.reconciledPublished(u.planId),
      this.dedupeTtlSec,
      store.keys.reconciledStream(),
      fields,
      PLAN_STREAM_MAXLEN,
    );
  }
}

function parseUnresolved(h: Record<string, string>): Unresolved[] {
  const out: Unresolved[] = [];
  for (const [planId, raw] of Object.entries(h)) {
    try {
      const v = JSON.parse(raw) as { symbol?: unknown; since?: unknown };
      if (isValidSymbol(v.symbol) && PLAN_ID_PATTERN.test(planId)) {
        out.push({ planId, symbol: v.symbol, since: typeof v.since === 'number' ? v.since : 0 });
      }
    } catch {
      // A hand-edited field: left for an operator; nothing to ask the exchange about.
    }
  }
  return out;
}

/** Runs a pass every `everyMs` until the returned stop is called (never two passes at once). */
export function everyPass(reconciler: OrderReconciler, everyMs: number, log: Logger): () => Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    if (stopped) return;
    running = reconciler
      .pass()
      .catch((err: Error) => log.warn({ err: err.message }, 'apply: reconciler pass failed; will retry'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs);
      });
  };
  timer = setTimeout(tick, everyMs);
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}
