/**
 * The governor: one permit decision per EXECUTE plan on the plan stream (group `governor`).
 * Gates in the contract's order: the kill score here, then the counting rule (countingVerdict in
 * src/domain/governor/gates.ts: hourly, 5-minute, daily) run by Store.grantPermit atomically with
 * the grant, so two governors never both pass a limit or grant one plan twice. A plan that the
 * position read or its amount would block is checked against the same rate gates first.
 * Every failure fails closed with a block record. Services never talk to Redis or HTTP directly.
 */
import {
  dailyAmount,
  execCounts,
  killScoreGate,
  rateGates,
  utcDay,
  type GovernorLimits,
} from '../../domain/governor/gates.js';
import {
  parseCheckedPlan,
  type AuthorityPlan,
  type PlanSignaturePolicy,
} from '../../domain/governor/plan-input.js';
import { signPermitBody, type PermitKey } from '../../domain/permit-signing.js';
import type { ExchangePort } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';
import type { Logger } from '../../ops/logger.js';
import type { GovernorMetrics } from '../../ops/metrics.js';
import { PLAN_GROUPS } from '../../store/keys.js';
import type { Store, StreamEntry } from '../../store/port.js';
import type { PlanConsumer } from '../plan-consumer.js';
import { planStreamConsumer, readPlanEntry } from '../plan-reader.js';
import { AutoDisarm } from './auto-disarm.js';
import { evaluateCanary, type CanaryOutcome } from './canary.js';
import { CANARY_DECISION } from '../../domain/canary.js';
import type { FleetApplyDisarm } from './fleet-disarm.js';
import { GovernorBlocks, noteDecision, type BlockOutcome } from './blocks.js';
import { PositionCache } from './position-cache.js';
import { RecentSymbols, TTL_RENEW_MS } from '../recent-symbols.js';

export interface GovernorOptions {
  store: Store;
  exchange: ExchangePort;
  clock: Clock;
  logger: Logger;
  metrics?: GovernorMetrics;
  limits: GovernorLimits;
  /** GOV_AUTO_APPROVE: the fleet's approve-all, for tests only. */
  autoApprove: boolean;
  consumer?: string;
  permitTtlSec?: number;
  blockTtlSec?: number;
  /** GOV_ENABLE_AUTO_DISARM (default true): false, the governor never disarms. */
  autoDisarm?: boolean;
  /** GOV_DISARM_ON_BURST_BREACH (default true). */
  disarmOnBurst?: boolean;
  /** GOV_DISARM_ON_ERROR_COUNT (default 5): evaluation errors since start that disarm (0: never). */
  disarmErrorThreshold?: number;
  /** GOV_DISARM_FLEET_APPLY: also disarm the fleet's apply layer its way (fleet-disarm.ts). */
  fleetApplyDisarm?: FleetApplyDisarm | null;
  batch?: number;
  blockMs?: number;
  claimIdleMs?: number;
  /** Plan entries handled at once (GOV_MAX_IN_FLIGHT; default 256). */
  maxInFlight?: number;
  /** Reuse a symbol's position read this long (ms, default 1000; 0: every plan reads). */
  positionMaxAgeMs?: number;
  /** PERMIT_SECRET_GOVERNOR: sign permits (SECURITY.md); absent: unsigned, as the fleet. */
  signingKey?: PermitKey | null;
  /**
   * PLAN_SECRET_APPLY (+ _PREVIOUS) and GOV_REQUIRE_SIGNED_PLANS (SECURITY.md "Signed plan
   * entries"); absent: entries are read unverified, as the fleet's.
   */
  planSignatures?: PlanSignaturePolicy | null;
}

export type GovernorOutcome =
  | { kind: 'granted'; qty: number; notional: number | null }
  | BlockOutcome
  | CanaryOutcome
  | { kind: 'skipped'; decision: string }
  | { kind: 'garbage'; reason: string };

const EXEC_KEEP = 100;
const HISTORY_TTL_SEC = 86_400;
/** How long after a rate-limit block a symbol's plans are checked against the history first. */
const RATE_LIMIT_MEMORY_MS = 300_000;
/**
 * A read refused for the account's request weight (the adapter's own pacing, or a 429's
 * Retry-After): the plan is blocked, and the log says the budget is back within a minute. No
 * failed position read counts towards auto-disarm (blocks.ts).
 */
const PACED = 'rate_limited';

export class GovernorService {
  readonly consumer: PlanConsumer;
  private readonly blocks: GovernorBlocks;
  private readonly permitTtl: number;
  private readonly blockTtl: number;
  private readonly positions: PositionCache;
  /** Symbols with a plan blocked for a rate limit within RATE_LIMIT_MEMORY_MS. */
  private readonly rateLimited: RecentSymbols;
  /** Symbols whose execution list's TTL this governor renewed within TTL_RENEW_MS. */
  private readonly historyTtlRenewed: RecentSymbols;

