/** The result-stream entry (PROTOCOL.md "Result stream entry") and the side that reduces a position. */
import type { Decision } from './plan.js';
import { pyJsonDumps } from './pyjson.js';

export interface StepResult {
  step: string;
  status: string;
  details: string;
  order_id?: string;
  side?: string;
  quantity?: string;
  executed_qty?: string;
  reduce_only?: boolean;
}

// Key order as the seed's dicts produce it; other services parse JSON, humans read it.
const STEP_KEYS = [
  'step',
  'status',
  'details',
  'order_id',
  'side',
  'quantity',
  'executed_qty',
  'reduce_only',
] as const;

function orderedStep(s: StepResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of STEP_KEYS) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

const pyBool = (b: boolean) => (b ? 'True' : 'False');

export function resultFields(args: {
  planId: string;
  symbol: string;
  decision: Decision;
  executed: boolean;
  wouldExecute: boolean;
  steps: StepResult[];
  error: string;
  nowSec: number;
}): Record<string, string> {
  return {
    plan_id: args.planId,
    symbol: args.symbol,
    decision: args.decision,
    executed: pyBool(args.executed),
    would_execute: pyBool(args.wouldExecute),
    steps_results: pyJsonDumps(args.steps.map(orderedStep)),
    error: args.error,
    timestamp: String(Math.floor(args.nowSec)),
  };
}

/** Long → SELL, short → BUY, flat or unknown → null (never guess a side). */
export function orderSideToReduce(positionAmount: number): 'BUY' | 'SELL' | null {
  if (!Number.isFinite(positionAmount) || positionAmount === 0) return null;
  return positionAmount > 0 ? 'SELL' : 'BUY';
}
