/**
 * P3.3, the Position State Brain: one allow/deny permit per EXECUTE plan of an allowlisted
 * symbol (group `p33`), from the exchange snapshot and the ledger read from Redis at every
 * evaluation (operators repair the ledger by hand). Snapshots refresh every pollSec; the
 * ledger follows executed results exactly once. A permit is written at most once per plan.
 */
import { CANARY_DECISION } from '../../domain/canary.js';
import { parseDec, toNumber } from '../../domain/decimal.js';
import {
  parseCheckedPlan,
  actionFractionText,
  isCloseAction,
  type AuthorityPlan,
  type PlanSignaturePolicy,
} from '../../domain/governor/plan-input.js';
import {
  evaluateChecks,
  inheritedZeroLedger,
  parseLedger,
  parseSnapshot,
  type CheckResult,
  type P33Limits,
} from '../../domain/position/checks.js';
import { parseReservations, reservationHashTtlCapSec } from '../../domain/position/reservations.js';
import type { PermitKey } from '../../domain/permit-signing.js';
import type { ExchangePort } from '../../exchange/port.js';
import { backoffMs } from '../../ops/backoff.js';
import type { Clock } from '../../ops/clock.js';
import type { Logger } from '../../ops/logger.js';
import type { P33Metrics } from '../../ops/metrics.js';
import { PLAN_GROUPS } from '../../store/keys.js';
import type { Store, StreamEntry } from '../../store/port.js';
import type { PlanConsumer } from '../plan-consumer.js';
import { planStreamConsumer, readPlanEntry } from '../plan-reader.js';
import { DecisionWriter, type P33Outcome } from './decisions.js';
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
  /**
   * PLAN_SECRET_APPLY (+ _PREVIOUS) and P33_REQUIRE_SIGNED_PLANS (SECURITY.md "Signed plan
   * entries"); absent: entries are read unverified, as the fleet's.
   */
  planSignatures?: PlanSignaturePolicy | null;
}

export type { P33Outcome };

const RULES_TTL_MS = 3_600_000;
/**
 * Evaluations of one plan per entry delivery while other grants of its symbol keep winning the
 * compare-and-set; each conflict means another plan was granted, so few are ever needed.
 */
const GRANT_ATTEMPTS = 5;
/** How often the ledger-sync hint is repeated per symbol while it holds. */
const SYNC_HINT_MS = 600_000;

export class PositionBrainService {
  readonly consumer: PlanConsumer;
  readonly snapshots: SnapshotRefresher;
  readonly ledger: LedgerFollower;
  /** The ledger following what apply's reconciler found of orders a result left unknown. */
  readonly reconciledLedger: LedgerFollower;
  private readonly decisions: DecisionWriter;
  private readonly steps = new Map<string, { step: string; at: number }>();
  /** Symbols whose ledger wants `ledger sync`, with when we last said so (ms). */
  private readonly syncNeeded = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  /** Ends the snapshot writes on pushed position changes (user data stream). */
  private unfollow: (() => void) | null = null;
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
    const follow = {
      ...base,
      symbols: o.allowlist,
      reservationTtlSec: reservationHashTtlCapSec(
        o.permitTtlSec,
        o.limits.staleThresholdSec,
        o.limits.cooldownSec,
      ),
    };
    this.ledger = new LedgerFollower(follow);
    this.reconciledLedger = new LedgerFollower({ ...follow, source: 'reconciled' });
    this.decisions = new DecisionWriter(o);
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
    let ledgersChecked = false;
    this.every(
      this.o.pollSec * 1000,
      async () => {
        const ok = await this.snapshots.refresh();
        if (ok && !ledgersChecked) {
          await this.checkInheritedLedgers();
          ledgersChecked = true;
        }
        return ok;
      },
      'snapshot refresh',
    );
    this.every(
      this.o.resultPollMs ?? 200,
      () => Promise.all([this.ledger.poll(), this.reconciledLedger.poll()]),
      'ledger follow',
    );
    if (this.o.exchange.accountStream) this.unfollow = this.snapshots.follow(this.o.exchange.accountStream);
    this.consumer.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unfollow?.();
    this.unfollow = null;
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
      const startedAt = this.o.clock.now();
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
      const next =
        failures > 0
          ? backoffMs(failures, { minMs: ms, maxMs: 5000 })
          : ms - (this.o.clock.now() - startedAt);
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

