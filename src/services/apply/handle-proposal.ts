/**
 * One look at one symbol's proposal: parse, plan id, "already handled?", kill switch, decide,
 * dedupe, publish the plan once, execute, publish exactly one result.
 *
 * "Handled" means the result is on the stream. It is remembered in memory (the sweep re-reads
 * unchanged proposals every APPLY_POLL_SEC) and durably by the result marker
 * (`keys.resultPublished`, TTL APPLY_DEDUPE_TTL_SEC, written atomically with the result by
 * publishOnce), so neither a re-read nor a restart produces a second plan entry or result.
 * The handled check precedes everything else, so a decided plan (even BLOCKED by the kill
 * switch) is final for its plan id; upstream issues a new proposal (new computed_at_utc) to retry.
 */
import { createHash } from 'node:crypto';
import { decide, markDuplicate, planIdOf, planStreamFields, type Plan } from '../../domain/plan.js';
import { parseProposal } from '../../domain/proposal.js';
import { parseArmState } from '../arm-state.js';
import { ArmStateCache } from './arm-cache.js';
import { BoundedSet } from '../bounded.js';
import { RecentSymbols } from '../recent-symbols.js';
import { PlanExecutor } from './execute.js';
import { noopMetrics, type ApplyMetricsSink } from './metrics.js';
import {
  PLAN_STREAM_MAXLEN,
  STREAM_PUBLISHED_TTL_SEC,
  type ApplyDeps,
  type ApplyOptions,
} from './options.js';
import { storeIntents, type IntentWriter } from './intents.js';
import { crashPoint } from './orders.js';
import { recoverFromIntent, recoverOrphans } from './recovery.js';
import { outcome, type ExecOutcome } from './outcome.js';
import { readProposal } from './read-proposal.js';
import { ResultPublisher } from './result-publisher.js';
import { watchPermits, type PermitWatch } from '../../store/permit-watch.js';

export class ProposalHandler {
  private readonly results: ResultPublisher;
  /** Plan ids whose dedupe key this process set: a retry after an outage resumes them. */
  private readonly owned = new BoundedSet(20_000);
  private readonly rejectionsLogged = new BoundedSet(10_000);
  private readonly executor: PlanExecutor;
  private readonly intents: IntentWriter;
  private readonly metrics: ApplyMetricsSink;
  private readonly allowlist: ReadonlySet<string>;
  /** The arm state, read with every proposal and before every order (started by the service). */
  readonly arm: ArmStateCache;
  /**
   * Symbols with an EXECUTE plan within the failover look-back, noted before the plan's first
   * write: the failover reconciliation asks the exchange about them even when Redis lost it all.
   */
  readonly activity: RecentSymbols;

  constructor(
    private readonly deps: ApplyDeps,
    private readonly opts: ApplyOptions,
  ) {
    this.metrics = deps.metrics ?? noopMetrics;
    this.intents = storeIntents(deps, opts.dedupeTtlSec, opts.intentWait);
    this.arm = new ArmStateCache(deps.store, deps.clock, opts.armCacheMaxAgeMs);
    this.executor = new PlanExecutor(deps, opts, this.intents, this.arm);
    this.allowlist = new Set(opts.allowlist);
    this.results = new ResultPublisher(deps, opts.dedupeTtlSec, this.metrics);
    this.activity = new RecentSymbols(deps.clock, opts.failoverLookbackMs ?? 0);
  }

  async handle(symbol: string, detectedAtMs: number): Promise<void> {
    const { store } = this.deps;
    // One round trip: the arm state is needed for every plan, so it comes with the proposal
    // (from memory while notifications prove it unchanged: ArmStateCache). A key of another
    // type reads as no proposal (rejected, read-proposal.ts) or as disarmed (ArmStateCache).
    const [fields, armHash] = await Promise.all([
      readProposal(this.deps, this.metrics, this.rejectionsLogged, symbol),
      this.arm.read(),
    ]);
    if (Object.keys(fields).length === 0) return;
    const parsed = parseProposal(symbol, fields);
    if (!parsed.ok) {
      this.rejectOnce(symbol, parsed.reason, fields, parsed.field);
      return;
    }
    const planId = planIdOf(parsed.proposal);
    if (this.results.handled.has(planId)) return;
    const arm = parseArmState(armHash);
    const killSwitch = this.opts.killSwitch || !arm.armed;
    const plan = decide(parsed.proposal, {
      killSwitch,
      allowlist: this.allowlist,
      kBlockCritical: this.opts.kBlockCritical,
      kBlockWarning: this.opts.kBlockWarning,
      nowSec: this.deps.clock.now() / 1000,
      maxProposalAgeSec: this.opts.maxProposalAgeSec,
    });
    // An EXECUTE plan's permit keys are watched before its entry can reach the authorities, so
    // the wait knows whether a permit was written and skips a consume that would find none.
    const watch =
      plan.decision === 'EXECUTE' && this.opts.notifications !== false
        ? await watchPermits(store, planId, this.opts.requiredAuthorities, symbol)
        : null;
    try {
      await this.publishAndRun(plan, symbol, planId, detectedAtMs, watch);
    } finally {
      if (watch) void watch.close().catch(() => {});
    }
  }

