/**
 * Publishes a plan's one result: the result entry and its marker in one step (publishOnce), the
 * plan remembered as handled, the result metric and the plan's one result log line.
 */
import type { Logger } from 'pino';
import type { Plan } from '../../domain/plan.js';
import { resultFields } from '../../domain/result.js';
import { BoundedSet } from '../bounded.js';
import type { ApplyMetricsSink } from './metrics.js';
import { PLAN_STREAM_MAXLEN, type ApplyDeps } from './options.js';
import type { ExecOutcome, PlanRef } from './outcome.js';
import { rememberUnresolved } from './reconciler.js';

export class ResultPublisher {
  /** Plan ids whose result is on the stream (ours or found there): handled, in memory. */
  readonly handled = new BoundedSet(20_000);

  constructor(
    private readonly deps: ApplyDeps,
    private readonly dedupeTtlSec: number,
    private readonly metrics: ApplyMetricsSink,
  ) {}

  /** `planned` is the plan's own decision; `r.decision` is how it ended (an EXECUTE plan may end BLOCKED). */
  async publish(plan: PlanRef | Plan, planned: Plan['decision'], r: ExecOutcome, log: Logger): Promise<void> {
    const { store, clock } = this.deps;
    // Before the result, so a crash in between leaves the order remembered, never forgotten.
    if (r.error === 'order_status_unknown')
      await rememberUnresolved(store, plan.planId, plan.symbol, clock.now());
    const fields = resultFields({
      planId: plan.planId,
      symbol: plan.symbol,
      decision: r.decision,
      executed: r.executed,
      wouldExecute: r.wouldExecute,
      steps: r.steps,
      error: r.error,
      nowSec: clock.now() / 1000,
    });
    const id = await store.publishOnce(
      store.keys.resultPublished(plan.planId),
      this.dedupeTtlSec,
      store.keys.resultStream(),
      fields,
      PLAN_STREAM_MAXLEN,
    );
    this.handled.add(plan.planId);
    if (id === null) {
      log.warn('apply: result already published for this plan; not published again');
      return;
    }
    this.metrics.result(plan.symbol, r.decision, planned);
    if (r.decision === 'BLOCKED' && r.error === 'kill_switch_active')
      this.metrics.killSwitchBlocked(plan.symbol, planned);
    const level = r.decision === 'ERROR' ? 'error' : 'info';
    // The one info line of a plan (besides [PERMIT_WAIT]): what was decided and what came of it.
    const order = r.steps[0]?.order_id;
    log[level](
      {
        decision: r.decision,
        executed: r.executed,
        would_execute: r.wouldExecute,
        error: r.error,
        entry: id,
        ...('action' in plan ? { action: plan.action, reasons: plan.reasonCodes } : {}),
        ...(order !== undefined ? { order_id: order, executed_qty: r.steps[0]?.executed_qty } : {}),
      },
      // A dry run's EXECUTE reads like an order at a glance: the line says none was sent.
      `apply: result ${plan.planId} ${plan.symbol} ${r.decision}${r.error ? ` (${r.error})` : ''}${
        r.wouldExecute ? ' [dry run: would execute, no order sent]' : ''
      }`,
    );
  }
}
