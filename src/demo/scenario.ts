/**
 * The demo's script: what the synthetic feeder writes, in order, and what each step should end
 * as. Pure data plus the proposal fields it implies; the runner (run.ts) performs it.
 */

export const DEMO_POSITIONS: Record<string, number> = {
  BTCUSDT: 0.12,
  ETHUSDT: -1.5,
  SOLUSDT: 40,
  BNBUSDT: -6,
  XRPUSDT: 2000,
  DOGEUSDT: 30000,
};

/** Every symbol but DOGEUSDT is allowlisted, so one plan shows the allowlist gate. */
export const DEMO_SYMBOLS = Object.keys(DEMO_POSITIONS);
export const DEMO_ALLOWLIST = DEMO_SYMBOLS.filter((s) => s !== 'DOGEUSDT');

/** The demo's third authority: a simulated trading desk, added by configuration only. */
export const DESK = 'desk';

export type Hook =
  | { kind: 'ledger_drift'; symbol: string; amount: string }
  | { kind: 'ledger_repair'; symbol: string }
  | { kind: 'disarm' }
  | { kind: 'arm' };

export interface DemoStep {
  symbol: string;
  action: string;
  killScore: string;
  newSl?: string;
  /** The desk's delay before it writes its permit; null: the desk never answers. */
  deskDelayMs: number | null;
  /** What the operator should see (decision, and the reason when not EXECUTE). */
  expect: string;
  /** Why this step is in the demo, one short phrase. */
  story: string;
  before?: Hook[];
  after?: Hook[];
  /** Rewrite the previous proposal of this symbol unchanged (shows that nothing happens twice). */
  repeatPrevious?: boolean;
  /** A proposal that cannot become a plan (its kill_score does not parse). */
  garbage?: boolean;
  /** Free-run steps: printed, not checked against an expectation. */
  unscripted?: boolean;
}

export const DEMO_STEPS: readonly DemoStep[] = [
  {
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    killScore: '0.31',
    deskDelayMs: 40,
    expect: 'EXECUTE',
    story: 'close half a long',
  },
  {
    symbol: 'ETHUSDT',
    action: 'PARTIAL_75',
    killScore: '0.44',
    deskDelayMs: 120,
    expect: 'EXECUTE',
    story: 'close 75% of a short',
  },
  {
    symbol: 'SOLUSDT',
    action: 'UPDATE_SL',
    killScore: '0.2',
    newSl: '140.5',
    deskDelayMs: 60,
    expect: 'EXECUTE',
    story: 'move the stop (algo order)',
  },
  {
    symbol: 'DOGEUSDT',
    action: 'FULL_CLOSE_PROPOSED',
    killScore: '0.5',
    deskDelayMs: 10,
    expect: 'SKIP not_in_allowlist',
    story: 'symbol not allowlisted',
  },
  {
    symbol: 'BNBUSDT',
    action: 'FULL_CLOSE_PROPOSED',
    killScore: '0.86',
    deskDelayMs: 10,
    expect: 'BLOCKED kill_score_critical',
    story: 'kill score too high',
  },
  {
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    killScore: '0.31',
    deskDelayMs: 10,
    expect: '(nothing new)',
    story: 'same proposal again',
    repeatPrevious: true,
  },
  {
    symbol: 'XRPUSDT',
    action: 'HOLD',
    killScore: '0.1',
    deskDelayMs: 10,
    expect: 'SKIP action_hold',
    story: 'nothing to do',
  },
  {
    symbol: 'SOLUSDT',
    action: 'PARTIAL_50',
    killScore: '0.66',
    deskDelayMs: 80,
    expect: 'EXECUTE',
    story: 'warning score, closing is allowed',
  },
  {
    symbol: 'ETHUSDT',
    action: 'UPDATE_SL',
    killScore: '0.71',
    newSl: '3150',
    deskDelayMs: 10,
    expect: 'BLOCKED kill_score_warning_risk_increase',
    story: 'warning score blocks a stop move',
  },
  {
    // Not BNBUSDT, whose full close comes a few seconds later: P3.3's grant for this close starts
    // the symbol's cooldown though the plan never executes.
    symbol: 'SOLUSDT',
    action: 'PARTIAL_50',
    killScore: '0.35',
    deskDelayMs: null,
    expect: 'BLOCKED permit_timeout_or_missing:missing_desk',
    story: 'the desk never answers',
  },
  {
    symbol: 'XRPUSDT',
    action: 'PARTIAL_75',
    killScore: '0.4',
    deskDelayMs: 30,
    expect: 'BLOCKED p33_permit_denied',
    story: 'ledger disagrees with the exchange',
    before: [{ kind: 'ledger_drift', symbol: 'XRPUSDT', amount: '1400' }],
    after: [{ kind: 'ledger_repair', symbol: 'XRPUSDT' }],
  },
  {
    symbol: 'BTCUSDT',
    action: 'PARTIAL_75',
    killScore: '0.3',
    deskDelayMs: 30,
    expect: 'BLOCKED p33_permit_denied',
    story: 'cooldown after the last close',
  },
  {
    symbol: 'ETHUSDT',
    action: 'PARTIAL_50',
    killScore: '0.2',
    deskDelayMs: 30,
    expect: 'BLOCKED kill_switch_active',
    story: 'operator disarmed',
    before: [{ kind: 'disarm' }],
    after: [{ kind: 'arm' }],
  },
  {
    symbol: 'BNBUSDT',
    action: 'FULL_CLOSE_PROPOSED',
    killScore: '0.25',
    deskDelayMs: 700,
    expect: 'EXECUTE',
    story: 'full close, desk answers late but in time',
  },
  {
    symbol: 'SOLUSDT',
    action: 'PARTIAL_50',
    killScore: 'n/a',
    deskDelayMs: null,
    expect: '(no plan)',
    story: 'kill_score does not parse',
    garbage: true,
  },
  {
    symbol: 'XRPUSDT',
    action: 'PARTIAL_50',
    killScore: '0.42',
    deskDelayMs: 50,
    expect: 'EXECUTE',
    story: 'ledger repaired, close half',
  },
];

/** The proposal hash the upstream exit brain would write (all strings, the fleet's fields). */
export function proposalFields(
  step: DemoStep,
  computedAtUtc: string,
  nowSec: number,
): Record<string, string> {
  const fields: Record<string, string> = {
    harvest_action: step.action,
    kill_score: step.killScore,
    k_regime_flip: '0.1',
    k_sigma_spike: '0.05',
    k_ts_drop: '0.0',
    k_age_penalty: '0.02',
    new_sl_proposed: step.newSl ?? '',
    R_net: '1.8',
    last_update_epoch: String(nowSec),
    computed_at_utc: computedAtUtc,
    reason_codes: 'demo,' + step.story.replace(/[^a-z]+/gi, '_').toLowerCase(),
  };
  return fields;
}
