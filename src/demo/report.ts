/**
 * What the demo prints: one line per fed proposal, per [PERMIT_WAIT] decision and per result,
 * then a closing summary. Pure formatting over plain records.
 */

export interface ResultRecord {
  atMs: number;
  planId: string;
  symbol: string;
  decision: string;
  executed: boolean;
  error: string;
  /** Short human description of the step outcome (order side/qty, stop price...). */
  detail: string;
  /** Last permit written → order accepted by the exchange, when both are known. */
  handoffMs: number | null;
  /** The step's expectation, when the plan came from the script. */
  expect: string | null;
}

export interface SafetyCounts {
  ordersAtExchange: number;
  ordersWithoutPermitSet: number;
  duplicateOrders: number;
}

export function clockText(startMs: number, atMs: number): string {
  return `+${((atMs - startMs) / 1000).toFixed(1).padStart(5)}s`;
}

export function feedLine(
  rel: string,
  symbol: string,
  action: string,
  killScore: string,
  story: string,
): string {
  return `${rel}  feed     ${symbol.padEnd(9)} ${action.padEnd(20)} kill=${killScore.padEnd(5)} ${story}`;
}

export function resultLine(rel: string, r: ResultRecord): string {
  const outcome = r.error ? `${r.decision} ${r.error}` : r.decision;
  const handoff = r.handoffMs === null ? '' : `  hand-off ${r.handoffMs.toFixed(1)} ms`;
  return `${rel}  result   ${r.symbol.padEnd(9)} ${outcome.padEnd(48)} ${r.detail}${handoff}`;
}

/** Matches "BLOCKED p33_permit_denied" against decision + error (prefix match on the error). */
export function meetsExpectation(expect: string, r: ResultRecord): boolean {
  const [decision, reason] = expect.split(' ', 2);
  if (decision !== r.decision) return false;
  return reason === undefined || r.error.startsWith(reason) || r.error === '';
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function countBy<T>(items: T[], key: (t: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export interface SummaryInput {
  results: ResultRecord[];
  plansByDecision: [string, number][];
  fills: number;
  stops: number;
  noPlan: number;
  safety: SafetyCounts;
  unmet: ResultRecord[];
  elapsedMs: number;
}

export function summary(s: SummaryInput): string {
  const lines: string[] = [];
  const handoffs = s.results
    .map((r) => r.handoffMs)
    .filter((h): h is number => h !== null)
    .sort((a, b) => a - b);
  const blocks = countBy(
    s.results.filter((r) => r.decision !== 'EXECUTE'),
    (r) => `${r.decision.padEnd(8)} ${r.error || '-'}`,
  );
  lines.push('', `Summary after ${(s.elapsedMs / 1000).toFixed(1)} s`, '');
  lines.push('  plans by decision (plan stream)');
  for (const [d, n] of s.plansByDecision) lines.push(`    ${d.padEnd(10)} ${String(n).padStart(4)}`);
  lines.push(
    `    ${'no plan'.padEnd(10)} ${String(s.noPlan).padStart(4)}   (malformed proposals, logged once)`,
  );
  lines.push('', '  results not executed, by reason (result stream)');
  for (const [k, n] of blocks) lines.push(`    ${k.padEnd(62)} ${String(n).padStart(4)}`);
  lines.push('', '  exchange (paper)');
  lines.push(`    reduce-only market orders filled  ${String(s.fills).padStart(4)}`);
  lines.push(`    stop-loss algo orders placed      ${String(s.stops).padStart(4)}`);
  lines.push('', '  hand-off: last permit written → order accepted by the exchange');
  lines.push(
    handoffs.length === 0
      ? '    (no orders)'
      : `    n=${handoffs.length}  p50 ${percentile(handoffs, 50).toFixed(1)} ms  p99 ${percentile(handoffs, 99).toFixed(1)} ms  max ${handoffs[handoffs.length - 1]!.toFixed(1)} ms`,
  );
  lines.push('', '  safety');
  lines.push(`    orders without a full permit set   ${s.safety.ordersWithoutPermitSet}`);
  lines.push(`    duplicate orders for one plan step ${s.safety.duplicateOrders}`);
  if (s.unmet.length > 0) {
    lines.push('', '  steps that ended differently than scripted (timing on a busy machine can do this):');
    for (const r of s.unmet) lines.push(`    ${r.symbol} expected ${r.expect}, got ${r.decision} ${r.error}`);
  }
  lines.push('');
  return lines.join('\n');
}
