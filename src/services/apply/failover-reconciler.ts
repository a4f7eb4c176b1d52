/**
 * The failover reconciliation: after Redis changed master (or reconnected), and every
 * FAILOVER_EVERY_MS as a backstop, asks the exchange for our orders of the look-back window
 * (APPLY_FAILOVER_LOOKBACK_SEC) and checks what Redis still holds of each plan behind them: the
 * plan entry, the order intent, the consume receipt, the result. Asynchronous replication loses
 * writes the old master acknowledged; the exchange's record of the order is the truth.
 *
 * For every gap: one audit entry on `keys.failoverAudit()` (kind, plan, client order id, order id,
 * executed quantity, the action), published once per plan and kind (its marker, publishOnce); a
 * plan left without a result gets its one result entry from the exchange's record, guarded by the
 * result marker like every result, so no plan ever has two. Nothing is sent, nothing cancelled.
 * Replicas: each reconciles the symbols it holds the lease of; the markers make a second pass,
 * or a second replica, write nothing twice.
 */
import {
  executedSome,
  findLostWrites,
  planStepOfClientId,
  type HeldRecords,
  type LostWrite,
} from '../../domain/lost-writes.js';
import { ExchangeError, type ListedOrder } from '../../exchange/port.js';
import type { RecentSymbols } from '../recent-symbols.js';
import { noopMetrics } from './metrics.js';
import { PLAN_STREAM_MAXLEN, type ApplyDeps } from './options.js';
import { failed, filled, safeReason } from './outcome.js';
import { ResultPublisher } from './result-publisher.js';

/** An order booked more recently than this is left to its own worker until a later pass. */
export const FAILOVER_SETTLE_MS = 10_000;
/** A plan entry precedes its order by at most this (permit wait, a slow exchange). */
const PLAN_LEAD_MS = 60_000;
/** GET /fapi/v1/allOrders: request weight per page (Binance USD-M). */
export const ALL_ORDERS_WEIGHT = 5;
/** Exchange queries of one pass in flight at once. */
const CONCURRENCY = 4;
const AUDIT_MAXLEN = 10_000;
/** Exchange refusals that stop a pass at once: the account's request budget, not the symbol. */
const OUT_OF_BUDGET = new Set(['rate_limited', 'ip_banned']);

export type FailoverTrigger = 'switch' | 'periodic';

export interface FailoverPassReport {
  trigger: FailoverTrigger;
  symbols: number;
  /** Request weight the exchange queries cost (5 a page). */
  weight: number;
  /** Our orders of the window, and how many were left for a later pass (too recent, working). */
  orders: number;
  waiting: number;
  gaps: LostWrite<ListedOrder>[];
  /** Audit entries this pass wrote (a gap another pass or replica recorded is not counted). */
  recorded: number;
  /** Symbols whose orders could not be listed (the pass ends `failed`, retried), and the first error. */
  failedSymbols: string[];
  error?: string;
}

export interface FailoverOptions {
  lookbackMs: number;
  dedupeTtlSec: number;
  /** The symbols this process trades (SYMBOLS): no other symbol is ever queried. */
  symbols: readonly string[];
  settleMs?: number;
}

/** A pass's report before it has done anything. */
export const emptyReport = (trigger: FailoverTrigger): FailoverPassReport => ({
  trigger,
  symbols: 0,
  weight: 0,
  orders: 0,
  waiting: 0,
  gaps: [],
  recorded: 0,
  failedSymbols: [],
});

export class FailoverReconciler {
  /** A lost result's replacement goes out as every result does (marker, metric, log line). */
  private readonly results: ResultPublisher;

  constructor(
    private readonly deps: ApplyDeps,
    private readonly opts: FailoverOptions,
    /** Symbols with an EXECUTE plan lately (noted before the plan's writes, so no failover loses them). */
    private readonly activity: RecentSymbols,
  ) {
    this.results = new ResultPublisher(deps, opts.dedupeTtlSec, deps.metrics ?? noopMetrics);
  }

