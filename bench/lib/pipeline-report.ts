/** Tables of the pipeline bench (the "## Pipeline" section of BENCHMARKS.md). */
import type { PhaseResult } from './pipeline-session.js';
import type { Memory } from './procstat.js';
import { fmt, markdownTable, summarize } from './stats.js';
import { total } from './redis-stats.js';

export interface Report {
  machine: string;
  command: string;
  symbols: number;
  seconds: number;
  warmup: number;
  latency?: PhaseResult[];
  capacity?: PhaseResult[];
  splitMemory?: Record<string, Memory | null>;
  ceiling?: { single: number; pipelined: number };
  all?: { phase: PhaseResult; memory: Record<string, Memory | null> };
  baseline?: PhaseResult[];
  /** A 100/s window under MONITOR (client-sent vs in-script commands). */
  split?: PhaseResult;
}

const P99_LIMIT_MS = 100;

export function isSustained(r: PhaseResult): boolean {
  const s = summarize(r.stats.latencies);
  return (
    r.executed >= 0.97 * r.stats.rate * r.stats.seconds && s.p99 <= P99_LIMIT_MS && r.stats.unfinished === 0
  );
}

function others(r: PhaseResult): string {
  const e = Object.entries(r.stats.errors).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? '0' : e.map(([k, v]) => `${v} ${k}`).join(', ');
}

function latencyRows(label: string, rs: PhaseResult[]): string[][] {
  return rs.map((r) => {
    const s = summarize(r.stats.latencies);
    return [
      label,
      String(r.stats.rate),
      fmt(r.executed / r.stats.seconds, 0),
      String(s.n),
      fmt(s.p50),
      fmt(s.p90),
      fmt(s.p99),
      fmt(s.max),
      others(r),
    ];
  });
}

const LAT_HEAD = [
  'layout',
  'offered /s',
  'executed /s',
  'n',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'max ms',
  'not executed',
];

function perPlan(r: PhaseResult): number {
  return total(r.commands) / Math.max(1, r.executed);
}

function cpuPer1000(r: PhaseResult, name: string): number {
  return ((r.cpu[name] ?? NaN) / Math.max(1, r.executed)) * 1000;
}

function topCommands(r: PhaseResult, n = 10): string {
  return [...r.commands]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([c, k]) => `${c} ${(k / Math.max(1, r.executed)).toFixed(2)}`)
    .join(', ');
}

const mb = (m: Memory | null | undefined) => (m ? `${fmt(m.peakMb, 1)} (now ${fmt(m.rssMb, 1)})` : 'n/a');

