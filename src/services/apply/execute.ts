/**
 * Execution of one EXECUTE plan: the symbol's rules; the permit chain (wait, consume all at once)
 * while the exchange is asked whether the plan step was ever sent; then the position as it
 * stands, permit validation and sizing against it (domain), stop-price checks, a last arm-state
 * check, and exactly one order per plan step: the intent hash is written BEFORE the request
 * leaves, so a crash or an ambiguous answer is recovered by querying the exchange, never by
 * sending again. A market close's intent rides right behind the consume (intents.ts startIntent),
 * so neither its round trip nor the position read's waits for the other.
 */
import type { Logger } from 'pino';
import { plainDecimal, quantityAtStep } from '../../domain/decimal.js';
import { governorBlockReason, permitWaitReason } from '../../domain/governor-block.js';
import type { Plan, Step } from '../../domain/plan.js';
import { verifyPermitSet } from '../../domain/permit-signing.js';
import { parseP33Permit, validatePermits } from '../../domain/permits.js';
import { orderSideToReduce, type StepResult } from '../../domain/result.js';
import { clientOrderIdFor, type Position, type SymbolRules } from '../../exchange/port.js';
import { waitAndConsumePermits, type PermitWaitResult } from '../../store/permit-chain.js';
import type { PermitWatch } from '../../store/permit-watch.js';
import { parseArmState } from '../arm-state.js';
import type { ArmStateCache } from './arm-cache.js';
import { noopMetrics } from './metrics.js';
import type { ApplyDeps, ApplyOptions } from './options.js';
import { cancelIntent, startIntent, type EarlyIntent, type IntentWriter } from './intents.js';
import { crashPoint, executeOrderStep } from './orders.js';
import { exchangeReason, labelSafe, noPosition, outcome, stepRequest, type ExecOutcome } from './outcome.js';
import { alreadyExecuted, lookUpPriorOrder, type PriorOrder } from './prior-order.js';

