/**
 * The reliability rig: apply replicas (in-process, each on its own connections, or child
 * processes), a fake authority that grants permits the way the fleet writes them, a proposal
 * feeder, and the audit that every scenario ends with: lost plans, duplicate results,
 * duplicate orders and unpermitted orders, counted from Redis and the paper exchange's books.
 */
import { createBinanceExchange } from '../../src/exchange/binance/index.js';
import type { PaperExchange } from '../../src/exchange/paper/index.js';
import { systemClock, type Clock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { SymbolLeases } from '../../src/services/apply/lease.js';
import type { ApplyMetricsSink } from '../../src/services/apply/metrics.js';
import type { ApplyOptions } from '../../src/services/apply/options.js';
import { ApplyService } from '../../src/services/apply/service.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { mustRefuse } from '../fuzz/permit-oracle.js';
import { BASE_OPTIONS, proposal } from '../services/apply/harness.js';
import { freshComputedAt } from '../helpers/decide.js';
import { exposureOf } from './exposure.js';
import { sleep } from '../helpers/wait.js';

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] as const;
/** Large positions so that many small closes fit; SOLUSDT trades whole units. */
export const POSITIONS: Record<string, number> = { BTCUSDT: 50, ETHUSDT: -400, SOLUSDT: 9000 };
export const SAFE_QTY: Record<string, string> = { BTCUSDT: '0.002', ETHUSDT: '0.01', SOLUSDT: '1' };
export const PAPER_KEYS = { apiKey: 'paper-key', apiSecret: 'paper-secret' };

export function paperAdapter(
  paper: { url: string },
  clock: Clock = systemClock,
  logger?: Parameters<typeof createBinanceExchange>[0]['logger'],
) {
  return createBinanceExchange({
    baseUrl: paper.url,
    clock,
    logger,
    ...PAPER_KEYS,
    recvWindow: 1000,
    timeoutMs: 800,
    readRetries: 1,
    retryBaseMs: 20,
    recoveryDelaysMs: [50, 100, 200],
    recoveryBudgetMs: 3000,
    absenceMarginMs: 200,
  });
}

export const REPLICA_OPTIONS: ApplyOptions = {
  ...BASE_OPTIONS,
  pollSec: 0.1,
  permitWaitMs: 1500,
  permitStepMs: 50,
  retryMinMs: 50,
  retryMaxMs: 500,
};

export interface Replica {
  name: string;
  store: Store;
  leases: SymbolLeases;
  service: ApplyService;
  logs: ReturnType<typeof captureLogger>;
  /** Graceful stop: in-flight plans finish, leases released. */
  stop(): Promise<void>;
  /** A crash seen from outside: no more renewals, connections cut, nothing released. */
  kill(): Promise<void>;
}

export async function startReplica(
  name: string,
  redisUrl: string,
  prefix: string,
  paper: { url: string },
  over: {
    leaseTtlMs?: number;
    /** false: a single apply process, no symbol leases (it handles every symbol it is given). */
    leases?: boolean;
    opts?: Partial<ApplyOptions>;
    clock?: Clock;
    metrics?: ApplyMetricsSink;
  } = {},
): Promise<Replica> {
  const clock = over.clock ?? systemClock;
  const store = await createStore({ url: redisUrl, prefix, commandTimeout: 1000 });
  const exchange = paperAdapter(paper, clock);
  const logs = captureLogger({ level: 'info' });
  const logger = logs.logger.child({ replica: name });
  let service: ApplyService | null = null;
  const leases = new SymbolLeases(store, SYMBOLS, {
    ttlMs: over.leaseTtlMs ?? 1000,
    clock,
    logger,
    onAcquired: () => service?.sweep(),
  });
  await leases.start();
  service = new ApplyService(
    // RELIABILITY_NO_LEASES=1 shows what the leases prevent (see RELIABILITY.md).
    {
      store,
      exchange,
      clock,
      logger,
      ...(over.metrics ? { metrics: over.metrics } : {}),
      ...(process.env.RELIABILITY_NO_LEASES || over.leases === false ? {} : { ownership: leases }),
    },
    { ...REPLICA_OPTIONS, ...over.opts },
  );
  await service.start();
  const s = service;
  return {
    name,
    store,
    leases,
    service: s,
    logs,
    async stop() {
      await s.stop();
      await leases.stop();
      await Promise.allSettled([exchange.close(), store.close()]);
    },
    async kill() {
      leases.halt();
      void s.stop();
      await Promise.allSettled([exchange.close(), store.close()]);
    },
  };
}

