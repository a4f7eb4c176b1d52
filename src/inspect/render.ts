/**
 * Text and JSON renderings for `explain` and `status`. Text is for a tired human: aligned
 * columns, UTC times, offsets relative to the plan entry, key=value details, and any control
 * character from Redis neutralised so a stored value cannot rewrite the terminal.
 */
import type { Explanation, TimelineEvent } from './explain.js';

// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function clean(s: string, max = 120): string {
  const t = s.replace(CONTROL, '?');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Signed offset: +12 ms, +1.2 s, -3 min. */
export function offset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 120_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  if (a < 7_200_000) return `${sign}${Math.round(a / 60_000)} min`;
  return `${sign}${(a / 3_600_000).toFixed(1)} h`;
}

/** Rows of cells padded to the widest cell of each column (the last column is not padded). */
export function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('   ')
        .trimEnd(),
  );
}

export function kv(details: Record<string, string>): string {
  return Object.entries(details)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${clean(v, 80)}`)
    .join('  ');
}

/** The time the offsets count from: the plan entry, else the first dated event. */
function baseTime(timeline: TimelineEvent[]): number | null {
  const plan = timeline.find((e) => e.source === 'apply' && e.what.startsWith('plan published'));
  return plan?.atMs ?? timeline.find((e) => e.atMs !== null)?.atMs ?? null;
}

export function renderExplainText(x: Explanation, where: string): string {
  const lines: string[] = [];
  lines.push(
    `plan ${x.planId}  ${x.symbol ?? '(symbol unknown)'}  read ${utc(x.readAtMs)} UTC from ${clean(where)}`,
  );
  if (x.proposal) {
    const p = x.proposal;
    const state = !p.present
      ? 'none'
      : p.yieldsThisPlan
        ? 'still yields this plan id'
        : p.currentPlanId
          ? `has moved on (now yields ${p.currentPlanId})`
          : 'yields no plan';
    lines.push(`current ${p.symbol} proposal: ${state}`);
  }
  lines.push('');
  const base = baseTime(x.timeline);
  const rows: string[][] = [['TIME (UTC)', 'OFFSET', 'SOURCE', 'WHAT']];
  const detailRows = new Map<number, string>();
  for (const e of x.timeline) {
    const at = e.atMs === null ? '(undated)' : utc(e.atMs);
    const off = e.atMs === null || base === null ? '' : `${e.approx ? '~' : ''}${offset(e.atMs - base)}`;
    rows.push([at, off, e.source, clean(e.what)]);
    const d = kv(e.details);
    if (d) detailRows.set(rows.length - 1, d);
  }
  const rendered = table(rows);
  const pad = rendered[0]!.indexOf('WHAT');
  rendered.forEach((line, i) => {
    lines.push(line);
    const d = detailRows.get(i);
    if (d) lines.push(`${' '.repeat(pad)}${d}`);
  });
  if (x.timeline.length === 0) lines.push('  (nothing found)');
  if (x.timeline.some((e) => e.approx)) lines.push('  ~ time derived from a TTL or stored in whole seconds');
  const s = x.scanned;
  lines.push('');
  lines.push(
    `scanned ${s.plan} plan, ${s.result} result, ${s.decisions} governor decision, ${s.events} governor event entries${s.complete ? '' : ' (bounded: older entries not read)'}`,
  );
  lines.push('');
  lines.push(clean(x.verdict.line, 400));
  return `${lines.join('\n')}\n`;
}

export interface TimelineJson {
  at: string | null;
  at_ms: number | null;
  offset_ms: number | null;
  approx: boolean;
  source: string;
  what: string;
  details: Record<string, string>;
}

/** The `explain --json` object. */
export interface ExplainJson {
  plan_id: string;
  symbol: string | null;
  found: boolean;
  read_at: string;
  verdict: { kind: string; line: string; reason: string | null };
  proposal: {
    symbol: string;
    present: boolean;
    current_plan_id: string | null;
    yields_this_plan: boolean;
  } | null;
  timeline: TimelineJson[];
  scanned: {
    plan_entries: number;
    result_entries: number;
    decision_entries: number;
    event_entries: number;
    complete: boolean;
  };
}

export function explainJson(x: Explanation): ExplainJson {
  const base = baseTime(x.timeline);
  return {
    plan_id: x.planId,
    symbol: x.symbol,
    found: x.found,
    read_at: new Date(x.readAtMs).toISOString(),
    verdict: { kind: x.verdict.kind, line: x.verdict.line, reason: x.verdict.reason },
    proposal: x.proposal && {
      symbol: x.proposal.symbol,
      present: x.proposal.present,
      current_plan_id: x.proposal.currentPlanId,
      yields_this_plan: x.proposal.yieldsThisPlan,
    },
    timeline: x.timeline.map((e) => ({
      at: e.atMs === null ? null : new Date(e.atMs).toISOString(),
      at_ms: e.atMs,
      offset_ms: e.atMs === null || base === null ? null : e.atMs - base,
      approx: e.approx,
      source: e.source,
      what: e.what,
      details: e.details,
    })),
    scanned: {
      plan_entries: x.scanned.plan,
      result_entries: x.scanned.result,
      decision_entries: x.scanned.decisions,
      event_entries: x.scanned.events,
      complete: x.scanned.complete,
    },
  };
}
