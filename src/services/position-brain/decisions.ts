/**
 * P3.3's decision writes, each at most once per plan: a close allow goes through grantCloseQty
 * with the reservation of its quantity (refused with 'conflict' when another grant of the symbol
 * came first: the caller evaluates again); a deny or a stop-move allow through decideOnce.
 */
import { isCloseAction, type AuthorityPlan } from '../../domain/governor/plan-input.js';
import { signPermitBody, type PermitKey } from '../../domain/permit-signing.js';
import type { CheckResult, P33Limits } from '../../domain/position/checks.js';
import { add, parseDec, toNumber, ZERO } from '../../domain/decimal.js';
import {
  lapsedFields,
  reservationField,
  reservationHashTtlSec,
  reservationUntil,
  reservationValue,
} from '../../domain/position/reservations.js';
import type { Logger } from '../../ops/logger.js';
import type { P33Metrics } from '../../ops/metrics.js';
import type { Store } from '../../store/port.js';
import { recordP33Decision, type P33DecisionRecord } from '../decision-log.js';

export type P33Outcome =
  | { kind: 'allowed'; safeCloseQty: string }
  | { kind: 'denied'; reason: string }
  | { kind: 'already_decided' }
  | { kind: 'skipped'; why: 'not_execute' | 'not_in_allowlist' }
  | { kind: 'garbage'; reason: string };

export interface DecisionWriterOptions {
  store: Store;
  logger: Logger;
  metrics?: P33Metrics;
  limits: P33Limits;
  permitTtlSec: number;
  decisionTtlSec?: number;
  signingKey?: PermitKey | null;
}

/** Lapsed reservations deleted per grant (each grant deletes some; the hash's TTL ends the rest). */
const MAX_DROP = 100;

export class DecisionWriter {
  constructor(private readonly o: DecisionWriterOptions) {}

  /**
   * Records the decision on P3.3's decisions stream. The permit is already written: an entry
   * lost to a Redis failure is logged, and the plan is not decided again for it.
   */
  private async note(d: P33DecisionRecord): Promise<void> {
    try {
      await recordP33Decision(this.o.store, d);
    } catch (err) {
      this.o.logger.warn(
        { plan: d.planId, symbol: d.symbol, decision: d.decision, err: (err as Error).message },
        'decision not recorded on the P3.3 decisions stream',
      );
    }
  }

  /** The permit body of a check result, signed when P3.3 holds a key. */
  private permitBody(plan: AuthorityPlan, r: CheckResult, nowSec: number, extra: object = {}): string {
    const body = r.allow
      ? {
          allow: true,
          symbol: plan.symbol,
          safe_close_qty: Number(r.safeCloseQty),
          exchange_position_amt: r.exchangeAmt,
          ledger_amt: r.ledgerAmt,
          created_at: nowSec,
          reason: 'sanity_checks_passed',
        }
      : { allow: false, symbol: plan.symbol, reason: r.reason, context: r.context, created_at: nowSec };
    const full = { ...body, ...extra };
    return JSON.stringify(
      this.o.signingKey
        ? signPermitBody('p33', plan.planId, full, nowSec + this.o.permitTtlSec, this.o.signingKey)
        : full,
    );
  }

  /**
   * A canary's permit (PROTOCOL.md "Canary plans"): the allow or deny a real plan would get,
   * marked `canary: true`, written once per canary id with no reservation, no grant time (no
   * cooldown) and no fleet metric.
   */
  async writeCanary(plan: AuthorityPlan, r: CheckResult, nowSec: number): Promise<P33Outcome> {
    const { store } = this.o;
    const written = await store.decideOnce({
      decisionKey: store.keys.authorityDecision('p33', plan.planId, plan.symbol),
      recordKey: store.keys.p33Permit(plan.planId, plan.symbol),
      guardKey: store.keys.p33Permit(plan.planId, plan.symbol),
      markerValue: r.allow ? 'canary_allow' : r.reason,
      markerTtlSec: this.o.decisionTtlSec ?? 3600,
      body: this.permitBody(plan, r, nowSec, { canary: true }),
      ttlSec: this.o.permitTtlSec,
    });
    if (!written) return { kind: 'already_decided' };
    const outcome = r.allow ? 'allow' : r.reason;
    this.o.metrics?.canary.inc({ outcome });
    this.o.logger.info(
      {
        plan: plan.planId,
        symbol: plan.symbol,
        canary: true,
        outcome,
        ...(r.allow ? { safe_close_qty: r.safeCloseQty } : { context: r.context }),
      },
      `P3.3 canary ${outcome} (reserves nothing)`,
    );
    return r.allow ? { kind: 'allowed', safeCloseQty: r.safeCloseQty } : { kind: 'denied', reason: r.reason };
  }

