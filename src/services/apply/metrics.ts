/**
 * What the apply service reports, as a small interface: the service calls these methods and the
 * CLI binds them to prom-client instruments (src/ops/metrics.ts). Tests use a recording sink.
 */
import { Counter, Gauge } from 'prom-client';
import type { OrderOutcome, StopOutcome } from '../../exchange/port.js';
import { closedLabel, type ApplyMetrics } from '../../ops/metrics.js';

/** What the exchange answered to an order or a stop that was sent. */
export type SentOutcome = OrderOutcome['kind'] | StopOutcome['kind'];

/**
 * The fleet's `status` on `quantum_apply_execute_total` for a sent plan step. The fleet counts
 * `success` for every step that did not raise (an order answered, its ACK answer included, and
 * its UPDATE_SL, which sends nothing) and `error` for one that raised (an error answer, a
 * timeout). An order whose fate is unknown is not a success: it may never have been placed.
 */
export function fleetStatus(outcome: SentOutcome): 'success' | 'error' {
  switch (outcome) {
    case 'filled':
    case 'accepted':
    case 'placed':
      return 'success';
    case 'rejected':
    case 'unknown':
      return 'error';
  }
}

export interface ApplyMetricsSink {
  plan(symbol: string, decision: string): void;
  /** A plan step sent: the exchange's answer (the fleet's status is derived from it). */
  execute(symbol: string, step: string, outcome: SentOutcome): void;
  dedupeHit(): void;
  lastSuccess(symbol: string, epochSec: number): void;
  inputRejected(reason: string): void;
  /** Permit wait in seconds, labelled ok / block. */
  permitWait(symbol: string, seconds: number, outcome: 'ok' | 'block'): void;
  /** Outcome of the permit chain: consumed, or the failure reason. */
  consume(outcome: string): void;
  /** A published result: how the plan ended, and what the plan itself decided (EXECUTE, SKIP, ...). */
  result(symbol: string, decision: string, planDecision: string): void;
  /** From the proposal change being detected to the exchange's answer to the order. */
  proposalToOrder(symbol: string, seconds: number): void;
  runFailed(symbol: string): void;
  /** The arm key answered with no readable arm hash (true) or with one again (false). */
  armStateUnreadable(unreadable: boolean): void;
  /** The arm state as read from Redis: armed or not, and when it last changed (ms, 0 unknown). */
  armState(armed: boolean, changedAtMs: number): void;
  /** A result BLOCKED kill_switch_active; `planDecision` is what the plan itself decided. */
  killSwitchBlocked(symbol: string, planDecision: string): void;
  /** A consumed permit refused for its signature (permit_unsigned, permit_tampered, ...). */
  permitRejected?(reason: string): void;
  /** The exchange asked for a plan step's client order id before its first send: absent, found, failed. */
  orderLookup(outcome: string): void;
  /** What a reconciler pass found of one order left unknown (filled, absent, pending, ...). */
  reconcile(outcome: string): void;
  /** Orders whose outcome is still unknown (the reconciler's backlog), at each pass. */
  unresolvedOrders(count: number): void;
  /** A proposal written under a symbol not in SYMBOLS (never read: no plan). */
  unknownSymbolProposal(): void;
  /** A canary request answered or dropped: passed, the failure reason, a refusal, expired. */
  canary?(outcome: string): void;
  /** A write a failover lost, found by the failover reconciliation: its kind and what was done. */
  lostWrite(kind: string, action: string): void;
  /** A failover reconciliation pass: why it ran, how it ended, its gaps and request weight. */
  failoverPass(trigger: string, outcome: 'ok' | 'failed', gaps: number, weight: number): void;
}

export const noopMetrics: ApplyMetricsSink = {
  plan: () => {},
  execute: () => {},
  dedupeHit: () => {},
  lastSuccess: () => {},
  inputRejected: () => {},
  permitWait: () => {},
  consume: () => {},
  result: () => {},
  proposalToOrder: () => {},
  runFailed: () => {},
  armStateUnreadable: () => {},
  armState: () => {},
  killSwitchBlocked: () => {},
  orderLookup: () => {},
  reconcile: () => {},
  unresolvedOrders: () => {},
  unknownSymbolProposal: () => {},
  lostWrite: () => {},
  failoverPass: () => {},
};

