/**
 * P3.3, the Position State Brain: one allow/deny permit per EXECUTE plan of an allowlisted
 * symbol (group `p33`), from the exchange snapshot and the ledger read from Redis at every
 * evaluation (operators repair the ledger by hand). Snapshots refresh every pollSec; the
 * ledger follows executed results exactly once. A permit is written at most once per plan.
 */
import {
  parseAuthorityPlan,
  actionFractionText,
  type AuthorityPlan,
} from '../../domain/governor/plan-input.js';
import {
  evaluateChecks,
  parseLedger,
  parseSnapshot,
  type CheckResult,
  type P33Limits,
} from '../../domain/position/checks.js';
import { signPermitBody, type PermitKey } from '../../domain/permit-signing.js';
import type { ExchangePort } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';
import type { Logger } from '../../ops/logger.js';
import type { P33Metrics } from '../../ops/metrics.js';
import { PLAN_GROUPS } from '../../store/keys.js';
import type { Store, StreamEntry } from '../../store/port.js';
import type { PlanConsumer } from '../plan-consumer.js';
import { planStreamConsumer, readPlanEntry } from '../plan-reader.js';
import { LedgerFollower } from './ledger-follower.js';
import { SnapshotRefresher } from './snapshots.js';

export interface PositionBrainOptions {
  store: Store;
  exchange: ExchangePort;
  clock: Clock;
  logger: Logger;
  metrics?: P33Metrics;
  allowlist: readonly string[];
  limits: P33Limits;
  pollSec: number;
  permitTtlSec: number;
  /** Snapshot `source` field (e.g. binance_testnet, paper). */
  source?: string;
  consumer?: string;
  /** How often the result stream is read for the ledger (ms). */
  resultPollMs?: number;
  decisionTtlSec?: number;
  batch?: number;
  blockMs?: number;
  claimIdleMs?: number;
  /** Plan entries handled at once (P33_MAX_IN_FLIGHT; default 256). */
  maxInFlight?: number;
  /** PERMIT_SECRET_P33: sign allow and deny permits (SECURITY.md); absent: unsigned, as the fleet. */
  signingKey?: PermitKey | null;
}

export type P33Outcome =
  | { kind: 'allowed'; safeCloseQty: string }
  | { kind: 'denied'; reason: string }
  | { kind: 'already_decided' }
  | { kind: 'skipped'; why: 'not_execute' | 'not_in_allowlist' }
  | { kind: 'garbage'; reason: string };

const RULES_TTL_MS = 3_600_000;

