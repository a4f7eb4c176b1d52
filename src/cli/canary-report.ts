/**
 * How `quantum-apply canary` shows its reports: a line per canary and a summary for a person,
 * and Prometheus text for node_exporter's textfile collector (the timer's alert reads it).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { createCanaryMetrics, createRegistry } from '../ops/metrics.js';
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
    const h = r.handled_by;
    lines.push(
      `  handled by apply ${h.instance} (host ${h.host}, pid ${h.pid})${r.request_id ? `, request ${r.request_id}` : ''}`,
    );
  }
  const passed = reports.filter((r) => r.passed).length;
  const worst = Math.max(0, ...reports.map((r) => r.wait_ms));
  lines.push(
    `summary: ${passed}/${reports.length} canaries passed the whole chain within APPLY_PERMIT_WAIT_MS=${permitWaitMs}; slowest wait_ms=${worst}; no order sent, nothing counted`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The last run's gauges as Prometheus text: whether every canary passed, when the run ended, the
 * slowest wait, whether an apply answered every canary and, when one did, per authority whether
 * it answered every canary (no apply answering says nothing of the authorities).
 */
export async function renderCanaryMetrics(
  reports: readonly CanaryReport[],
  nowMs: number,
  applyAnswered: boolean,
): Promise<string> {
  const m = createCanaryMetrics(createRegistry());
  m.applyAnswered.set(applyAnswered ? 1 : 0);
  const answered = (a: 'governor' | 'p33') =>
    reports.length > 0 && reports.every((r) => r[a].verdict !== 'missing') ? 1 : 0;
  m.passed.set(reports.length > 0 && reports.every((r) => r.passed) ? 1 : 0);
  m.lastRun.set(Math.floor(nowMs / 1000));
  m.waitSeconds.set(Math.max(0, ...reports.map((r) => r.wait_ms)) / 1000);
  if (applyAnswered) {
    m.answered.set({ authority: 'governor' }, answered('governor'));
    m.answered.set({ authority: 'p33' }, answered('p33'));
  }
  return m.registry.metrics();
}

/** Writes beside the target and renames, so a scraper never reads half a file. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