/** A sink that keeps every call, for tests, and passes each on to `forward` when given. */
export class RecordingMetrics implements ApplyMetricsSink {
  readonly events: { name: keyof ApplyMetricsSink; args: unknown[] }[] = [];
  constructor(private readonly forward?: ApplyMetricsSink) {}
  private rec(name: keyof ApplyMetricsSink, args: unknown[]): void {
    this.events.push({ name, args });
    (this.forward?.[name] as ((...a: unknown[]) => void) | undefined)?.apply(this.forward, args);
  }
  plan(symbol: string, decision: string): void {
    this.rec('plan', [symbol, decision]);
  }
  execute(symbol: string, step: string, outcome: SentOutcome): void {
    this.rec('execute', [symbol, step, outcome]);
  }
  dedupeHit(): void {
    this.rec('dedupeHit', []);
  }
  lastSuccess(symbol: string, epochSec: number): void {
    this.rec('lastSuccess', [symbol, epochSec]);
  }
  inputRejected(reason: string): void {
    this.rec('inputRejected', [reason]);
  }
  permitWait(symbol: string, seconds: number, outcome: 'ok' | 'block'): void {
    this.rec('permitWait', [symbol, seconds, outcome]);
  }
  consume(outcome: string): void {
    this.rec('consume', [outcome]);
  }
  result(symbol: string, decision: string, planDecision: string): void {
    this.rec('result', [symbol, decision, planDecision]);
  }
  proposalToOrder(symbol: string, seconds: number): void {
    this.rec('proposalToOrder', [symbol, seconds]);
  }
  runFailed(symbol: string): void {
    this.rec('runFailed', [symbol]);
  }
  armStateUnreadable(unreadable: boolean): void {
    this.rec('armStateUnreadable', [unreadable]);
  }
  armState(armed: boolean, changedAtMs: number): void {
    this.rec('armState', [armed, changedAtMs]);
  }
  killSwitchBlocked(symbol: string, planDecision: string): void {
    this.rec('killSwitchBlocked', [symbol, planDecision]);
  }
  permitRejected(reason: string): void {
    this.rec('permitRejected', [reason]);
  }
  orderLookup(outcome: string): void {
    this.rec('orderLookup', [outcome]);
  }
  reconcile(outcome: string): void {
    this.rec('reconcile', [outcome]);
  }
  unresolvedOrders(count: number): void {
    this.rec('unresolvedOrders', [count]);
  }
  unknownSymbolProposal(): void {
    this.rec('unknownSymbolProposal', []);
  }
  canary(outcome: string): void {
    this.rec('canary', [outcome]);
  }
  lostWrite(kind: string, action: string): void {
    this.rec('lostWrite', [kind, action]);
  }
  failoverPass(trigger: string, outcome: 'ok' | 'failed', gaps: number, weight: number): void {
    this.rec('failoverPass', [trigger, outcome, gaps, weight]);
  }
  count(name: keyof ApplyMetricsSink, ...args: unknown[]): number {
    return this.events.filter((e) => e.name === name && args.every((a, i) => e.args[i] === a)).length;
  }
}

