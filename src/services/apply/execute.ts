/**
 * Execution of one EXECUTE plan: position and rules from the exchange, the permit chain (wait,
 * consume all at once), permit validation (domain), a last arm-state check, then exactly one
 * order per plan step: the intent hash is written BEFORE the request leaves, so a crash or an
 * ambiguous answer is recovered by querying the exchange, never by sending again.
 */
import type { Logger } from 'pino';
import { floorToStep } from '../../domain/decimal.js';
import type { Plan, Step } from '../../domain/plan.js';
import { verifyPermitSet } from '../../domain/permit-signing.js';
import { parseP33Permit, validatePermits } from '../../domain/permits.js';
import { orderSideToReduce, type StepResult } from '../../domain/result.js';
import { ExchangeError, clientOrderIdFor, type Position, type SymbolRules } from '../../exchange/port.js';
import { waitAndConsumePermits } from '../../store/permit-chain.js';
import type { PermitWatch } from '../../store/permit-watch.js';
import { parseArmState } from '../arm-state.js';
import type { ArmStateCache } from './arm-cache.js';
import { crashPoint } from './crash-point.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps, ApplyOptions } from './options.js';
import type { IntentWriter } from './intents.js';
import { executeOrderStep, type ExecOutcome } from './orders.js';

export type { ExecOutcome } from './orders.js';

