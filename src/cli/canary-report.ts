/**
 * How `quantum-apply canary` shows its reports: a line per canary and a summary for a person,
 * and Prometheus text for node_exporter's textfile collector (the timer's alert reads it).
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { CanaryReport } from '../services/apply/canary.js';

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v} ms`);

function governorText(r: CanaryReport): string {
  const g = r.governor;
  const gates = g.gates.length > 0 ? g.gates.join(',') : 'none';
  const why = g.reason === null ? '' : ` ${g.reason}`;
  return `governor=${g.verdict}${why} (${ms(r.authority_wait_ms.governor)}; gates ${gates})`;
}

function p33Text(r: CanaryReport): string {
  const p = r.p33;
  const detail = p.verdict === 'allow' ? `safe_close_qty=${p.safe_close_qty}` : (p.reason ?? 'no permit');
  return `p33=${p.verdict} (${ms(r.authority_wait_ms.p33)}; ${detail})`;
}

export function renderCanaryText(reports: readonly CanaryReport[], permitWaitMs: number): string {
  const lines: string[] = [];
  for (const r of reports) {
    const verdict = r.passed ? 'PASS' : `FAIL ${r.reason}`;
    const consumed = r.consumed ? 'consumed atomically' : 'nothing consumed';
    lines.push(
      `${r.plan_id} ${r.symbol} ${r.action}: ${verdict}; ${consumed}; wait_ms=${r.wait_ms}; ${governorText(r)}; ${p33Text(r)}`,
    );
    lines.push(`  ${r.permit_wait_line}`);
  }
  const passed = reports.filter((r) => r.passed).length;
  const worst = Math.max(0, ...reports.map((r) => r.wait_ms));
  lines.push(
    `summary: ${passed}/${reports.length} canaries passed the whole chain within APPLY_PERMIT_WAIT_MS=${permitWaitMs}; slowest wait_ms=${worst}; no order sent, nothing counted`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Gauges of the last run (names of our own, never a fleet metric's): whether every canary
 * passed, when the run ended, the slowest wait, and per authority whether it answered.
 */
export function renderCanaryMetrics(reports: readonly CanaryReport[], nowMs: number): string {
  const passed = reports.length > 0 && reports.every((r) => r.passed);
  const worst = Math.max(0, ...reports.map((r) => r.wait_ms));
  const answered = (a: 'governor' | 'p33') =>
    reports.length > 0 && reports.every((r) => r[a].verdict !== 'missing') ? 1 : 0;
  return [
    '# HELP quantum_canary_passed 1 when every canary of the last run passed the whole permit chain in time',
    '# TYPE quantum_canary_passed gauge',
    `quantum_canary_passed ${passed ? 1 : 0}`,
    '# HELP quantum_canary_last_run_timestamp_seconds When the last canary run ended (unix s)',
    '# TYPE quantum_canary_last_run_timestamp_seconds gauge',
    `quantum_canary_last_run_timestamp_seconds ${Math.floor(nowMs / 1000)}`,
    '# HELP quantum_canary_wait_seconds The slowest permit wait of the last run',
    '# TYPE quantum_canary_wait_seconds gauge',
    `quantum_canary_wait_seconds ${worst / 1000}`,
    '# HELP quantum_canary_authority_answered 1 when the authority answered every canary of the last run',
    '# TYPE quantum_canary_authority_answered gauge',
    `quantum_canary_authority_answered{authority="governor"} ${answered('governor')}`,
    `quantum_canary_authority_answered{authority="p33"} ${answered('p33')}`,
    '',
  ].join('\n');
}

/** Writes beside the target and renames, so a scraper never reads half a file. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
