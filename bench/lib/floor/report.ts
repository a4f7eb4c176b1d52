/** The floor bench's tables (bench/floor.ts): per phase, then ours against the floor per rate. */
import type { PhaseResult } from '../pipeline-session.js';
import { perUnit, total } from '../redis-stats.js';
import { fmt, markdownTable, summarize } from '../stats.js';

export interface FloorRow {
  /** floor-ka: the floor with orders on kept-alive sockets. */
  layout: 'floor' | 'floor-ka' | 'ours';
  round: number;
  result: PhaseResult;
  sustained: boolean;
}

export interface FloorReport {
  machine: string;
  command: string;
  symbols: number;
  seconds: number;
  rows: FloorRow[];
}

const PROCS = ['apply', 'governor', 'position-brain', 'redis-server', 'bench (feeder + paper exchange)'];

/** CPU ms per executed plan, per process and summed. */
function cpuPerPlan(r: PhaseResult): { by: number[]; sum: number } {
  const n = Math.max(1, r.executed);
  const by = PROCS.map((p) => ((r.cpu[p] ?? 0) / n) * 1000);
  return { by, sum: by.reduce((a, b) => a + b, 0) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${fmt(a / b, 2)}×` : 'n/a');
const cmdsPerPlan = (r: PhaseResult) => total(r.commands) / Math.max(1, r.executed);
const exchangePerPlan = (r: PhaseResult) =>
  Object.values(r.exchange).reduce((a, b) => a + b, 0) / Math.max(1, r.executed);

export function renderFloor(rep: FloorReport): string {
  const phases = markdownTable(
    [
      'round',
      'layout',
      'offered /s',
      'executed /s',
      'p50 ms',
      'p99 ms',
      'sustained',
      'Redis cmds / plan',
      'exchange requests / plan',
      ...PROCS.map((p) => `CPU ms/plan ${p.split(' ')[0]}`),
      'CPU ms/plan, all',
    ],
    rep.rows.map(({ layout, round, result: r, sustained }) => {
      const s = summarize(r.stats.latencies);
      const c = cpuPerPlan(r);
      return [
        String(round),
        layout,
        String(r.stats.rate),
        fmt(r.executed / r.stats.seconds, 0),
        fmt(s.p50),
        fmt(s.p99),
        sustained ? 'yes' : 'no',
        fmt(cmdsPerPlan(r), 1),
        fmt(exchangePerPlan(r), 2),
        ...c.by.map((x) => fmt(x, 3)),
        fmt(c.sum, 3),
      ];
    }),
  );
  const rates = [...new Set(rep.rows.map((r) => r.result.stats.rate))].sort((a, b) => a - b);
  const at = (layout: string, rate: number) =>
    rep.rows.filter((r) => r.layout === layout && r.result.stats.rate === rate).map((r) => r.result);
  const med = (rs: PhaseResult[], f: (r: PhaseResult) => number) => (rs.length ? median(rs.map(f)) : NaN);
  const compare = markdownTable(
    [
      'offered /s',
      'runs floor / floor-ka / ours',
      'CPU ms/plan floor',
      'floor-ka',
      'ours',
      'ours / floor',
      'Redis cmds floor',
      'ours',
      'ours / floor',
    ],
    rates.flatMap((rate) => {
      const [f, k, o] = (['floor', 'floor-ka', 'ours'] as const).map((l) => at(l, rate));
      const cpu = (r: PhaseResult) => cpuPerPlan(r).sum;
      const [fc, kc, oc] = [f!, k!, o!].map((rs) => med(rs, cpu));
      const [fk, ok] = [f!, o!].map((rs) => med(rs, cmdsPerPlan));
      return [
        [
          String(rate),
          `${f!.length} / ${k!.length} / ${o!.length}`,
          fmt(fc!, 3),
          fmt(kc!, 3),
          fmt(oc!, 3),
          ratio(oc!, fc!),
          fmt(fk!, 1),
          fmt(ok!, 1),
          ratio(ok!, fk!),
        ],
      ];
    }),
  );
  const best = (layout: string) =>
    Math.max(
      0,
      ...rep.rows
        .filter((r) => r.layout === layout && r.sustained)
        .map((r) => r.result.executed / r.result.stats.seconds),
    );
  const top = (layout: string) =>
    rep.rows.filter((r) => r.layout === layout).sort((a, b) => b.result.executed - a.result.executed)[0]
      ?.result;
  const saturation = (['floor', 'floor-ka', 'ours'] as const)
    .map((l) => {
      const r = top(l);
      if (!r) return '';
      const c = cpuPerPlan(r);
      const rig = c.by[3]! + c.by[4]!;
      return `- ${l}: ${fmt(r.executed / r.stats.seconds, 0)} plans/s executed at ${r.stats.rate}/s offered, ${fmt(c.sum, 2)} ms of CPU per plan: ${fmt(c.sum - rig, 2)} in the three services, ${fmt(rig, 2)} in the rig (redis-server ${fmt(c.by[3]!, 2)}, bench process ${fmt(c.by[4]!, 2)}); ${fmt(cmdsPerPlan(r), 1)} Redis commands per plan.`;
    })
    .filter(Boolean)
    .join('\n');
  const byCommand = (['floor', 'ours'] as const)
    .map((l) => {
      const r = top(l);
      return r
        ? `- ${l} at ${r.stats.rate}/s offered: ${perUnit(r.commands, Math.max(1, r.executed), 20)}`
        : '';
    })
    .filter(Boolean)
    .join('\n');
  return [
    `\`${rep.command}\` (bench/floor.ts)`,
    '',
    `Machine: ${rep.machine}.`,
    '',
    `${rep.symbols} synthetic symbols, ${rep.seconds} s windows.`,
    '',
    phases,
    '',
    'Medians per offered rate (ours / floor):',
    '',
    compare,
    '',
    `Highest sustained (≥ 97 % executed, p99 ≤ 100 ms): floor ${fmt(best('floor'), 0)}, floor-ka ${fmt(best('floor-ka'), 0)}, ours ${fmt(best('ours'), 0)} plans/s (each ramp stops at its first rate below 97 % executed).`,
    '',
    "At each layout's highest throughput (2,000 plans/s on these 2 cores needs ≤ 1.0 ms of CPU per plan summed over every process):",
    '',
    saturation,
    '',
    "Commands per executed plan by name, at each layout's highest executed rate:",
    '',
    byCommand,
  ].join('\n');
}