  async pass(trigger: FailoverTrigger): Promise<FailoverPassReport> {
    const { store, exchange, clock, ownership } = this.deps;
    const k = store.keys;
    const now = clock.now();
    const since = now - this.opts.lookbackMs;
    const [entries, first, length] = await Promise.all([
      store.xrange(k.planStream(), String(Math.max(0, since - PLAN_LEAD_MS)), '+'),
      store.xrange(k.planStream(), '-', '+', 1),
      store.xlen(k.planStream()),
    ]);
    // A stream at its cap was trimmed (MAXLEN ~ leaves at least the cap): a plan entry older than
    // its first entry may have been trimmed, not lost, and is not judged.
    const trimmed = length >= PLAN_STREAM_MAXLEN && first[0] !== undefined;
    const streamFromMs = trimmed ? Number(first[0]!.id.split('-')[0]) : 0;
    const planIds = new Set(entries.map((e) => e.fields.plan_id));
    const traded = new Set(this.opts.symbols);
    const symbols = [
      ...new Set([
        ...entries.filter((e) => e.fields.decision === 'EXECUTE').map((e) => e.fields.symbol ?? ''),
        ...this.activity.noted(),
      ]),
    ].filter((s) => traded.has(s) && (!ownership || ownership.owns(s)));
    const report: FailoverPassReport = { ...emptyReport(trigger), symbols: symbols.length };
    const booked: ListedOrder[] = [];
    const queue = [...symbols];
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
        for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
          try {
            const got = await exchange.ordersSince(s, since);
            report.weight += got.pages * ALL_ORDERS_WEIGHT;
            booked.push(...got.orders);
          } catch (err) {
            report.failedSymbols.push(s);
            report.error ??= (err as Error).message;
            // The minute's weight is spent (or the venue refuses us): the plans' own reads come
            // first; the rest of this pass waits for the retry.
            if (err instanceof ExchangeError && OUT_OF_BUDGET.has(err.reason))
              report.failedSymbols.push(...queue.splice(0));
          }
        }
      }),
    );
    const held = await this.heldRecords(booked, planIds, streamFromMs);
    const scan = findLostWrites(booked, (id) => held.get(id)!, {
      nowMs: now,
      settleMs: this.opts.settleMs ?? FAILOVER_SETTLE_MS,
    });
    report.orders = scan.ours;
    report.waiting = scan.waiting;
    report.gaps = scan.gaps;
    for (const gap of scan.gaps) if (await this.account(gap, trigger)) report.recorded++;
    return report;
  }

  /** What Redis holds of each plan behind `orders` (4 EXISTS a plan, pipelined). */
  private async heldRecords(
    orders: readonly ListedOrder[],
    planIds: ReadonlySet<string | undefined>,
    streamFromMs: number,
  ): Promise<Map<string, HeldRecords>> {
    const k = this.deps.store.keys;
    const ex = (key: string) => this.deps.store.exists(key);
    const out = new Map<string, HeldRecords>();
    await Promise.all(
      orders.map(async (o) => {
        const planId = planStepOfClientId(o.clientOrderId)?.planId;
        if (planId === undefined || out.has(planId)) return;
        out.set(planId, undefined as unknown as HeldRecords); // claimed: one read per plan
        const [intent, receipt, result, reconciled] = await Promise.all([
          ex(k.orderIntent(planId, o.symbol)),
          ex(k.permitReceipt(planId, o.symbol)),
          ex(k.resultPublished(planId)),
          ex(k.reconciledPublished(planId)),
        ]);
        const planEntry = planIds.has(planId) || (streamFromMs > 0 && o.time < streamFromMs + PLAN_LEAD_MS);
        out.set(planId, { planEntry, intent, receipt, result, reconciled });
      }),
    );
    return out;
  }

  /** The audit entry (once per plan and kind), then a lost result's replacement; true if recorded now. */
  private async account(gap: LostWrite<ListedOrder>, trigger: FailoverTrigger): Promise<boolean> {
    const { store, clock, logger } = this.deps;
    const k = store.keys;
    const o = gap.order;
    const audit = await store.publishOnce(
      k.failoverAudited(gap.kind, gap.planId),
      this.opts.dedupeTtlSec,
      k.failoverAudit(),
      {
        plan_id: gap.planId,
        symbol: gap.symbol,
        kind: gap.kind,
        client_order_id: o.clientOrderId,
        order_id: o.orderId,
        order_status: o.status,
        executed_qty: o.executedQty,
        order_time: String(o.time),
        action: gap.action,
        trigger,
        timestamp: String(clock.now()),
      },
      AUDIT_MAXLEN,
    );
    // Audit first: a crash in between leaves the result to the next pass, never unrecorded.
    if (gap.action === 'result_published') await this.publishResult(gap);
    if (audit === null) return false;
    (this.deps.metrics ?? noopMetrics).lostWrite(gap.kind, gap.action);
    logger.warn(
      {
        plan: gap.planId,
        symbol: gap.symbol,
        kind: gap.kind,
        client_order_id: o.clientOrderId,
        order_id: o.orderId,
        executed_qty: o.executedQty,
        action: gap.action,
        audit_entry: audit,
      },
      `apply: Redis lost the ${gap.kind} of plan ${gap.planId} ${gap.symbol} (a failover); the exchange has its order ${o.orderId} ${o.status}, executed ${o.executedQty}; ${ACTION_TEXT[gap.action]}`,
    );
    return true;
  }

  /** The plan's one result, from the exchange's record (nothing when the plan has one already). */
  private publishResult(gap: LostWrite<ListedOrder>): Promise<void> {
    const o = gap.order;
    const details = `order ${o.orderId} ${o.status} found on the exchange after a Redis failover lost this plan's result`;
    const r = executedSome(o.executedQty)
      ? filled(gap.step, o, details)
      : failed(gap.step, `order_${safeReason(o.status.toLowerCase())}`, details, o.side);
    const log = this.deps.logger.child({ plan: gap.planId, symbol: gap.symbol });
    return this.results.publish({ planId: gap.planId, symbol: gap.symbol }, 'EXECUTE', r, log);
  }
}

const ACTION_TEXT: Record<LostWrite['action'], string> = {
  result_published: 'published its result from the exchange record',
  reconciled_entry_stands: 'its reconciled entry already reports the order; nothing else written',
  recorded: 'recorded in the failover audit (it cannot be rebuilt)',
};