export type PermitPolicy = (
  planId: string,
  symbol: string,
) => {
  governor?: string | null;
  p33?: string | null;
  ttlSec?: number;
  delayMs?: number;
  /** P3.3's permit later than the governor's, with its own TTL (permits expiring mid-wait). */
  p33DelayMs?: number;
  p33TtlSec?: number;
} | null;

export const grantBodies = (symbol: string, safe = SAFE_QTY[symbol] ?? '0.001') => ({
  governor: JSON.stringify({
    granted: true,
    symbol,
    decision: 'EXECUTE',
    computed_qty: Number(safe),
    computed_notional: 100,
    created_at: Date.now() / 1000,
    consumed: false,
  }),
  p33: JSON.stringify({
    allow: true,
    symbol,
    safe_close_qty: Number(safe),
    exchange_position_amt: POSITIONS[symbol],
    ledger_amt: POSITIONS[symbol],
    created_at: Date.now() / 1000,
    reason: 'sanity_checks_passed',
  }),
});

/** Grants both permits (by default) for every EXECUTE plan it sees on the plan stream. */
export class FakeAuthority {
  private last = '0-0';
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  granted = 0;

  constructor(
    private readonly store: Store,
    private readonly policy: PermitPolicy = (_id, symbol) => grantBodies(symbol),
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), 10);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await sleep(5);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const entries = await this.store.xrange(this.store.keys.planStream(), `(${this.last}`, '+', 100);
      for (const e of entries) {
        this.last = e.id;
        if (e.fields.decision !== 'EXECUTE') continue;
        const decision = this.policy(e.fields.plan_id ?? '', e.fields.symbol ?? '');
        if (!decision) continue;
        const write = async () => {
          const k = this.store.keys;
          const ttlSec = decision.ttlSec ?? 60;
          const id = e.fields.plan_id ?? '';
          if (decision.governor)
            await this.store.set(k.permit('governor', id), decision.governor, { ttlSec });
          const p33 = decision.p33;
          if (p33 && decision.p33DelayMs) {
            const ttl = decision.p33TtlSec ?? ttlSec;
            setTimeout(
              () => void this.store.set(k.permit('p33', id), p33, { ttlSec: ttl }).catch(() => {}),
              decision.p33DelayMs,
            );
          } else if (p33) await this.store.set(k.permit('p33', id), p33, { ttlSec });
          this.granted++;
        };
        if (decision.delayMs) setTimeout(() => void write().catch(() => {}), decision.delayMs);
        else await write();
      }
    } catch {
      // Redis outage scenarios: the next tick tries again.
    } finally {
      this.busy = false;
    }
  }
}

/** Writes a fresh proposal (new plan id) for `symbol`, as upstream does: DEL + HSET. */
export async function feed(
  store: Store,
  symbol: string,
  action = 'PARTIAL_50',
  killScore = '0.3',
  extra: Record<string, string> = {},
) {
  const fields = proposal(action, killScore, {
    computed_at_utc: freshComputedAt(),
    ...extra,
  });
  const key = store.keys.proposal(symbol);
  await store.del([key]);
  await store.hset(key, fields);
  return fields;
}

export interface Audit {
  plans: number;
  executePlans: number;
  results: number;
  orders: number;
  /** EXECUTE plans without a result. */
  lost: string[];
  /** Plans with more than one result entry. */
  duplicateResults: string[];
  /** Plans with more than one order on the exchange. */
  duplicateOrders: string[];
  /** Orders whose plan has no consumed permit set, or one the contract says cannot authorise. */
  unpermitted: string[];
  /** Orders whose plan's result does not say EXECUTE / executed=True (reported wrongly). */
  misreported: string[];
  /** Fills larger than their plan asked of the position as it stood (exposure.ts). */
  overclosed: string[];
  /** Client order ids that filled more than once. */
  doubleFilled: string[];
}