export class PositionBrainService {
  readonly consumer: PlanConsumer;
  readonly snapshots: SnapshotRefresher;
  readonly ledger: LedgerFollower;
  private readonly steps = new Map<string, { step: string; at: number }>();
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private inFlight: Promise<unknown>[] = [];
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly o: PositionBrainOptions) {
    this.allowed = new Set(o.allowlist);
    const base = {
      store: o.store,
      exchange: o.exchange,
      clock: o.clock,
      metrics: o.metrics,
      logger: o.logger,
    };
    this.snapshots = new SnapshotRefresher({ ...base, symbols: o.allowlist, source: o.source ?? 'binance' });
    this.ledger = new LedgerFollower({ ...base, symbols: o.allowlist });
    this.consumer = planStreamConsumer(
      o,
      PLAN_GROUPS.p33,
      'p33',
      async (e) => void (await this.evaluate(e.fields)),
      (e) => this.giveUp(e),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.logger.info(
      { allowlist: this.o.allowlist, limits: this.o.limits, pollSec: this.o.pollSec },
      'p33 starting',
    );
    this.every(this.o.pollSec * 1000, () => this.snapshots.refresh(), 'snapshot refresh');
    this.every(this.o.resultPollMs ?? 200, () => this.ledger.poll(), 'ledger follow');
    this.consumer.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await Promise.allSettled(this.inFlight);
    await this.consumer.stop();
  }

  /**
   * Runs `fn` now and then every `ms` from the start of the previous run, never overlapping itself
   * (a run longer than `ms` is followed at once); after a failure, `ms` doubled per failure from
   * its end, at most 5 s.
   */
  private every(ms: number, fn: () => Promise<unknown>, what: string): void {
    let failures = 0;
    const tick = async () => {
      if (!this.running) return;
      const startedAt = Date.now();
      const p = fn().then(
        () => (failures = 0),
        (err: Error) => {
          failures++;
          if (failures === 1 || failures % 20 === 0) {
            this.o.logger.warn({ failures, err: err.message }, `waiting for redis/exchange: ${what} failing`);
          }
        },
      );
      this.inFlight.push(p);
      await p;
      this.inFlight = this.inFlight.filter((x) => x !== p);
      if (!this.running) return;
      const next = failures > 0 ? Math.min(ms * 2 ** failures, 5000) : ms - (Date.now() - startedAt);
      this.timers.push(setTimeout(tick, Math.max(0, next)));
    };
    void tick();
  }

  private async stepSize(symbol: string): Promise<string | null> {
    const now = this.o.clock.now();
    const cached = this.steps.get(symbol);
    if (cached && now - cached.at < RULES_TTL_MS) return cached.step;
    try {
      const rules = await this.o.exchange.symbolRules(symbol);
      this.steps.set(symbol, { step: rules.stepSize, at: now });
      return rules.stepSize;
    } catch (err) {
      this.o.logger.warn({ symbol, err: (err as Error).message }, 'exchangeInfo unavailable');
      return cached?.step ?? null;
    }
  }

  /** Decides one plan stream entry; throws only when the store fails (entry stays pending). */
  async evaluate(fields: Record<string, string>): Promise<P33Outcome> {
    const started = process.hrtime.bigint();
    const parsed = readPlanEntry(fields, this.o);
    if (!parsed.ok) return { kind: 'garbage', reason: parsed.reason };
    const plan = parsed.plan;
    if (plan.decision !== 'EXECUTE') return { kind: 'skipped', why: 'not_execute' };
    if (!this.allowed.has(plan.symbol)) return { kind: 'skipped', why: 'not_in_allowlist' };
    const { store, clock } = this.o;
    const k = store.keys;
    // One round trip for both reads. No read of the decision marker first: decideOnce refuses
    // a decided plan atomically, and a redelivered entry is rare (saves a command per plan).
    const [snap, led] = await Promise.all([
      store.hgetall(k.positionSnapshot(plan.symbol)),
      store.hgetall(k.positionLedger(plan.symbol)),
    ]);
    const step = await this.stepSize(plan.symbol);
    const nowSec = clock.now() / 1000;
    const snapshot = parseSnapshot(snap);
    if (snapshot.ok && snapshot.value) {
      this.o.metrics?.snapshotAge.set({ symbol: plan.symbol }, Math.max(0, nowSec - snapshot.value.tsEpoch));
    }
    const result = evaluateChecks(
      {
        snapshot,
        ledger: parseLedger(led),
        nowSec,
        fractionText: actionFractionText(plan.action),
        stepSize: step,
      },
      this.o.limits,
    );
    const out = await this.write(plan, result, nowSec);
    this.o.metrics?.evalSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  }

  private async write(plan: AuthorityPlan, r: CheckResult, nowSec: number): Promise<P33Outcome> {
    const { store } = this.o;
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
    const written = await store.decideOnce({
      decisionKey: store.keys.authorityDecision('p33', plan.planId, plan.symbol),
      recordKey: store.keys.p33Permit(plan.planId, plan.symbol),
      guardKey: store.keys.p33Permit(plan.planId, plan.symbol),
      markerValue: r.allow ? 'allow' : r.reason,
      markerTtlSec: this.o.decisionTtlSec ?? 3600,
      body: JSON.stringify(
        this.o.signingKey
          ? signPermitBody('p33', plan.planId, body, nowSec + this.o.permitTtlSec, this.o.signingKey)
          : body,
      ),
      ttlSec: this.o.permitTtlSec,
    });
    if (!written) return { kind: 'already_decided' };
    const log = { plan: plan.planId, symbol: plan.symbol };
    if (r.allow) {
      this.o.metrics?.permitAllow.inc({ symbol: plan.symbol });
      this.o.logger.info(
        { ...log, safe_close_qty: r.safeCloseQty, exchange_amt: r.exchangeAmt },
        'P3.3 ALLOW',
      );
      return { kind: 'allowed', safeCloseQty: r.safeCloseQty };
    }
    this.o.metrics?.permitDeny.inc({ symbol: plan.symbol, reason: r.reason });
    this.o.logger.warn({ ...log, reason: r.reason, context: r.context }, 'P3.3 DENY');
    return { kind: 'denied', reason: r.reason };
  }

  /** A plan whose evaluation keeps throwing gets a deny (evaluation_error) before it is acked. */
  private async giveUp(entry: StreamEntry): Promise<void> {
    const parsed = parseAuthorityPlan(entry.fields);
    if (!parsed.ok || parsed.plan.decision !== 'EXECUTE' || !this.allowed.has(parsed.plan.symbol)) return;
    await this.write(
      parsed.plan,
      { allow: false, reason: 'evaluation_error', context: { entry: entry.id } },
      this.o.clock.now() / 1000,
    );
  }
}