  /** Writes the decision; 'conflict': a close grant lost to another grant of its symbol. */
  async write(plan: AuthorityPlan, r: CheckResult, nowSec: number): Promise<P33Outcome | 'conflict'> {
    const { store } = this.o;
    const permitBody = this.permitBody(plan, r, nowSec);
    const decisionKey = store.keys.authorityDecision('p33', plan.planId, plan.symbol);
    const permitKey = store.keys.p33Permit(plan.planId, plan.symbol);
    const markerTtlSec = this.o.decisionTtlSec ?? 3600;
    let written: boolean;
    if (r.allow && isCloseAction(plan.action)) {
      const state = r.reservationState;
      const stale = this.o.limits.staleThresholdSec;
      const until = reservationUntil(nowSec, this.o.permitTtlSec);
      const drop = lapsedFields(state, nowSec, stale).slice(0, MAX_DROP);
      const kept = state.reservations.filter((x) => !drop.includes(x.field));
      const code = await store.grantCloseQty({
        decisionKey,
        permitKey,
        reservationKey: store.keys.p33Reserved(plan.symbol),
        markerValue: 'allow',
        markerTtlSec,
        permitBody,
        permitTtlSec: this.o.permitTtlSec,
        expectSeq: state.seq,
        field: reservationField(plan.planId),
        value: reservationValue(r.safeCloseQty, nowSec, until),
        grantedAt: String(nowSec),
        dropFields: drop,
        reservationTtlSec: reservationHashTtlSec(
          [...kept, { until }],
          nowSec,
          nowSec,
          stale,
          this.o.limits.cooldownSec,
        ),
      });
      if (code === 'conflict') return 'conflict';
      written = code === 'granted';
    } else {
      written = await store.decideOnce({
        decisionKey,
        recordKey: permitKey,
        guardKey: permitKey,
        markerValue: r.allow ? 'allow' : r.reason,
        markerTtlSec,
        body: permitBody,
        ttlSec: this.o.permitTtlSec,
      });
    }
    if (!written) return { kind: 'already_decided' };
    const log = { plan: plan.planId, symbol: plan.symbol };
    await this.note({
      planId: plan.planId,
      symbol: plan.symbol,
      decision: r.allow ? 'ALLOW' : 'DENY',
      reason: r.allow ? '' : r.reason,
      safeCloseQty: r.allow ? r.safeCloseQty : '',
      atMs: Math.round(nowSec * 1000),
    });
    if (r.allow) {
      if (isCloseAction(plan.action)) {
        const after = add(parseDec(r.reservedQty) ?? ZERO, parseDec(r.safeCloseQty) ?? ZERO);
        this.o.metrics?.reservedQty.set({ symbol: plan.symbol }, toNumber(after));
      }
      this.o.metrics?.permitAllow.inc({ symbol: plan.symbol });
      this.o.logger.info(
        {
          ...log,
          safe_close_qty: r.safeCloseQty,
          exchange_amt: r.exchangeAmt,
          reserved_before: r.reservedQty,
        },
        'P3.3 ALLOW',
      );
      return { kind: 'allowed', safeCloseQty: r.safeCloseQty };
    }
    if (r.reason === 'qty_reserved_in_flight' && typeof r.context.reserved === 'number') {
      this.o.metrics?.reservedQty.set({ symbol: plan.symbol }, r.context.reserved);
    }
    this.o.metrics?.permitDeny.inc({ symbol: plan.symbol, reason: r.reason });
    this.o.logger.warn({ ...log, reason: r.reason, context: r.context }, 'P3.3 DENY');
    return { kind: 'denied', reason: r.reason };
  }
}