  constructor(private readonly o: GovernorOptions) {
    this.permitTtl = o.permitTtlSec ?? 60;
    this.blockTtl = o.blockTtlSec ?? 3600;
    this.rateLimited = new RecentSymbols(o.clock, RATE_LIMIT_MEMORY_MS);
    this.historyTtlRenewed = new RecentSymbols(o.clock, TTL_RENEW_MS);
    this.positions = new PositionCache(o.exchange, o.clock, o.positionMaxAgeMs ?? 1000, () =>
      o.metrics?.positionReads.inc(),
    );
    const disarm = new AutoDisarm({
      store: o.store,
      clock: o.clock,
      enabled: o.autoDisarm ?? true,
      onBurst: o.disarmOnBurst ?? true,
      errorThreshold: o.disarmErrorThreshold ?? 5,
      fleetApply: o.fleetApplyDisarm ?? null,
      onFleetFailure: (step) => o.metrics?.fleetDisarmFailures.inc({ step }),
      logger: o.logger,
      onDisarm: (reason) => o.metrics?.disarm.inc({ reason }),
    });
    this.blocks = new GovernorBlocks({ ...o, disarm, blockTtlSec: this.blockTtl });
    this.consumer = planStreamConsumer(
      o,
      PLAN_GROUPS.governor,
      'gov',
      async (e) => void (await this.evaluate(e.fields)),
      (e) => this.giveUp(e),
    );
  }

