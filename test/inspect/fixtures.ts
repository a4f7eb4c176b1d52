/**
 * Writes the traces the services leave in Redis, with the contract's exact fields: plan and
 * result entries from the domain's own field builders, permit bodies as the authorities write
 * them, the consume receipt through the real consumePermits, the order intent hash as apply
 * writes it, governor state through the real grantPermit / decideOnce scripts.
 */
import { decide, markDuplicate, planStreamFields, type Plan } from '../../src/domain/plan.js';
import { computedAtSec, parseProposal } from '../../src/domain/proposal.js';
import { DECISION_DEFAULTS } from '../helpers/decide.js';
import { resultFields, type StepResult } from '../../src/domain/result.js';
import type { Clock } from '../../src/ops/clock.js';
import { recordDecision } from '../../src/services/decision-log.js';
import type { Store } from '../../src/store/port.js';

export const SYMBOL = 'BTCUSDT';

export function proposalFields(computedAt: string, action = 'PARTIAL_75', kill = '0.539') {
  return {
    harvest_action: action,
    kill_score: kill,
    k_regime_flip: '0.1',
    k_sigma_spike: '0.2',
    k_ts_drop: '0.0',
    k_age_penalty: '0.05',
    new_sl_proposed: '',
    R_net: '1.5',
    last_update_epoch: '1769301825',
    computed_at_utc: computedAt,
    reason_codes: 'regime_flip,age',
  };
}

export function planOf(fields: Record<string, string>, symbol = SYMBOL): Plan {
  const p = parseProposal(symbol, fields);
  if (!p.ok) throw new Error(`fixture proposal does not parse: ${p.reason}`);
  // Decided as apply would have, a second after the proposal was computed.
  const nowSec = (computedAtSec(p.proposal.computedAtUtc) ?? DECISION_DEFAULTS.nowSec) + 1;
  return decide(p.proposal, {
    killSwitch: false,
    allowlist: new Set([symbol]),
    ...DECISION_DEFAULTS,
    nowSec,
  });
}

export class TraceWriter {
  constructor(
    readonly store: Store,
    readonly clock: Clock & { advance?(ms: number): void },
  ) {}

  private get k() {
    return this.store.keys;
  }

  /** Memory tests move a manual clock; against Redis time moves by itself. */
  tick(ms: number): void {
    this.clock.advance?.(ms);
  }

  async proposal(plan: Plan): Promise<void> {
    await this.store.hset(this.k.proposal(plan.symbol), { ...plan.proposal.raw });
  }

  async publishPlan(plan: Plan): Promise<void> {
    if (plan.decision === 'EXECUTE' || plan.reasonCodes.includes('duplicate_plan')) {
      await this.store.set(this.k.dedupe(plan.planId), String(Math.floor(this.clock.now() / 1000)), {
        nx: true,
        ttlSec: 21600,
      });
    }
    await this.store.publishOnce(
      this.k.streamPublished(plan.planId),
      300,
      this.k.planStream(),
      planStreamFields(plan, this.clock.now() / 1000),
      10_000,
    );
  }

  governorBody(plan: Plan, qty = 0.5): string {
    return JSON.stringify({
      granted: true,
      symbol: plan.symbol,
      decision: 'EXECUTE',
      computed_qty: qty * (plan.closeFraction ?? 1),
      computed_notional: qty * 50_000,
      created_at: this.clock.now() / 1000,
      consumed: false,
    });
  }

  async governorPermit(plan: Plan): Promise<void> {
    await this.store.set(this.k.governorPermit(plan.planId), this.governorBody(plan), { ttlSec: 60 });
  }

  async governorBlock(plan: Plan, reason: string): Promise<void> {
    const nowSec = this.clock.now() / 1000;
    await this.store.decideOnce({
      decisionKey: this.k.authorityDecision('governor', plan.planId),
      recordKey: this.k.governorBlock(plan.planId),
      guardKey: this.k.governorPermit(plan.planId),
      markerValue: reason,
      markerTtlSec: 3600,
      body: JSON.stringify({ reason, timestamp: nowSec, symbol: plan.symbol }),
      ttlSec: 3600,
    });
    await recordDecision(this.store, {
      planId: plan.planId,
      symbol: plan.symbol,
      decision: 'BLOCKED',
      reason,
      atMs: this.clock.now(),
    });
  }

  async p33Allow(plan: Plan, safe = 0.375): Promise<void> {
    await this.p33(plan, {
      allow: true,
      symbol: plan.symbol,
      safe_close_qty: safe,
      exchange_position_amt: 0.5,
      ledger_amt: 0.5,
      created_at: this.clock.now() / 1000,
      reason: 'sanity_checks_passed',
    });
  }