  /**
   * Decides one plan stream entry; throws when the store fails, or when other grants of the
   * symbol keep winning the compare-and-set (the entry stays pending, and its retries end in
   * giveUp's deny).
   */
  async evaluate(fields: Record<string, string>): Promise<P33Outcome> {
    const started = process.hrtime.bigint();
    const parsed = readPlanEntry(fields, this.o);
    if (!parsed.ok) return { kind: 'garbage', reason: parsed.reason };
    const plan = parsed.plan;
    const canary = plan.decision === CANARY_DECISION;
    if (plan.decision !== 'EXECUTE' && !canary) return { kind: 'skipped', why: 'not_execute' };
    if (!this.allowed.has(plan.symbol)) return { kind: 'skipped', why: 'not_in_allowlist' };
    // A canary is judged from the same reads and checks, and written without a reservation.
    if (canary) return this.evaluateOnce(plan, true) as Promise<P33Outcome>;
    for (let attempt = 1; ; attempt++) {
      const out = await this.evaluateOnce(plan);
      if (out !== 'conflict') {
        this.o.metrics?.evalSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        return out;
      }
      if (attempt >= GRANT_ATTEMPTS) {
        throw new Error(`p33 ${plan.symbol}: other grants changed the reservations ${attempt} times`);
      }
    }
  }

  /** One evaluation from fresh reads; 'conflict' when another grant of the symbol came first. */
  private async evaluateOnce(plan: AuthorityPlan, canary = false): Promise<P33Outcome | 'conflict'> {
    const { store, clock } = this.o;
    const k = store.keys;
    // The reservations are read before the ledger: the ledger follower releases a reservation
    // only after it wrote that fill to the ledger, so a reservation found gone is a fill the
    // ledger read next already holds (read the other way round, a release between the two reads
    // would hide the fill from both). No read of the decision marker first: the writes refuse
    // a decided plan atomically, and a redelivered entry is rare (saves a command per plan).
    const [res, led, snap] = await store.hgetallInOrder([
      k.p33Reserved(plan.symbol),
      k.positionLedger(plan.symbol),
      k.positionSnapshot(plan.symbol),
    ]);
    const step = await this.stepSize(plan.symbol);
    const nowSec = clock.now() / 1000;
    const snapshot = this.pushedSnapshot(plan.symbol, parseSnapshot(snap!), nowSec);
    if (snapshot.ok && snapshot.value) {
      const age = Math.max(0, nowSec - snapshot.value.tsEpoch);
      this.o.metrics?.snapshotAge.set({ symbol: plan.symbol }, age);
      this.o.metrics?.decisionSnapshotAge.observe(age);
    }
    const result = evaluateChecks(
      {
        snapshot,
        ledger: parseLedger(led!),
        nowSec,
        fractionText: actionFractionText(plan.action),
        stepSize: step,
        reservations: parseReservations(res!),
        closeAction: isCloseAction(plan.action),
      },
      this.o.limits,
    );
    if (canary) return this.decisions.writeCanary(plan, result, nowSec);
    this.noteLedgerSync(plan.symbol, this.ledgerSyncOf(result));
    return this.decisions.write(plan, result, nowSec);
  }