function exchangeReason(err: unknown): string {
  if (err instanceof ExchangeError) return err.reason.replace(/[^a-z0-9_]/gi, '_').slice(0, 64);
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

export class PlanExecutor {
  constructor(
    private readonly deps: ApplyDeps,
    private readonly opts: ApplyOptions,
    private readonly intents: IntentWriter,
    private readonly arm: ArmStateCache,
  ) {}

  async execute(
    plan: Plan,
    detectedAtMs: number,
    log: Logger,
    watched: { watch: PermitWatch | null; publishedAfterWatch: boolean } = {
      watch: null,
      publishedAfterWatch: false,
    },
  ): Promise<ExecOutcome> {
    const { exchange, store, clock } = this.deps;
    const metrics = this.deps.metrics ?? noopMetrics;
    const step = plan.steps[0];
    if (!step) return outcome('ERROR', 'plan_without_steps');
    const sends = this.opts.mode !== 'dry_run';
    // Checked before the permit wait: permits are single-use, do not burn them when we cannot act.
    if (sends && !this.opts.hasCredentials) return outcome('ERROR', 'missing_binance_credentials');

    // dry_run without credentials cannot sign a position request: the position stays unknown and
    // the P3.3 permit's own exchange_position_amt stands in for it (see positionFor()).
    const readPosition = this.opts.hasCredentials;
    let position: Position | null = null;
    let rules: SymbolRules;
    try {
      [position, rules] = await Promise.all([
        readPosition ? exchange.position(plan.symbol) : Promise.resolve(null),
        exchange.symbolRules(plan.symbol),
      ]);
    } catch (err) {
      const reason = exchangeReason(err);
      log.warn({ reason, err: (err as Error).message }, `apply: exchange read failed: ${reason}`);
      return outcome('ERROR', `exchange_read_failed:${reason}`);
    }

    const chain = await waitAndConsumePermits(store, plan.planId, this.opts.requiredAuthorities, {
      waitMs: this.opts.permitWaitMs,
      stepMs: this.opts.permitStepMs,
      clock,
      events: this.opts.notifications !== false,
      symbol: plan.symbol,
      ...watched,
    });
    metrics.permitWait(plan.symbol, chain.waitMs / 1000, chain.ok ? 'ok' : 'block');
    metrics.consume(chain.ok ? 'consumed' : chain.reason);
    if (!chain.ok) {
      const govTtl = chain.ttlMs.governor ?? -2;
      const p33Ttl = chain.ttlMs.p33 ?? -2;
      log.warn(
        { wait_ms: chain.waitMs, reason: chain.reason, ttl_ms: chain.ttlMs, attempts: chain.attempts },
        `[PERMIT_WAIT] BLOCK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} reason=${chain.reason} gov_ttl=${govTtl} p33_ttl=${p33Ttl}`,
      );
      return outcome('BLOCKED', `permit_timeout_or_missing:${chain.reason}`);
    }
    crashPoint('after_consume');

    const signed = this.opts.signedPermits;
    if (signed) {
      // After the consume: a refused permit is used up, like any invalid one.
      const sig = verifyPermitSet({
        ...signed,
        planId: plan.planId,
        nowSec: clock.now() / 1000,
        bodies: chain.bodies,
      });
      if (!sig.ok) {
        metrics.permitRejected?.(sig.reason);
        log.warn(
          { wait_ms: chain.waitMs, error: sig.reason, detail: sig.detail },
          `[PERMIT_WAIT] BLOCK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} reason=${sig.reason} authority=${sig.authority}`,
        );
        return outcome('BLOCKED', sig.reason);
      }
    }

    const governorBody = chain.bodies.governor ?? '';
    const p33Body = chain.bodies.p33 ?? '';
    const amount = positionFor(position, p33Body);
    // A flat or unknown position puts no bound on the quantity here, so the permits are still
    // judged on everything else first (a bad permit is BLOCKED, not SKIP).
    const verdict = validatePermits({
      plan,
      governorBody,
      p33Body,
      positionAmount: amount === null || amount === 0 ? Number.MAX_VALUE : amount,
      stepSize: rules.stepSize,
    });
    if (!verdict.ok) {
      // A P3.3 denial carries its own reason (cooldown, mismatch, ...): put it on the grep line.
      const denied = verdict.detail.reason;
      const why =
        typeof denied === 'string' ? ` p33_reason=${denied.replace(/[^a-z0-9_]/gi, '_').slice(0, 64)}` : '';
      log.warn(
        { wait_ms: chain.waitMs, error: verdict.error, detail: verdict.detail },
        `[PERMIT_WAIT] BLOCK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} reason=${verdict.error}${why}`,
      );
      return outcome('BLOCKED', verdict.error);
    }
    log.info(
      { wait_ms: chain.waitMs, safe_qty: verdict.quantity, via: chain.via },
      `[PERMIT_WAIT] OK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} safe_qty=${verdict.quantity}`,
    );
    if (amount === 0) {
      log.info({ wait_ms: chain.waitMs }, 'apply: permits valid but the position is flat');
      return outcome('SKIP', 'no_position');
    }

    const side = amount === null ? null : orderSideToReduce(amount);
    const req = stepRequest(plan, step, side ?? 'SELL', verdict.quantity, rules);
    if (typeof req === 'string') return outcome('ERROR', req);
    if (!sends) {
      const arm = parseArmState(await this.arm.read());
      if (this.opts.killSwitch || !arm.armed) return outcome('BLOCKED', 'kill_switch_active');
      const detail: StepResult = {
        step: step.step,
        status: 'dry_run',
        details: side ? `would send ${req.describe}` : 'would send a reduce-only order; position unknown',
        quantity: req.quantity,
        reduce_only: true,
      };
      if (side) detail.side = side;
      return outcome('EXECUTE', '', [detail], { wouldExecute: true });
    }
    if (side === null) return outcome('BLOCKED', 'position_side_unknown');
    return executeOrderStep(this.deps, this.intents, plan, step, req, detectedAtMs, log, async () => {
      // The arm state may flip during the permit wait (auto-disarm, operator): read it again,
      // in the same round trip as the intent write, right before the order (from memory only
      // while no change of the arm key has been notified since the copy was read).
      const arm = parseArmState(await this.arm.read());
      return this.opts.killSwitch || !arm.armed;
    });
  }
}

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
 * The order a step sends. A stop price goes DOWN to the tick grid for both sides: one exact rule
 * (the same integer floor as quantities), the change is under one tick, and for a long's stop
 * (below the market) it never moves the trigger toward the market, so rounding alone cannot
 * turn a valid stop into one that triggers immediately (-2021).
 */
export function stepRequest(
  plan: Plan,
  step: Step,
  side: 'BUY' | 'SELL',
  quantity: string,
  rules: SymbolRules,
): StepRequest | string {
  const clientId = clientOrderIdFor(plan.planId, step.step);
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
  const price = floorToStep(step.price, rules.tickSize);
  if (price === null || !/[1-9]/.test(price)) return 'invalid_stop_price';
  return {
    kind: 'stop',
    side,
    quantity,
    triggerPrice: price,
    clientId,
    describe: `reduce-only STOP_MARKET ${side} trigger ${price} ${plan.symbol}`,
  };
}

/**
 * The position amount validation and the order side use: the exchange's when it was read; in
 * dry_run without credentials, the amount P3.3 saw on the exchange (its permit's
 * exchange_position_amt); null when neither is known (validation then refuses).
 */
function positionFor(position: Position | null, p33Body: string): number | null {
  if (position) return position.amount;
  const p33 = parseP33Permit(p33Body);
  if (!p33.ok || !p33.permit.allow) return null;
  const amt = p33.permit.exchangePositionAmt;
  return amt !== null && Number.isFinite(amt) ? amt : null;
}