  private async publishAndRun(
    decided: Plan,
    symbol: string,
    planId: string,
    detectedAtMs: number,
    watch: PermitWatch | null,
  ): Promise<void> {
    const { store, clock, logger } = this.deps;
    const k = store.keys;
    let plan = decided;
    const publish = (p: Plan) => ({
      markerKey: k.streamPublished(planId),
      markerTtlSec: STREAM_PUBLISHED_TTL_SEC,
      stream: k.planStream(),
      fields: (this.opts.signPlanEntry ?? ((f) => f))(planStreamFields(p, clock.now() / 1000)),
      maxLen: PLAN_STREAM_MAXLEN,
    });
    if (plan.decision === 'EXECUTE') this.activity.note(symbol);
    // One step (publishPlan-4): the durable handled check (result marker), an EXECUTE plan's
    // dedupe key (SET NX), and the plan entry published once.
    const out = await store.publishPlan({
      resultMarkerKey: k.resultPublished(planId),
      dedupe:
        plan.decision === 'EXECUTE'
          ? {
              key: k.dedupe(planId, symbol),
              value: String(Math.floor(clock.now() / 1000)),
              ttlSec: this.opts.dedupeTtlSec,
            }
          : null,
      ...publish(plan),
    });
    if (out.kind === 'handled') {
      this.results.handled.add(planId);
      return;
    }
    let intent: Record<string, string> = {};
    let entryId: string | null;
    if (out.kind === 'duplicate') {
      // Decided EXECUTE before: our own plan to resume (an intent, or this process set the key),
      // else a duplicate; either way its entry is published once, as decided now.
      intent = await this.intents.read(planId, symbol);
      if (Object.keys(intent).length === 0 && !this.owned.has(planId)) {
        plan = markDuplicate(plan);
        this.metrics.dedupeHit();
      }
      const p = publish(plan);
      entryId = await store.publishOnce(p.markerKey, p.markerTtlSec, p.stream, p.fields, p.maxLen);
    } else {
      if (out.dedupeSet) this.owned.add(planId);
      entryId = out.kind === 'published' ? out.id : null;
    }
    const log = logger.child({ plan: planId, symbol });
    if (entryId !== null) {
      this.metrics.plan(symbol, plan.decision);
      // Debug: the result line (info) repeats the decision with the action and the reasons.
      log.debug(
        { decision: plan.decision, reasons: plan.reasonCodes, action: plan.action, entry: entryId },
        `apply: plan ${planId} ${symbol} ${plan.action} -> ${plan.decision}`,
      );
    }

    let result: ExecOutcome;
    if (plan.decision !== 'EXECUTE') {
      result = outcome(plan.decision, plan.reasonCodes.join(','));
    } else if (Object.keys(intent).length > 0) {
      result = await recoverFromIntent(this.deps, this.intents, plan, intent, log);
    } else {
      result = await this.executor.execute(plan, detectedAtMs, log, {
        watch,
        publishedAfterWatch: out.kind === 'published',
      });
    }
    if (result.abandoned) {
      // Another replica owns this plan now and publishes its one result.
      this.results.handled.add(planId);
      return;
    }
    crashPoint('before_result');
    await this.results.publish(plan, plan.decision, result, log);
  }

  /** Recovers plans of ours left without a result (recovery.ts, recoverOrphans). */
  recoverOrphans(limit: number, onlySymbol?: string): Promise<{ recovered: number; deferred: number }> {
    const scan = { deps: this.deps, intents: this.intents, results: this.results, owned: this.owned };
    return recoverOrphans(scan, limit, onlySymbol);
  }

  /** Logs a proposal that yields no plan once per (symbol, reason, content), counts every sighting once. */
  private rejectOnce(symbol: string, reason: string, fields: Record<string, string>, field?: string): void {
    const fp = createHash('sha256')
      .update(JSON.stringify(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
      .digest('hex')
      .slice(0, 16);
    const key = `${symbol}|${reason}|${fp}`;
    if (this.rejectionsLogged.has(key)) return;
    this.rejectionsLogged.add(key);
    this.metrics.inputRejected(reason);
    this.deps.logger.warn(
      { symbol, reason, field, fingerprint: fp },
      `apply: proposal for ${symbol} yields no plan: ${reason}`,
    );
  }
}
