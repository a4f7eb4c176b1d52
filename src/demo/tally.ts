/**
 * Follows the result stream while the demo runs (one printed line per result) and, at the end,
 * checks the safety promises against the paper exchange's own record of orders.
 */
import { clientOrderIdFor } from '../exchange/port.js';
import type { PaperExchange } from '../exchange/paper/index.js';
import type { Store } from '../store/port.js';
import type { DeskAuthority } from './desk.js';
import { clockText, meetsExpectation, resultLine, summary, type ResultRecord } from './report.js';
import type { DemoStep } from './scenario.js';

interface StepResultView {
  step?: string;
  status?: string;
  details?: string;
  order_id?: string;
  side?: string;
  quantity?: string;
  executed_qty?: string;
}

function parseSteps(text: string | undefined): StepResultView[] {
  try {
    const v = JSON.parse(text ?? '[]') as unknown;
    return Array.isArray(v) ? (v as StepResultView[]) : [];
  } catch {
    return [];
  }
}

function describeSteps(steps: StepResultView[]): string {
  return steps
    .map((s) =>
      s.order_id && s.step !== 'UPDATE_SL'
        ? `${s.side ?? '?'} ${s.executed_qty ?? s.quantity ?? '?'} filled, order ${s.order_id}`
        : `${s.step ?? '?'} ${s.status ?? ''} ${s.details ?? ''}`.trim(),
    )
    .join('; ');
}

export class Tally {
  private lastId = '0-0';
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();
  readonly results: ResultRecord[] = [];

  constructor(
    private readonly store: Store,
    private readonly paper: PaperExchange,
    private readonly desk: DeskAuthority,
    private readonly expectations: Map<string, DemoStep>,
    private readonly startMs: number,
    private readonly out: (t: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll()).catch(() => {});
    }, 50);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    await this.poll();
  }

  /** Waits until every published EXECUTE plan has its result (bounded). */
  async settle(deadlineMs: number): Promise<void> {
    while (Date.now() < deadlineMs) {
      const plans = await this.store.xrange(this.store.keys.planStream(), '-', '+');
      const done = new Set(this.results.map((r) => r.planId));
      if (plans.every((p) => done.has(p.fields.plan_id ?? ''))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async poll(): Promise<void> {
    // Inclusive start (the memory store has no exclusive '(' ranges): skip the entry seen last.
    const start = this.lastId === '0-0' ? '-' : this.lastId;
    const entries = await this.store.xrange(this.store.keys.resultStream(), start, '+', 200);
    for (const e of entries) {
      if (e.id === this.lastId) continue;
      this.lastId = e.id;
      const f = e.fields;
      const planId = f.plan_id ?? '';
      const steps = parseSteps(f.steps_results);
      const r: ResultRecord = {
        atMs: Date.now(),
        planId,
        symbol: f.symbol ?? '?',
        decision: f.decision ?? '?',
        executed: f.executed === 'True',
        error: f.error ?? '',
        detail: describeSteps(steps),
        handoffMs: r0(await this.handoff(planId, steps)),
        expect: this.expectations.get(planId)?.expect ?? null,
      };
      this.results.push(r);
      this.out(resultLine(clockText(this.startMs, r.atMs), r) + '\n');
    }
  }

  /** Order time at the exchange minus the newest permit's creation time. */
  private async handoff(planId: string, steps: StepResultView[]): Promise<number | null> {
    const step = steps.find((s) => s.order_id)?.step;
    if (!step) return null;
    const order = this.paper.state.orders.find((o) => o.clientOrderId === clientOrderIdFor(planId, step));
    const receipt = order ? await this.store.get(this.store.keys.permitReceipt(planId, order.symbol)) : null;
    if (!order || !receipt) return null;
    let last = this.desk.writtenAt.get(planId) ?? 0;
    try {
      for (const body of (JSON.parse(receipt) as { bodies: string[] }).bodies) {
        const created = Number((JSON.parse(body) as { created_at?: unknown }).created_at);
        if (Number.isFinite(created)) last = Math.max(last, created * 1000);
      }
    } catch {
      return null;
    }
    return last > 0 ? order.time - last : null;
  }

  async report(noPlan: number): Promise<{ text: string; safe: boolean }> {
    const plans = await this.store.xrange(this.store.keys.planStream(), '-', '+');
    const byDecision = new Map<string, number>();
    for (const p of plans)
      byDecision.set(p.fields.decision ?? '?', (byDecision.get(p.fields.decision ?? '?') ?? 0) + 1);
    const orders = this.paper.state.orders;
    const perClientId = new Map<string, number>();
    for (const o of orders) perClientId.set(o.clientOrderId, (perClientId.get(o.clientOrderId) ?? 0) + 1);
    let withoutPermits = 0;
    for (const o of orders) {
      const planId = /^qa-([0-9a-f]{16})-/.exec(o.clientOrderId)?.[1];
      const receipt = planId ? await this.store.get(this.store.keys.permitReceipt(planId, o.symbol)) : null;
      const bodies = receipt ? ((JSON.parse(receipt) as { bodies?: unknown[] }).bodies ?? []) : [];
      if (bodies.length < 3) withoutPermits++;
    }
    const safety = {
      ordersAtExchange: orders.length,
      ordersWithoutPermitSet: withoutPermits,
      duplicateOrders: [...perClientId.values()].filter((n) => n > 1).length,
    };
    const unmet = this.results.filter((r) => r.expect !== null && !meetsExpectation(r.expect, r));
    const text = summary({
      results: this.results,
      plansByDecision: [...byDecision.entries()].sort((a, b) => b[1] - a[1]),
      fills: this.paper.state.fills.length,
      stops: this.paper.state.algoOrders.length,
      noPlan,
      safety,
      unmet,
      elapsedMs: Date.now() - this.startMs,
    });
    return { text, safe: safety.ordersWithoutPermitSet === 0 && safety.duplicateOrders === 0 };
  }
}

function r0(v: number | null): number | null {
  return v === null ? null : Math.round(v * 10) / 10;
}