export function planOfClientId(clientOrderId: string): string {
  return clientOrderId.startsWith('qa-') ? clientOrderId.slice(3, 19) : '';
}

export async function audit(store: Store, paper: PaperExchange): Promise<Audit> {
  const k = store.keys;
  const plans = await store.xrange(k.planStream(), '-', '+');
  const results = await store.xrange(k.resultStream(), '-', '+');
  const resultsBy = new Map<string, Record<string, string>[]>();
  for (const r of results) {
    const id = r.fields.plan_id ?? '';
    resultsBy.set(id, [...(resultsBy.get(id) ?? []), r.fields]);
  }
  const executeIds = plans.filter((p) => p.fields.decision === 'EXECUTE').map((p) => p.fields.plan_id ?? '');
  const ordersBy = new Map<string, number>();
  const orders = [
    ...paper.state.orders,
    ...paper.state.algoOrders.map((a) => ({ clientOrderId: a.clientAlgoId, symbol: a.symbol })),
  ];
  for (const o of orders) {
    const id = planOfClientId(o.clientOrderId);
    ordersBy.set(id, (ordersBy.get(id) ?? 0) + 1);
  }
  const unpermitted: string[] = [];
  const misreported: string[] = [];
  const symbolOf = new Map(plans.map((p) => [p.fields.plan_id ?? '', p.fields.symbol ?? '']));
  for (const id of ordersBy.keys()) {
    const receipt = id ? await store.get(k.permitReceipt(id)) : null;
    let ok = false;
    try {
      const r = JSON.parse(receipt ?? 'null') as { bodies?: string[] } | null;
      const [gov, p33] = r?.bodies ?? [];
      ok = mustRefuse(gov ?? '', p33 ?? '', symbolOf.get(id) ?? '?', Number.MAX_VALUE) === null;
    } catch {
      ok = false;
    }
    if (!ok) unpermitted.push(id || '<foreign>');
    const res = resultsBy.get(id)?.[0];
    if (res && (res.decision !== 'EXECUTE' || res.executed !== 'True')) misreported.push(id);
  }
  return {
    plans: plans.length,
    executePlans: executeIds.length,
    results: results.length,
    orders: orders.length,
    lost: executeIds.filter((id) => !resultsBy.has(id)),
    duplicateResults: [...resultsBy].filter(([, r]) => r.length > 1).map(([id]) => id),
    duplicateOrders: [...ordersBy].filter(([, n]) => n > 1).map(([id]) => id),
    unpermitted,
    misreported,
    ...exposureOf(paper.state.fills),
  };
}

/** The three numbers every scenario must hold at zero, plus every EXECUTE plan with a result. */
export function invariantsHold(a: Audit): boolean {
  return (
    a.lost.length === 0 &&
    a.duplicateResults.length === 0 &&
    a.duplicateOrders.length === 0 &&
    a.unpermitted.length === 0 &&
    a.overclosed.length === 0 &&
    a.doubleFilled.length === 0
  );
}

/** With RELIABILITY_REPORT=1, one line of figures per scenario (copied into RELIABILITY.md). */
export function report(scenario: string, a: Audit, extra: Record<string, unknown> = {}): void {
  if (!process.env.RELIABILITY_REPORT) return;
  const figures = {
    plans: a.plans,
    execute: a.executePlans,
    results: a.results,
    orders: a.orders,
    lost: a.lost.length,
    dup_results: a.duplicateResults.length,
    dup_orders: a.duplicateOrders.length,
    unpermitted: a.unpermitted.length,
    misreported: a.misreported.length,
    overclosed: a.overclosed.length,
    double_filled: a.doubleFilled.length,
    ...extra,
  };
  process.stdout.write(`[reliability] ${scenario} ${JSON.stringify(figures)}\n`);
}
