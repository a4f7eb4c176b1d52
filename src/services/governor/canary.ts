/**
 * The governor's judgement of a canary plan (PROTOCOL.md "Canary plans"): the same gates in the
 * same order as a real plan, against the same position read and the same stored execution list
 * and daily total, but read-only. A pass writes a permit (decision CANARY) and a block a block
 * record, each once per canary id (decideOnce); nothing is counted, no fleet metric moves, no
 * decisions-stream entry is written and no block can auto-disarm.
 */
import { type CanaryGates } from '../../domain/canary.js';
import {
  countingVerdict,
  dailyAmount,
  killScoreGate,
  utcDay,
  type GovernorBlockReason,
} from '../../domain/governor/gates.js';
import type { AuthorityPlan } from '../../domain/governor/plan-input.js';
import { signPermitBody } from '../../domain/permit-signing.js';
import type { GovernorLimits } from '../../domain/governor/gates.js';
import type { PermitKey } from '../../domain/permit-signing.js';
import type { Clock } from '../../ops/clock.js';
import type { Logger } from '../../ops/logger.js';
import type { GovernorMetrics } from '../../ops/metrics.js';
import type { Store } from '../../store/port.js';

export type CanaryOutcome =
  | { kind: 'canary_granted'; gates: CanaryGates }
  | { kind: 'canary_blocked'; reason: GovernorBlockReason; gates: CanaryGates }
  | { kind: 'already_decided' };

export interface CanaryDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics?: GovernorMetrics;
  limits: GovernorLimits;
  autoApprove: boolean;
  signingKey?: PermitKey | null;
  permitTtlSec: number;
  blockTtlSec: number;
  /** The position and mark as a real plan's evaluation reads them (the governor's cache). */
  position(symbol: string): Promise<{ amount: number; mark: number | null }>;
}

export async function evaluateCanary(d: CanaryDeps, plan: AuthorityPlan): Promise<CanaryOutcome> {
  const { store, clock, limits, logger } = d;
  const k = store.keys;
  const enforce = !d.autoApprove;
  const gates: CanaryGates = { gates: [] };
  const nowMs = clock.now();
  const nowSec = nowMs / 1000;
  let reason: GovernorBlockReason | null = null;
  if (enforce) {
    gates.gates.push('kill_score');
    const kill = killScoreGate(plan.action, plan.killScore, limits);
    if (!kill.pass) reason = kill.reason;
  }
  let pos: { amount: number; mark: number | null } | null = null;
  if (reason === null) {
    try {
      pos = await d.position(plan.symbol);
    } catch {
      reason = 'position_fetch_failed';
    }
  }
  let qty = 0;
  let notional = 0;
  if (reason === null && pos !== null) {
    const amount = dailyAmount(plan.action, pos.amount, pos.mark, limits);
    if (!amount.ok) reason = amount.reason;
    else {
      qty = amount.value.qty;
      notional = amount.value.notional ?? 0;
      const [history, daily] = await Promise.all([
        store.lrange(k.governorExec(plan.symbol), 0, -1),
        store.get(k.governorDaily(plan.symbol, utcDay(nowMs))),
      ]);
      const v = countingVerdict({
        execTimestamps: history,
        dailyTotal: daily,
        nowSec,
        enforce,
        limits,
        amount: amount.value.amount,
        cap: amount.value.cap,
      });
      // The counting gates in order, up to the one that blocked (a stored total that is not a
      // number blocks before the daily comparison, in every mode).
      const counted = ['hourly', 'burst', 'daily'];
      const upTo = { hourly_limit_exceeded: 1, burst_limit_exceeded: 2 } as Record<string, number>;
      if (enforce) gates.gates.push(...counted.slice(0, upTo[v.code] ?? 3));
      Object.assign(gates, {
        exec_hour: v.counts.hour,
        exec_5min: v.counts.fiveMin,
        daily_total: v.code === 'granted' || v.code === 'daily_limit_exceeded' ? Number(daily ?? 0) : null,
        amount: amount.value.amount,
        cap: amount.value.cap,
      });
      if (v.code !== 'granted') reason = v.reason;
    }
  }

  const decisionKey = k.authorityDecision('governor', plan.planId, plan.symbol);
  const permitKey = k.governorPermit(plan.planId, plan.symbol);
  let written: boolean;
  if (reason === null) {
    const body = {
      granted: true,
      symbol: plan.symbol,
      decision: 'CANARY',
      computed_qty: qty,
      computed_notional: notional,
      created_at: nowSec,
      consumed: false,
      canary: gates,
    };
    const key = d.signingKey;
    written = await store.decideOnce({
      decisionKey,
      recordKey: permitKey,
      guardKey: permitKey,
      markerValue: 'canary_granted',
      markerTtlSec: d.blockTtlSec,
      body: JSON.stringify(
        key ? signPermitBody('governor', plan.planId, body, nowSec + d.permitTtlSec, key) : body,
      ),
      ttlSec: d.permitTtlSec,
    });
  } else {
    written = await store.decideOnce({
      decisionKey,
      recordKey: k.governorBlock(plan.planId, plan.symbol),
      guardKey: permitKey,
      markerValue: reason,
      markerTtlSec: d.blockTtlSec,
      body: JSON.stringify({ reason, timestamp: nowSec, symbol: plan.symbol, canary: gates }),
      ttlSec: d.blockTtlSec,
    });
  }
  if (!written) return { kind: 'already_decided' };
  const outcome = reason === null ? 'granted' : reason;
  d.metrics?.canary.inc({ outcome });
  logger.info(
    { plan: plan.planId, symbol: plan.symbol, canary: true, outcome, ...gates },
    `canary ${outcome} (counted nowhere)`,
  );
  return reason === null ? { kind: 'canary_granted', gates } : { kind: 'canary_blocked', reason, gates };
}