  /**
   * The symbol's position as the user data stream holds it, when the stream is trusted and newer
   * than the stored snapshot: the same check then runs on an account state at most a ping old
   * instead of up to a poll old. The stored snapshot (the wire) is left as it is; an untrusted
   * stream changes nothing.
   */
  private pushedSnapshot(symbol: string, stored: ReturnType<typeof parseSnapshot>, nowSec: number) {
    const stream = this.o.exchange.accountStream;
    const asOf = stream?.asOf() ?? null;
    if (!stream || asOf === null || !stored.ok) return stored;
    const asOfSec = Math.min(nowSec, asOf / 1000);
    if (stored.value && stored.value.tsEpoch >= asOfSec) return stored;
    const p = stream.position(symbol);
    const amount = p ? parseDec(p.amountText) : null;
    if (!p || !amount) return stored;
    return {
      ok: true as const,
      value: {
        amount,
        tsEpoch: asOfSec,
        markPrice: stored.value?.markPrice || p.markPrice,
        source: stored.value?.source ?? this.o.source ?? 'binance',
      },
    };
  }

  /**
   * Once, after the first snapshots: every allowlisted ledger inherited at 0 under an open
   * position is named before a plan of its symbol is denied for it.
   */
  private async checkInheritedLedgers(): Promise<void> {
    const { store } = this.o;
    const symbols = this.o.allowlist;
    const hashes = await store.hgetallInOrder(
      symbols.flatMap((s) => [store.keys.positionLedger(s), store.keys.positionSnapshot(s)]),
    );
    symbols.forEach((symbol, i) => {
      const ledger = parseLedger(hashes[2 * i]!);
      const snap = parseSnapshot(hashes[2 * i + 1]!);
      if (!ledger.ok || !snap.ok || !snap.value) return;
      // 0 for the others, so a dashboard sees the gauge from the start, not only once it fires.
      if (ledger.value && inheritedZeroLedger(ledger.value, snap.value.amount))
        this.noteLedgerSync(symbol, { needed: true, exchangeAmt: toNumber(snap.value.amount) });
      else this.o.metrics?.ledgerSyncNeeded.set({ symbol }, 0);
    });
  }

  /** What a check result says about the symbol's ledger (noteLedgerSync). */
  private ledgerSyncOf(r: CheckResult): { needed: boolean; exchangeAmt?: unknown } {
    return !r.allow && r.context.ledger_sync_needed === true
      ? { needed: true, exchangeAmt: r.context.exchange_amt }
      : { needed: false };
  }

  /**
   * A ledger inherited at 0 under an open position denies every close until it is seeded from
   * the exchange: say what to run (once per symbol per SYNC_HINT_MS) and hold the gauge at 1.
   */
  private noteLedgerSync(symbol: string, sync: { needed: boolean; exchangeAmt?: unknown }): void {
    const { needed } = sync;
    const last = this.syncNeeded.get(symbol);
    if (!needed) {
      if (last !== undefined) {
        this.syncNeeded.delete(symbol);
        this.o.metrics?.ledgerSyncNeeded.set({ symbol }, 0);
      }
      return;
    }
    this.o.metrics?.ledgerSyncNeeded.set({ symbol }, 1);
    const now = this.o.clock.now();
    if (last !== undefined && now - last < SYNC_HINT_MS) return;
    this.syncNeeded.set(symbol, now);
    this.o.logger.warn(
      { symbol, exchange_amt: sync.exchangeAmt, ledger_amt: 0 },
      `P3.3: ledger ${symbol} holds 0 while the exchange holds ${String(sync.exchangeAmt)}, and no write of ours is in it (inherited from another P3.3): every close is denied until it is seeded; run \`quantum-apply ledger sync --symbol ${symbol} --from-exchange --yes\``,
    );
  }

  /** A plan whose evaluation keeps throwing gets a deny (evaluation_error) before it is acked. */
  private async giveUp(entry: StreamEntry): Promise<void> {
    const parsed = parseCheckedPlan(entry.fields, this.o.planSignatures);
    if (!parsed.ok || parsed.plan.decision !== 'EXECUTE' || !this.allowed.has(parsed.plan.symbol)) return;
    // A deny never conflicts (decideOnce).
    await this.decisions.write(
      parsed.plan,
      { allow: false, reason: 'evaluation_error', context: { entry: entry.id } },
      this.o.clock.now() / 1000,
    );
  }
}