  start(): void {
    this.o.logger.info(
      { limits: this.o.limits, autoApprove: this.o.autoApprove },
      'governor consuming plans',
    );
    if (this.o.autoApprove)
      this.o.logger.warn({}, 'GOV_AUTO_APPROVE=true: every EXECUTE plan is granted (tests only)');
    if (this.o.autoDisarm === false)
      this.o.logger.warn({}, 'GOV_ENABLE_AUTO_DISARM=false: auto-disarm is off, no burst or error disarms');
    this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  /**
   * Decides one plan stream entry. Throws only when the store fails (the entry then stays
   * pending and is decided again after recovery); everything else becomes an outcome.
   */
  async evaluate(fields: Record<string, string>): Promise<GovernorOutcome> {
    const started = process.hrtime.bigint();
    const parsed = readPlanEntry(fields, this.o);
    if (!parsed.ok) return { kind: 'garbage', reason: parsed.reason };
    const plan = parsed.plan;
    if (plan.decision === CANARY_DECISION) return this.canary(plan);
    if (plan.decision !== 'EXECUTE') return { kind: 'skipped', decision: plan.decision };
    const out = await this.decide(plan);
    this.o.metrics?.evalSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  }

  private async decide(plan: AuthorityPlan): Promise<GovernorOutcome> {
    const { store, clock, limits } = this.o;
    const k = store.keys;
    // No read of the decision marker first: the grant and block scripts refuse a decided plan
    // atomically, and a redelivered entry is rare (saves a command on every plan). Nor of the
    // execution history: the grant script counts it and checks the hourly and 5-minute limits
    // before the daily one, the contract's order. Only a plan about to be blocked for a later
    // gate (position fetch, amount) reads it here first, so that a rate limit still comes first.
    const enforce = !this.o.autoApprove;
    if (enforce) {
      const kill = killScoreGate(plan.action, plan.killScore, limits);
      if (!kill.pass) return this.blocks.block(plan, kill.reason, { kill_score: plan.killScore });
      // A symbol blocked for a rate limit lately is checked before the exchange read, as every
      // plan was before: a burst of plans over a limit costs no positionRisk weight.
      if (this.rateLimited.has(plan.symbol)) {
        const rate = await this.rateBlock(plan, enforce);
        if (rate) return rate;
      }
    }

    let positionAmt: number;
    let mark: number | null;
    try {
      ({ amount: positionAmt, mark } = await this.positionAndMark(plan.symbol));
    } catch (err) {
      const rate = await this.rateBlock(plan, enforce);
      if (rate) return rate;
      const cause = (err as { reason?: string }).reason ?? 'exchange_error';
      this.o.logger.warn(
        { plan: plan.planId, symbol: plan.symbol, err: (err as Error).message },
        cause === PACED
          ? 'position fetch refused: the request weight is spent until the minute rolls over; plan blocked position_fetch_failed'
          : 'position fetch failed (waiting for the exchange): plan blocked position_fetch_failed',
      );
      return this.blocks.block(plan, 'position_fetch_failed', { error: cause });
    }
    const amount = dailyAmount(plan.action, positionAmt, mark, limits);
    if (!amount.ok)
      return (
        (await this.rateBlock(plan, enforce)) ??
        this.blocks.block(plan, amount.reason, { position_amt: String(positionAmt) })
      );
    const a = amount.value;

    const nowMs = clock.now();
    const nowSec = nowMs / 1000;
    const body = {
      granted: true,
      symbol: plan.symbol,
      decision: 'EXECUTE',
      computed_qty: a.qty,
      computed_notional: a.notional ?? 0,
      created_at: nowSec,
      consumed: false,
    };
    const key = this.o.signingKey;
    const permitBody = JSON.stringify(
      key ? signPermitBody('governor', plan.planId, body, nowSec + this.permitTtl, key) : body,
    );
    const renewHistoryTtl = !this.historyTtlRenewed.has(plan.symbol);
    const res = await store.grantPermit({
      decisionKey: k.authorityDecision('governor', plan.planId, plan.symbol),
      permitKey: k.governorPermit(plan.planId, plan.symbol),
      blockKey: k.governorBlock(plan.planId, plan.symbol),
      execKey: k.governorExec(plan.symbol),
      dailyKey: k.governorDaily(plan.symbol, utcDay(nowMs)),
      nowSec,
      enforce,
      maxPerHour: limits.maxExecPerHour,
      maxPer5Min: limits.maxExecPer5Min,
      amount: a.amount,
      cap: a.cap,
      permitBody,
      permitTtlSec: this.permitTtl,
      blockTtlSec: this.blockTtl,
      symbol: plan.symbol,
      execKeep: EXEC_KEEP,
      historyTtlSec: HISTORY_TTL_SEC,
      renewHistoryTtl,
    });
    const ctx = { qty: a.qty, notional: a.notional, basis: a.basis, daily_total: res.dailyTotal, cap: a.cap };
    switch (res.code) {
      case 'granted':
        if (renewHistoryTtl) this.historyTtlRenewed.note(plan.symbol);
        this.setGauges(plan.symbol, res.hourCount + 1, res.fiveMinCount + 1);
        this.o.metrics?.allow.inc({ symbol: plan.symbol });
        this.o.logger.info({ plan: plan.planId, symbol: plan.symbol, ...ctx }, 'permit granted');
        await noteDecision(store, this.o.logger, {
          planId: plan.planId,
          symbol: plan.symbol,
          decision: 'GRANTED',
          reason: '',
          atMs: nowMs,
        });
        return { kind: 'granted', qty: a.qty, notional: a.notional };
      case 'already_decided':
        return { kind: 'already_decided' };
      case 'daily_total_invalid':
        return this.blocks.blocked(plan, 'limit_computation_error', { ...ctx, stored: res.dailyTotal });
      default:
        this.setGauges(plan.symbol, res.hourCount, res.fiveMinCount);
        if (res.code === 'hourly_limit_exceeded' || res.code === 'burst_limit_exceeded')
          this.rateLimited.note(plan.symbol);
        return this.blocks.blocked(plan, res.code, {
          ...ctx,
          exec_hour: res.hourCount,
          exec_5min: res.fiveMinCount,
        });
    }
  }

  /** A canary: the same gates and reads, read-only, counted nowhere (canary.ts). */
  private canary(plan: AuthorityPlan): Promise<GovernorOutcome> {
    return evaluateCanary(
      {
        ...this.o,
        permitTtlSec: this.permitTtl,
        blockTtlSec: this.blockTtl,
        position: (symbol) => this.positionAndMark(symbol),
      },
      plan,
    );
  }

  /**
   * The hourly and 5-minute gates from the stored history, for a plan that a later gate would
   * block: the block for a rate limit when one is exceeded, else null. (A plan that passes the
   * later gates has them checked by the grant script, atomically with its counting.)
   */
  private async rateBlock(plan: AuthorityPlan, enforce: boolean): Promise<GovernorOutcome | null> {
    if (!enforce) return null;
    const { store, clock, limits } = this.o;
    const history = await store.lrange(store.keys.governorExec(plan.symbol), 0, -1);
    const counts = execCounts(history, clock.now() / 1000);
    this.setGauges(plan.symbol, counts.hour, counts.fiveMin);
    const rate = rateGates(counts, limits);
    if (rate.pass) return null;
    this.rateLimited.note(plan.symbol);
    return this.blocks.block(plan, rate.reason, { exec_hour: counts.hour, exec_5min: counts.fiveMin });
  }

  /** The position (the shared read) and its mark, from premiumIndex when the row has none. */
  private async positionAndMark(symbol: string): Promise<{ amount: number; mark: number | null }> {
    const pos = await this.positions.get(symbol);
    const mark =
      pos.markPrice > 0 && Number.isFinite(pos.markPrice) ? pos.markPrice : await this.premiumIndex(symbol);
    return { amount: pos.amount, mark };
  }

  private async premiumIndex(symbol: string): Promise<number | null> {
    try {
      const m = await this.o.exchange.markPrice(symbol);
      return Number.isFinite(m) && m > 0 ? m : null;
    } catch {
      return null; // without a price the quantity cap applies (contract)
    }
  }

  private setGauges(symbol: string, hour: number, fiveMin: number): void {
    this.o.metrics?.execCountHour.set({ symbol }, hour);
    this.o.metrics?.execCount5Min.set({ symbol }, fiveMin);
  }

  /** A plan whose evaluation keeps throwing is blocked (evaluation_error) before it is acked. */
  private async giveUp(entry: StreamEntry): Promise<void> {
    const parsed = parseCheckedPlan(entry.fields, this.o.planSignatures);
    if (parsed.ok && parsed.plan.decision === 'EXECUTE')
      await this.blocks.block(parsed.plan, 'evaluation_error', { entry: entry.id });
  }
}