  async p33Deny(plan: Plan, reason: string): Promise<void> {
    await this.p33(plan, {
      allow: false,
      symbol: plan.symbol,
      reason,
      context: { exchange_amt: 0.5, ledger_amt: 0.2 },
      created_at: this.clock.now() / 1000,
    });
  }

  private async p33(plan: Plan, body: Record<string, unknown>): Promise<void> {
    await this.store.decideOnce({
      decisionKey: this.k.authorityDecision('p33', plan.planId),
      recordKey: this.k.p33Permit(plan.planId),
      guardKey: this.k.p33Permit(plan.planId),
      markerValue: body.allow === true ? 'allow' : String(body.reason),
      markerTtlSec: 3600,
      body: JSON.stringify(body),
      ttlSec: 60,
    });
  }

  /** What the apply layer's permit chain does: one atomic consume, receipt TTL 3600 s. */
  async consume(plan: Plan): Promise<void> {
    const out = await this.store.consumePermits(
      [this.k.governorPermit(plan.planId), this.k.p33Permit(plan.planId)],
      this.k.permitReceipt(plan.planId),
      `token-${plan.planId}`,
      3600,
    );
    if (out.kind !== 'consumed') throw new Error(`fixture consume: ${out.kind}`);
  }

  async intent(plan: Plan, qty: string, answer: Record<string, string>): Promise<void> {
    const key = this.k.orderIntent(plan.planId);
    await this.store.hset(
      key,
      {
        plan_id: plan.planId,
        step: plan.steps[0]?.step ?? 'CLOSE_FULL',
        kind: 'market',
        client_order_id: `qa-${plan.planId}-1`,
        symbol: plan.symbol,
        side: 'SELL',
        quantity: qty,
        trigger_price: '',
        state: 'sending',
        at: String(this.clock.now()),
      },
      21600,
    );
    this.tick(35);
    await this.store.hset(key, { updated_at: String(this.clock.now()), ...answer });
  }

  async result(
    plan: Plan,
    r: { decision: Plan['decision']; executed?: boolean; error?: string; steps?: StepResult[] },
  ) {
    await this.store.publishOnce(
      this.k.resultPublished(plan.planId),
      21600,
      this.k.resultStream(),
      resultFields({
        planId: plan.planId,
        symbol: plan.symbol,
        decision: r.decision,
        executed: r.executed ?? false,
        wouldExecute: r.executed ?? false,
        steps: r.steps ?? [],
        error: r.error ?? '',
        nowSec: this.clock.now() / 1000,
      }),
      10_000,
    );
  }

  /** A full executed story: proposal → plan → both permits → consume → order → result. */
  async executed(plan: Plan): Promise<void> {
    await this.proposal(plan);
    await this.publishPlan(plan);
    this.tick(40);
    await this.governorPermit(plan);
    this.tick(25);
    await this.p33Allow(plan);
    this.tick(8);
    await this.consume(plan);
    this.tick(2);
    await this.intent(plan, '0.375', { state: 'filled', order_id: '123', executed_qty: '0.375' });
    this.tick(3);
    await this.result(plan, {
      decision: 'EXECUTE',
      executed: true,
      steps: [
        {
          step: 'CLOSE_PARTIAL_75',
          status: 'success',
          details: 'reduceOnly MARKET SELL 0.375 BTCUSDT: FILLED',
          order_id: '123',
          side: 'SELL',
          quantity: '0.375',
          executed_qty: '0.375',
          reduce_only: true,
        },
      ],
    });
  }

  async deniedByP33(plan: Plan, reason: string): Promise<void> {
    await this.publishPlan(plan);
    this.tick(30);
    await this.governorPermit(plan);
    this.tick(20);
    await this.p33Deny(plan, reason);
    this.tick(5);
    await this.consume(plan);
    this.tick(1);
    await this.result(plan, { decision: 'BLOCKED', error: 'p33_permit_denied' });
  }

  async permitTimeout(plan: Plan): Promise<void> {
    await this.publishPlan(plan);
    this.tick(30);
    await this.governorPermit(plan);
    this.tick(1200);
    await this.result(plan, { decision: 'BLOCKED', error: 'permit_timeout_or_missing:missing_p33' });
  }

  async duplicate(plan: Plan): Promise<void> {
    // An earlier attempt (another replica, the Python fleet) set the dedupe key and no result.
    await this.store.set(this.k.dedupe(plan.planId), String(Math.floor(this.clock.now() / 1000)), {
      ttlSec: 21600,
    });
    this.tick(90_000);
    const dup = markDuplicate(plan);
    await this.publishPlan(dup);
    this.tick(1);
    await this.result(dup, { decision: 'SKIP', error: dup.reasonCodes.join(',') });
  }
}
