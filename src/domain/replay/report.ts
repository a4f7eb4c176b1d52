/**
 * What a what-if changes: two replays of the same plans (the current settings and the changed
 * ones) compared plan by plan. A flip is a plan whose decision differs; a plan that stays
 * blocked for another reason is counted apart. Fidelity says how many recorded decisions the
 * replay under the current settings reproduces: the what-if is as good as that figure.
 */
import { recordedOutcome, type Outcome, type ReplayedPlan } from './engine.js';

export interface Flip {
  planId: string;
  symbol: string;
  atMs: number;
  from: Outcome;
  to: Outcome;
  /** How the plan really ended (what came after the governor is as recorded). */
  recordedEnd: string | null;
}

export interface Tally {
  key: string;
  count: number;
}

export interface SymbolTally {
  symbol: string;
  /** Plans that would now execute / would now not. */
  nowExecute: number;
  nowStopped: number;
}

export interface ReplayReport {
  /** Plans compared (those at or after the window's start; earlier ones only warm the state). */
  plans: number;
  flips: Flip[];
  /** By transition, e.g. `EXECUTE -> BLOCKED governor:hourly_limit_exceeded`; most first. */
  byReason: Tally[];
  bySymbol: SymbolTally[];
  totals: { flips: number; nowExecute: number; nowStopped: number; reasonChanged: number };
  /** Base replay against the recording: plans with a recorded outcome, and how many match. */
  fidelity: { compared: number; matching: number };
  /** EXECUTE plans in the what-if whose amount was unknown (daily cap not checked). */
  dailyUnchecked: number;
}

/** `EXECUTE`, `SKIP apply:not_in_allowlist`, `BLOCKED governor:daily_limit_exceeded`. */
export function outcomeLabel(o: Outcome): string {
  return o.by === null ? o.decision : `${o.decision} ${o.by}:${o.reason}`;
}

const sameOutcome = (a: Outcome, b: Outcome) =>
  a.decision === b.decision && a.by === b.by && a.reason === b.reason;

function tallies(keys: string[]): Tally[] {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
}

/**
 * Compares `base` and `whatIf` (replays of the same plans, in the same order) for the plans at
 * or after `fromMs`.
 */
export function compareReplays(
  base: readonly ReplayedPlan[],
  whatIf: readonly ReplayedPlan[],
  fromMs: number,
): ReplayReport {
  const flips: Flip[] = [];
  let plans = 0;
  let reasonChanged = 0;
  let compared = 0;
  let matching = 0;
  let dailyUnchecked = 0;
  base.forEach((b, i) => {
    const w = whatIf[i]!;
    if (b.plan.atMs < fromMs) return;
    plans++;
    const recorded = recordedOutcome(b.plan);
    if (recorded !== null) {
      compared++;
      if (sameOutcome(recorded, b.outcome)) matching++;
    }
    if (w.outcome.dailyUnchecked) dailyUnchecked++;
    if (b.outcome.decision !== w.outcome.decision) {
      const p = b.plan;
      const recordedEnd = p.recordedEnd ?? null;
      flips.push({
        planId: p.planId,
        symbol: p.symbol,
        atMs: p.atMs,
        from: b.outcome,
        to: w.outcome,
        recordedEnd,
      });
    } else if (!sameOutcome(b.outcome, w.outcome)) reasonChanged++;
  });
  const symbols = new Map<string, SymbolTally>();
  for (const f of flips) {
    const t = symbols.get(f.symbol) ?? { symbol: f.symbol, nowExecute: 0, nowStopped: 0 };
    if (f.to.decision === 'EXECUTE') t.nowExecute++;
    else if (f.from.decision === 'EXECUTE') t.nowStopped++;
    symbols.set(f.symbol, t);
  }
  const nowExecute = flips.filter((f) => f.to.decision === 'EXECUTE').length;
  const nowStopped = flips.filter((f) => f.from.decision === 'EXECUTE').length;
  return {
    plans,
    flips,
    byReason: tallies(flips.map((f) => `${outcomeLabel(f.from)} -> ${outcomeLabel(f.to)}`)),
    bySymbol: [...symbols.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
    totals: { flips: flips.length, nowExecute, nowStopped, reasonChanged },
    fidelity: { compared, matching },
    dailyUnchecked,
  };
}