/** Binds the sink to the prom-client instruments of createApplyMetrics (contract names). */
export function promSink(m: ApplyMetrics, symbols: readonly string[]): ApplyMetricsSink {
  // Symbols come from proposals keyed by configured symbols, but keep the label set closed anyway.
  const sym = closedLabel(symbols);
  const runFailures = new Counter({
    name: 'quantum_apply_run_failures_total',
    help: 'Proposal runs that threw (Redis outage, bug) and were retried with backoff',
    labelNames: ['symbol'],
    registers: [m.registry],
  });
  const permitRejected = new Counter({
    name: 'quantum_apply_permit_rejected_total',
    help: 'Consumed permits refused for their signature (APPLY_REQUIRE_SIGNED_PERMITS), by reason',
    labelNames: ['reason'],
    registers: [m.registry],
  });
  const orderLookups = new Counter({
    name: 'quantum_apply_order_lookup_total',
    help: 'Client order ids looked up on the exchange before their first send, by outcome (found: an earlier run sent it; it is not sent again)',
    labelNames: ['outcome'],
    registers: [m.registry],
  });
  // 0 from the first scrape, so an alert on it also sees the process that never had trouble.
  const reconciled = new Counter({
    name: 'quantum_apply_reconcile_total',
    help: 'Orders left order_status_unknown, looked up again by the reconciler, by what it found (filled, not_filled, placed, absent, pending, failed, expired)',
    labelNames: ['outcome'],
    registers: [m.registry],
  });
  const unresolved = new Gauge({
    name: 'quantum_apply_unresolved_orders',
    help: 'Orders whose outcome is still unknown, waiting for the reconciler',
    registers: [m.registry],
  });
  const armStateUnreadable = new Gauge({
    name: 'quantum_apply_arm_state_unreadable',
    help: '1 while Redis answers for the arm key with no readable arm hash (another type, or fields that do not parse): read as disarmed, every plan BLOCKED',
    registers: [m.registry],
  });
  // No symbol label: the symbols are whatever was written, unbounded; the log names each one.
  const unknownSymbol = new Counter({
    name: 'quantum_apply_unknown_symbol_proposals_total',
    help: 'Proposals written under a symbol not in SYMBOLS, which apply never reads (a typo: BTCUSTD, btcusdt); each symbol is logged once an hour',
    registers: [m.registry],
  });
  // Canaries never count in the plan, consume or wait metrics above: only here.
  const canaries = new Counter({
    name: 'quantum_apply_canary_total',
    help: 'Canary requests this process answered or dropped: passed, the failure reason (missing_governor, p33_permit_denied, ...), rate_limited, count_above_max, bad_request, expired, failed',
    labelNames: ['outcome'],
    registers: [m.registry],
  });
  const lostWrites = new Counter({
    name: 'quantum_apply_failover_lost_writes_total',
    help: 'Records of our orders a Redis failover lost (kind: plan_entry, intent, consume_receipt, result), found by the failover reconciliation, by what it did (result_published, reconciled_entry_stands, recorded)',
    labelNames: ['kind', 'action'],
    registers: [m.registry],
  });
  const failoverPasses = new Counter({
    name: 'quantum_apply_failover_passes_total',
    help: 'Failover reconciliation passes, by trigger (switch: the store saw a reconnect or a new master; periodic) and outcome (ok, failed)',
    labelNames: ['trigger', 'outcome'],
    registers: [m.registry],
  });
  const failoverLastGaps = new Gauge({
    name: 'quantum_apply_failover_last_pass_gaps',
    help: 'Lost writes the last completed failover reconciliation pass found (0: Redis held every record of our recent orders)',
    registers: [m.registry],
  });
  const failoverWeight = new Counter({
    name: 'quantum_apply_failover_request_weight_total',
    help: 'Exchange request weight spent by failover reconciliation passes (GET /fapi/v1/allOrders, 5 a page)',
    registers: [m.registry],
  });
  return {
    canary: (outcome) => canaries.inc({ outcome }),
    lostWrite: (kind, action) => lostWrites.inc({ kind, action }),
    failoverPass: (trigger, outcome, gaps, weight) => {
      failoverPasses.inc({ trigger, outcome });
      failoverWeight.inc(weight);
      if (outcome === 'ok') failoverLastGaps.set(gaps);
    },
    unknownSymbolProposal: () => unknownSymbol.inc(),
    permitRejected: (reason) => permitRejected.inc({ reason }),
    orderLookup: (outcome) => orderLookups.inc({ outcome }),
    reconcile: (outcome) => reconciled.inc({ outcome }),
    unresolvedOrders: (count) => unresolved.set(count),
    plan: (symbol, decision) => m.plan.inc({ symbol: sym(symbol), decision }),
    execute: (symbol, step, outcome) => {
      const s = sym(symbol);
      m.execute.inc({ symbol: s, step, status: fleetStatus(outcome) });
      m.orderOutcome.inc({ symbol: s, step, outcome });
    },
    dedupeHit: () => m.dedupeHits.inc(),
    lastSuccess: (symbol, epochSec) => m.lastSuccessEpoch.set({ symbol: sym(symbol) }, epochSec),
    inputRejected: (reason) => m.inputRejected.inc({ reason }),
    // Histograms carry no symbol label (src/ops/metrics.ts): the sink's symbol is for tests and logs.
    permitWait: (_symbol, seconds, outcome) => m.permitWait.observe({ outcome }, seconds),
    consume: (outcome) => m.consume.inc({ outcome }),
    result: (symbol, decision, planDecision) =>
      m.result.inc({ symbol: sym(symbol), decision, plan_decision: planDecision }),
    proposalToOrder: (_symbol, seconds) => m.proposalToOrder.observe(seconds),
    runFailed: (symbol) => runFailures.inc({ symbol: sym(symbol) }),
    armStateUnreadable: (unreadable) => armStateUnreadable.set(unreadable ? 1 : 0),
    armState: (armed, changedAtMs) => {
      m.armed.set(armed ? 1 : 0);
      m.armChangedAt.set(changedAtMs / 1000);
    },
    killSwitchBlocked: (symbol, planDecision) =>
      m.killSwitchBlocks.inc({ symbol: sym(symbol), plan_decision: planDecision }),
  };
}