export function renderReport(r: Report): string {
  const out: string[] = [];
  out.push(`\`${r.command}\` (bench/pipeline.ts)`, '');
  out.push(`Machine: ${r.machine}.`, '');
  out.push(
    `Three services as separate processes (\`quantum-apply apply|governor|position-brain\`, compiled, LOG_LEVEL=info, logs to /dev/null) ` +
      `on one private redis-server; the bench process writes proposals (HSET, a new computed_at_utc each time) over ${r.symbols} ` +
      'synthetic symbols, at most one plan in flight per symbol, and hosts the paper exchange, where the order is timed as the ' +
      'fill is booked. Every plan is PARTIAL_50, kill score 0.3 → EXECUTE; authority limits lifted (GOV_* caps 1e9+, ' +
      'P33_COOLDOWN_SEC=0); the paper exchange holds positions (`--hold-positions`), so P33_QTY_TOLERANCE_PCT=100 (its ledger ' +
      `follows the fills). Each phase: ${r.warmup} s warm-up, then a ${r.seconds} s window (20 s at 10/s); latency counts ` +
      "proposals written in the window, commands and CPU are the window's.",
    '',
  );
  if (r.latency) {
    out.push('### Latency: proposal written → order at the paper exchange', '');
    out.push(markdownTable(LAT_HEAD, latencyRows('3 processes', r.latency)), '');
  }
  if (r.baseline) {
    out.push(
      '### Baseline: polling-only hand-off (same services, a redis-server refusing CONFIG: no keyspace events)',
      '',
    );
    out.push(
      'APPLY_POLL_SEC=1 sweep, APPLY_PERMIT_STEP_MS=100 permit polling; the authorities read the plan stream as always.',
      '',
    );
    out.push(markdownTable(LAT_HEAD, latencyRows('polling', r.baseline)), '');
  }
  if (r.capacity) {
    out.push(
      `### Capacity (sustained: ≥ 97 % of the offered rate executed, p99 ≤ ${P99_LIMIT_MS} ms, nothing unfinished)`,
      '',
    );
    const names = Object.keys(r.capacity[0]?.cpu ?? {});
    const rows = r.capacity.map((p) => {
      const s = summarize(p.stats.latencies);
      return [
        String(p.stats.rate),
        fmt(p.executed / p.stats.seconds, 0),
        fmt(s.p99),
        isSustained(p) ? 'yes' : 'no',
        fmt(perPlan(p), 1),
        ...names.map((n) => fmt(cpuPer1000(p, n), 2)),
      ];
    });
    out.push(
      markdownTable(
        [
          'offered /s',
          'executed /s',
          'p99 ms',
          'sustained',
          'Redis cmds / plan',
          ...names.map((n) => `CPU s/1000: ${n}`),
        ],
        rows,
      ),
      '',
    );
    const best = [...r.capacity].filter(isSustained).pop();
    if (best) {
      const rate = best.executed / best.stats.seconds;
      out.push(`Highest sustained: **${fmt(rate, 0)} EXECUTE plans/s** (offered ${best.stats.rate}/s).`, '');
      out.push(
        `Redis commands per executed plan at that rate, by command (all clients, commands inside Lua scripts included): ${topCommands(best)}.`,
        '',
      );
      if (r.ceiling) {
        const used = total(best.commands) / best.stats.seconds;
        out.push(
          `Redis ceiling, same server, same run (\`redis-benchmark -t set,get -n 200000 -q\`): ${fmt(r.ceiling.single, 0)} commands/s; ` +
            `with \`-P 16\`: ${fmt(r.ceiling.pipelined, 0)}/s. The pipeline used ${fmt(used, 0)} commands/s at that rate: ` +
            `${fmt((100 * used) / r.ceiling.single, 0)} % of the single-command ceiling, ${fmt((100 * used) / r.ceiling.pipelined, 1)} % of the pipelined one.`,
          '',
        );
      }
    }
  }
  if (r.split?.sent) {
    const e = Math.max(1, r.split.executed);
    const { client, script } = r.split.sent;
    out.push(
      `Commands sent by clients vs run inside Lua scripts (MONITOR over a 5 s window at 100 plans/s, all clients): ` +
        `**${fmt(client / e, 1)} sent per executed plan** (a script call counts once) + ${fmt(script / e, 1)} inside scripts ` +
        `= ${fmt((client + script) / e, 1)}; INFO commandstats counts both. At 100/s the fixed background work ` +
        '(apply sweep of 1,000 proposals every 5 s, P3.3 snapshots of 1,000 symbols every 5 s) is a larger share than at capacity.',
      '',
    );
  }
  if (r.splitMemory || r.all) {
    out.push('### Memory: peak RSS (VmHWM) at load, MB', '');
    const rows: string[][] = [];
    for (const [n, m] of Object.entries(r.splitMemory ?? {})) rows.push([n, 'separate process', mb(m)]);
    if (r.all) {
      for (const [n, m] of Object.entries(r.all.memory))
        rows.push([n, `one process at ${r.all.phase.stats.rate}/s`, mb(m)]);
    }
    out.push(markdownTable(['service', 'layout', 'peak RSS MB'], rows), '');
    if (r.all) out.push(markdownTable(LAT_HEAD, latencyRows('all (1 process)', [r.all.phase])), '');
  }
  return out.join('\n');
}

export interface PhaseSummary {
  part: string;
  rate: number;
  executedPerSec: number;
  p50: number;
  p99: number;
  commandsPerPlan: number;
  cpuPer1000: Record<string, number>;
}

/** Machine-readable figures of every phase (for A/B comparisons of two builds). */
export function summaries(r: Report): PhaseSummary[] {
  const parts: [string, PhaseResult[] | undefined][] = [
    ['latency', r.latency],
    ['capacity', r.capacity],
    ['baseline', r.baseline],
    ['all', r.all ? [r.all.phase] : undefined],
  ];
  return parts.flatMap(([part, rs]) =>
    (rs ?? []).map((p) => {
      const s = summarize(p.stats.latencies);
      return {
        part,
        rate: p.stats.rate,
        executedPerSec: p.executed / p.stats.seconds,
        p50: s.p50,
        p99: s.p99,
        commandsPerPlan: perPlan(p),
        cpuPer1000: Object.fromEntries(Object.keys(p.cpu).map((n) => [n, cpuPer1000(p, n)])),
      };
    }),
  );
}