/** What an attempt that notifications say will consume starts as its consume is sent. */
interface Cued {
  attempt: number;
  read: Promise<Position>;
  intent: EarlyIntent | null;
}

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

    let rules: SymbolRules;
    try {
      rules = await exchange.symbolRules(plan.symbol);
    } catch (err) {
      return readFailed(err, log);
    }
    const clientId = clientOrderIdFor(plan.planId, step.step);
    // Exactly once rests on the exchange's record, not on Redis keys that expire or vanish: has
    // this plan step ever reached the exchange? Asked while the permits are awaited, so the
    // answer costs no time on the way to the order.
    const sentBefore = sends ? lookUpPriorOrder(this.deps, plan.symbol, step, clientId) : null;
    let prior: PriorOrder | null = null;
    void sentBefore?.then((p) => (prior = p));
    // The order's connection is opened now too, while the permits are awaited: connecting (with
    // TLS, several round trips to Binance) is then off the order's path.
    if (sends) exchange.prepareOrder?.();

    // The position read must follow the permits (see below). An attempt that notifications say
    // will consume starts it as its consume leaves (first: the read is the longer of the two):
    // started after every permit was written, it is as recent as a read after the consume, one
    // round trip sooner. Used only when that attempt is the one that consumed; otherwise dropped
    // and read again. The order intent of a market close goes right behind that consume, written
    // by Redis only if the consume took the permits (once the exchange has said it never saw
    // this order), and is taken over or cancelled below.
    let cued: Cued | null = null;
    const chain = await waitAndConsumePermits(store, plan.planId, this.opts.requiredAuthorities, {
      waitMs: this.opts.permitWaitMs,
      stepMs: this.opts.permitStepMs,
      clock,
      events: this.opts.notifications !== false,
      symbol: plan.symbol,
      watch: watched.watch,
      // The authorities write a plan's permits only after reading its entry: an entry first
      // published after the watch opened has none from before it.
      noPermitBeforeWatch: watched.publishedAfterWatch,
      onAttempt: (attempt, expected, consume) => {
        cued = null;
        if (!expected || !this.opts.hasCredentials) return;
        const read = exchange.position(plan.symbol);
        read.catch(() => undefined); // awaited below when used; a dropped read must not go unhandled
        const early =
          sends &&
          step.type === 'market_reduce_only' &&
          !this.opts.killSwitch &&
          (prior as PriorOrder | null)?.kind === 'absent';
        const entry: Cued = { attempt, read, intent: null };
        cued = entry;
        if (!early) return;
        return () => {
          entry.intent = startIntent(this.intents, clock, plan, step, clientId, consume);
        };
      },
    });
    metrics.permitWait(plan.symbol, chain.waitMs / 1000, chain.ok ? 'ok' : 'block');
    metrics.consume(chain.ok ? 'consumed' : chain.reason);
    // (Set in a callback, which the compiler's narrowing of `cued` to null does not see.)
    const cue = cued as Cued | null;
    let out: ExecOutcome | undefined;
    try {
      out = await this.afterWait({
        plan,
        step,
        clientId,
        rules,
        chain,
        cue: cue?.attempt === chain.attempts ? cue : null,
        sentBefore,
        detectedAtMs,
        log,
      });
      return out;
    } finally {
      // An intent the order path did not take over says it was not sent (nothing was written
      // for an attempt whose consume did not take the permits).
      if (cue?.intent) await cancelIntent(this.deps, this.intents, cue.intent, plan, out?.error ?? '', log);
    }
  }

  /** Everything after the permit wait: its outcome, the position as it stands, the order. */
  private async afterWait({
    plan,
    step,
    clientId,
    rules,
    chain,
    cue,
    sentBefore,
    detectedAtMs,
    log,
  }: {
    plan: Plan;
    step: Step;
    clientId: string;
    rules: SymbolRules;
    chain: PermitWaitResult;
    /** What the attempt that consumed started, if it was cued. */
    cue: Cued | null;
    sentBefore: Promise<PriorOrder> | null;
    detectedAtMs: number;
    log: Logger;
  }): Promise<ExecOutcome> {
    const { exchange, store, clock } = this.deps;
    const metrics = this.deps.metrics ?? noopMetrics;
    const sends = this.opts.mode !== 'dry_run';
    if (!chain.ok) {
      const govTtl = chain.ttlMs.governor ?? -2;
      const p33Ttl = chain.ttlMs.p33 ?? -2;
      // No governor permit: if the governor decided a block, name its reason (one read, on this
      // failure path only, so the hand-off of a plan that got its permits pays nothing for it).
      const named = chain.ttlMs.governor === -2 ? await governorBlockOf(store, plan, log) : null;
      log.warn(
        { wait_ms: chain.waitMs, reason: chain.reason, ttl_ms: chain.ttlMs, attempts: chain.attempts },
        `[PERMIT_WAIT] BLOCK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} reason=${chain.reason} gov_ttl=${govTtl} p33_ttl=${p33Ttl}${named === null ? '' : ` governor_reason=${named}`}`,
      );
      return outcome('BLOCKED', `permit_timeout_or_missing:${permitWaitReason(chain.reason, named)}`);
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

    const found = sentBefore ? await sentBefore : null;
    if (found?.kind === 'failed') {
      log.error(
        { reason: found.reason },
        'apply: could not ask the exchange whether this plan was sent before; not sending',
      );
      return outcome('ERROR', 'order_lookup_failed');
    }
    if (found?.kind === 'found') return alreadyExecuted(step.step, found, log);

    // The position as it stands now, read after the permits were written (alongside the consume
    // that took them, or after it): the order is sized against it, so a permit computed from an
    // older snapshot or ledger cannot make the close larger than its plan. dry_run without
    // credentials cannot sign a position request: P3.3's permit's own exchange_position_amt
    // stands in for it (permitAmountText()).
    let position: Position | null = null;
    if (this.opts.hasCredentials) {
      try {
        position = await (cue?.read ?? exchange.position(plan.symbol));
      } catch (err) {
        return readFailed(err, log);
      }
    }
    const governorBody = chain.bodies.governor ?? '';
    const p33Body = chain.bodies.p33 ?? '';
    const amountText = position ? position.amountText : permitAmountText(p33Body);
    const verdict = validatePermits({
      plan,
      governorBody,
      p33Body,
      position: amountText,
      stepSize: rules.stepSize,
    });
    if (!verdict.ok) {
      // A P3.3 denial carries its own reason (cooldown, mismatch, ...): put it on the grep line.
      const denied = verdict.detail.reason;
      const why = typeof denied === 'string' ? ` p33_reason=${labelSafe(denied)}` : '';
      log.warn(
        { wait_ms: chain.waitMs, error: verdict.error, detail: verdict.detail },
        `[PERMIT_WAIT] BLOCK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} reason=${verdict.error}${why}`,
      );
      // P3.3 found nothing to close and the position read after the consume agrees (or, in
      // dry_run without credentials, is unknown): the fleet's result for it, not a block.
      const flat = amountText === null || Number(amountText) === 0;
      if (verdict.error === 'p33_permit_denied' && denied === 'no_position' && flat) return noPosition();
      return outcome('BLOCKED', verdict.error);
    }
    const safeQty = quantityAtStep(verdict.safeCloseQty, rules.stepSize) ?? String(verdict.safeCloseQty);
    log.info(
      {
        wait_ms: chain.waitMs,
        safe_qty: safeQty,
        qty: verdict.quantity,
        plan_share: verdict.planShare,
        position: amountText,
        via: chain.via,
      },
      `[PERMIT_WAIT] OK plan=${plan.planId} symbol=${plan.symbol} wait_ms=${chain.waitMs} safe_qty=${safeQty}`,
    );
    const amount = amountText === null ? null : Number(amountText);
    if (amount === 0) {
      log.info({ wait_ms: chain.waitMs }, 'apply: permits valid but the position is flat');
      return noPosition();
    }

    const side = amount === null ? null : orderSideToReduce(amount);
    let markPrice = position?.markPrice ?? Number.NaN;
    if (step.type === 'stop_loss_order') {
      // A stop is placed on the side that closes the position, and judged against the mark.
      if (side === null) return outcome('BLOCKED', 'position_side_unknown');
      if (position === null) {
        try {
          markPrice = await exchange.markPrice(plan.symbol);
        } catch (err) {
          return readFailed(err, log);
        }
      }
    }
    const req = stepRequest({
      plan,
      step,
      clientId,
      side: side ?? 'SELL',
      quantity: verdict.quantity ?? safeQty,
      rules,
      markPrice,
    });
    if ('refused' in req) {
      log.warn({ reason: req.refused, detail: req.detail }, `apply: stop not placed: ${req.refused}`);
      return outcome('BLOCKED', req.refused);
    }
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
    return executeOrderStep({
      deps: this.deps,
      intents: this.intents,
      plan,
      step,
      req,
      detectedAtMs,
      log,
      early: cue?.intent ?? null,
      disarmed: async () => {
        // The arm state may flip during the permit wait (auto-disarm, operator): read it again,
        // in the same round trip as the intent write, right before the order (from memory only
        // while no change of the arm key has been notified since the copy was read).
        const arm = parseArmState(await this.arm.read());
        return this.opts.killSwitch || !arm.armed;
      },
    });
  }
}

/** The governor's recorded block reason for the plan; null without a readable record. */
async function governorBlockOf(store: ApplyDeps['store'], plan: Plan, log: Logger): Promise<string | null> {
  try {
    return governorBlockReason(
      await store.get(store.keys.governorBlock(plan.planId, plan.symbol)),
      plan.symbol,
    );
  } catch (err) {
    // The plan is blocked either way; the result only names no reason.
    log.warn({ err: (err as Error).message }, 'apply: governor block record not read');
    return null;
  }
}

function readFailed(err: unknown, log: Logger): ExecOutcome {
  const reason = exchangeReason(err);
  log.warn({ reason, err: (err as Error).message }, `apply: exchange read failed: ${reason}`);
  return outcome('ERROR', `exchange_read_failed:${reason}`);
}

/**
 * In dry_run without credentials: the amount P3.3 saw on the exchange (its permit's
 * exchange_position_amt), as decimal text; null when the permit does not say.
 */
function permitAmountText(p33Body: string): string | null {
  const p33 = parseP33Permit(p33Body);
  if (!p33.ok || !p33.permit.allow) return null;
  const amt = p33.permit.exchangePositionAmt;
  return amt !== null && Number.isFinite(amt) ? plainDecimal(amt) : null;
}
