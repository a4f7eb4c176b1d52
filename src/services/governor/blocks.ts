/**
 * The governor's blocks: a plan's block record written once and never over a permit
 * (Store.decideOnce), then reported: the block metric, a warn line, a BLOCKED entry on our
 * decisions stream, and auto-disarm for the reasons that count towards it.
 */
import type { GovernorBlockReason, GovernorLimits } from '../../domain/governor/gates.js';
import type { AuthorityPlan } from '../../domain/governor/plan-input.js';
import type { Clock } from '../../ops/clock.js';
import type { Logger } from '../../ops/logger.js';
import type { GovernorMetrics } from '../../ops/metrics.js';
import type { Store } from '../../store/port.js';
import { recordDecision, type DecisionRecord } from '../decision-log.js';
import type { AutoDisarm } from './auto-disarm.js';

/**
 * Block reasons that are failures of the evaluation itself, the errors GOV_DISARM_ON_ERROR_COUNT
 * counts. As in the fleet, a position read that fails is not one: the plan is blocked and the
 * next read may succeed (the fleet's position lookup swallows its errors).
 */
const ERROR_REASONS = new Set<GovernorBlockReason>(['limit_computation_error', 'evaluation_error']);

export type BlockOutcome = { kind: 'blocked'; reason: GovernorBlockReason } | { kind: 'already_decided' };

export interface GovernorBlocksOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics?: GovernorMetrics;
  disarm: AutoDisarm;
  blockTtlSec: number;
  limits: Pick<GovernorLimits, 'maxExecPer5Min'>;
}

/**
 * Records a decision on the decisions stream. The permit or block record is already written:
 * an entry lost to a Redis failure is logged, and the plan is not handled again for it.
 */
export async function noteDecision(store: Store, logger: Logger, d: DecisionRecord): Promise<void> {
  try {
    await recordDecision(store, d);
  } catch (err) {
    logger.warn(
      { plan: d.planId, symbol: d.symbol, decision: d.decision, err: (err as Error).message },
      'decision not recorded on the decisions stream',
    );
  }
}

export class GovernorBlocks {
  constructor(private readonly o: GovernorBlocksOptions) {}

  /** Writes the block record once (never over a permit), then reports it. */
  async block(
    plan: AuthorityPlan,
    reason: GovernorBlockReason,
    context: Record<string, unknown>,
  ): Promise<BlockOutcome> {
    const { store } = this.o;
    const written = await store.decideOnce({
      decisionKey: store.keys.authorityDecision('governor', plan.planId, plan.symbol),
      recordKey: store.keys.governorBlock(plan.planId, plan.symbol),
      guardKey: store.keys.governorPermit(plan.planId, plan.symbol),
      markerValue: reason,
      markerTtlSec: this.o.blockTtlSec,
      body: JSON.stringify({ reason, timestamp: this.o.clock.now() / 1000, symbol: plan.symbol }),
      ttlSec: this.o.blockTtlSec,
    });
    if (!written) return { kind: 'already_decided' };
    return this.blocked(plan, reason, context);
  }

  /** A block record exists (written here or by the grant script): metric, decision entry, auto-disarm. */
  async blocked(
    plan: AuthorityPlan,
    reason: GovernorBlockReason,
    context: Record<string, unknown>,
  ): Promise<BlockOutcome> {
    const { store, clock } = this.o;
    this.o.metrics?.block.inc({ symbol: plan.symbol, reason });
    this.o.logger.warn({ plan: plan.planId, symbol: plan.symbol, reason, ...context }, 'plan blocked');
    await noteDecision(store, this.o.logger, {
      planId: plan.planId,
      symbol: plan.symbol,
      decision: 'BLOCKED',
      reason,
      atMs: clock.now(),
    });
    const ctx = { plan_id: plan.planId, symbol: plan.symbol };
    if (reason === 'burst_limit_exceeded')
      // The fleet's context keys first (symbol, exec_5min, limit), then ours.
      await this.o.disarm.burstBreach({
        symbol: plan.symbol,
        exec_5min: context.exec_5min,
        limit: this.o.limits.maxExecPer5Min,
        plan_id: plan.planId,
      });
    else if (ERROR_REASONS.has(reason)) await this.o.disarm.evaluationError({ ...ctx, last_reason: reason });
    return { kind: 'blocked', reason };
  }
}
