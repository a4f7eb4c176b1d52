/**
 * `quantum-apply history [filters] [--json|--csv]`, `history stats [--by …]`: what the history
 * database (HISTORY_URL) recorded, read-only; `history backfill`: what the streams still hold,
 * written into it. Exit codes: 0 done, 1 the database or Redis failed, 2 usage or configuration.
 */
import type { Command } from 'commander';
import { openHistory, type History } from '../../history/db.js';
import {
  listPlans,
  parseTimeArg,
  plansInWindow,
  type HistoryFilter,
  type PlanStory,
} from '../../history/query.js';
import { historyStats, planEnd, STATS_BY, type StatsBy, type StatsRow } from '../../history/stats.js';
import { toText } from '../../domain/decimal.js';
import { isValidSymbol } from '../../domain/proposal.js';
import { clean, table, utc } from '../../inspect/render.js';
import { loadHistoryConfig } from '../../ops/config/history-url.js';
import { redactUrl } from '../../ops/config/env.js';
import { EXIT_CONFIG, EXIT_FAILURE, loadOrReport, type CliContext } from '../util.js';
import { backfill } from '../../history/backfill.js';
import { loadRecorderConfig } from '../../ops/config/recorder.js';
import { openStoreOrReport } from './arm.js';

const DECISIONS = ['EXECUTE', 'SKIP', 'BLOCKED', 'ERROR'];

interface FilterOptions {
  symbol?: string;
  since?: string;
  until?: string;
  decision?: string;
  reason?: string;
  limit?: string;
}

function usage(ctx: CliContext, name: string, text: string): null {
  ctx.err(`quantum-apply ${name}: ${text}\n`);
  ctx.exitCode = EXIT_CONFIG;
  return null;
}

/** The filter the options give, or null after reporting the first bad one (exit 2). */
export function filterFrom(
  ctx: CliContext,
  name: string,
  o: FilterOptions,
  nowMs: number,
): HistoryFilter | null {
  const f: HistoryFilter = {};
  if (o.symbol !== undefined) {
    const s = o.symbol.trim().toUpperCase();
    if (!isValidSymbol(s)) return usage(ctx, name, `--symbol: not a symbol: ${JSON.stringify(o.symbol)}`);
    f.symbol = s;
  }
  for (const [opt, key] of [
    ['since', 'sinceMs'],
    ['until', 'untilMs'],
  ] as const) {
    const text = o[opt];
    if (text === undefined) continue;
    const ms = parseTimeArg(text, nowMs);
    if (ms === null)
      return usage(
        ctx,
        name,
        `--${opt}: expected a span (30m, 2h, 7d) or an ISO time, got ${JSON.stringify(text)}`,
      );
    f[key] = ms;
  }
  if (o.decision !== undefined) {
    const d = o.decision.trim().toUpperCase();
    if (!DECISIONS.includes(d))
      return usage(ctx, name, `--decision: expected one of ${DECISIONS.join(', ')}`);
    f.decision = d;
  }
  if (o.reason !== undefined) {
    if (!/^[A-Za-z0-9_:.-]{1,96}$/.test(o.reason))
      return usage(ctx, name, '--reason: expected a reason (letters, digits, _ : . -)');
    f.reason = o.reason;
  }
  if (o.limit !== undefined) {
    const n = Number(o.limit);
    if (!Number.isInteger(n) || n < 1 || n > 100_000)
      return usage(ctx, name, '--limit: expected an integer in [1, 100000]');
    f.limit = n;
  }
  return f;
}

/**
 * Opens HISTORY_URL (read-only unless `write`: then its schema is brought up to date), or reports
 * why not (2: configuration, 1: the database).
 */
export async function openHistoryOrReport(
  ctx: CliContext,
  name: string,
  write = false,
): Promise<History | null> {
  const cfg = loadOrReport(ctx, name, loadHistoryConfig);
  if (cfg === null) return null;
  try {
    return await openHistory(cfg.url, { readOnly: !write, poolMax: 2 });
  } catch (err) {
    ctx.err(
      `quantum-apply ${name}: cannot open the history at ${redactUrl(cfg.url)}: ${(err as Error).message}\n`,
    );
    ctx.exitCode = EXIT_FAILURE;
    return null;
  }
}

/** Runs `read` on the opened history; a failure is reported (exit 1) and the database closed. */
export async function withHistory(
  ctx: CliContext,
  name: string,
  read: (h: History) => Promise<void>,
  write = false,
): Promise<void> {
  const h = await openHistoryOrReport(ctx, name, write);
  if (h === null) return;
  try {
    await read(h);
  } catch (err) {
    ctx.err(`quantum-apply ${name}: reading the history failed: ${(err as Error).message}\n`);
    ctx.exitCode = EXIT_FAILURE;
  } finally {
    await h.close().catch(() => {});
  }
}

/** One plan as `history` lists it (the JSON and CSV field names). */
export function planLine(s: PlanStory) {
  const e = planEnd(s);
  return {
    at: new Date(s.plan.at_ms).toISOString(),
    plan_id: s.plan.plan_id,
    symbol: s.plan.symbol,
    action: s.plan.action,
    kill_score: s.plan.kill_score,
    decision: s.plan.decision,
    reason_codes: s.plan.reason_codes,
    ended: e.executed
      ? 'executed'
      : e.stoppedBy === 'pending' || e.stoppedBy === 'dry_run'
        ? e.stoppedBy
        : `stopped_by_${e.stoppedBy}`,
    reason: e.reason,
    qty_closed: toText(e.qtyClosed),
    notional_closed: toText(e.notionalClosed),
    handoff_ms: e.handoffMs,
  };
}

type Line = ReturnType<typeof planLine>;
const COLUMNS: (keyof Line)[] = [
  'at',
  'plan_id',
  'symbol',
  'action',
  'kill_score',
  'decision',
  'reason_codes',
  'ended',
  'reason',
  'qty_closed',
  'notional_closed',
  'handoff_ms',
];

function csvCell(v: unknown): string {
  const t = v === null ? '' : String(v);
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

export function renderCsv(lines: Line[]): string {
  return (
    [COLUMNS.join(','), ...lines.map((l) => COLUMNS.map((c) => csvCell(l[c])).join(','))].join('\n') + '\n'
  );
}

function renderList(lines: Line[]): string {
  if (lines.length === 0) return 'no recorded plan matches\n';
  const head = [
    'TIME (UTC)',
    'PLAN',
    'SYMBOL',
    'ACTION',
    'KILL',
    'DECISION',
    'ENDED',
    'REASON',
    'QTY CLOSED',
  ];
  const rows = lines.map((l) => [
    utc(Date.parse(l.at)),
    l.plan_id,
    l.symbol,
    l.action,
    l.kill_score,
    l.decision,
    l.ended,
    clean(l.reason || '-', 60),
    l.qty_closed === '0' ? '-' : l.qty_closed,
  ]);
  return `${table([head, ...rows], '').join('\n')}\n`;
}

const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);

function statsRows(rows: StatsRow[], keyHead: string): string[] {
  const head = [
    keyHead,
    'PLANS',
    'EXECUTED',
    'NOT EXECUTED',
    'QTY CLOSED',
    'NOTIONAL',
    'HAND-OFF P50',
    'P99',
  ];
  const cells = rows.map((r) => [
    r.key,
    String(r.plans),
    String(r.executed),
    String(r.notExecuted),
    r.qtyClosed,
    r.notionalClosed,
    ms(r.handoffP50Ms),
    ms(r.handoffP99Ms),
  ]);
  return table([head, ...cells]);
}

function renderStats(s: ReturnType<typeof historyStats>): string {
  const t = s.total;
  const lines = [
    `plans ${t.plans}  executed ${t.executed}  not executed ${t.notExecuted}  qty closed ${t.qtyClosed}  notional closed ${t.notionalClosed} USDT  hand-off p50 ${ms(t.handoffP50Ms)}  p99 ${ms(t.handoffP99Ms)}`,
  ];
  lines.push('', 'not executed, by who stopped it and why');
  if (s.notExecutedByReason.length === 0) lines.push('  (none)');
  else lines.push(...table(s.notExecutedByReason.map((r) => [r.key, String(r.count)])));
  if (s.by !== null) lines.push('', `by ${s.by}`, ...statsRows(s.groups, s.by.toUpperCase()));
  lines.push('', 'hand-off: the last permit granted to the order intent written');
  return `${lines.join('\n')}\n`;
}

const FILTER_HELP: [string, string][] = [
  ['--symbol <symbol>', 'only this symbol'],
  ['--since <when>', 'from this time: a span back from now (30m, 2h, 7d) or an ISO time'],
  ['--until <when>', 'before this time (same forms)'],
  ['--decision <decision>', "apply's decision: EXECUTE, SKIP, BLOCKED, ERROR"],
  ['--reason <reason>', "plans whose reasons, an authority's reason or the result's error contain it"],
];

function withFilters(c: Command): Command {
  for (const [flag, text] of FILTER_HELP) c.option(flag, text);
  return c;
}

export function register(program: Command, ctx: CliContext): void {
  const history = program
    .command('history')
    .description('what the history database (HISTORY_URL) recorded: plans, stats')
    .addHelpText('after', '\nExit codes: 0 done, 1 the database or Redis failed, 2 usage or configuration.');
  // The default subcommand: `history --symbol S` lists.
  withFilters(
    history
      .command('list', { isDefault: true })
      .description('recorded plans, newest first, and how each ended')
      .option('--limit <n>', 'at most this many plans (default 50)')
      .option('--json', 'one JSON array instead of the table')
      .option('--csv', 'CSV with a header line instead of the table'),
  ).action(async (o: FilterOptions & { json?: boolean; csv?: boolean }) => {
    if (o.json && o.csv) return void usage(ctx, 'history', '--json and --csv exclude each other');
    const f = filterFrom(ctx, 'history', o, Date.now());
    if (f === null) return;
    await withHistory(ctx, 'history', async (h) => {
      const lines = (await listPlans(h.db, f)).map(planLine);
      ctx.out(o.json ? `${JSON.stringify(lines, null, 2)}\n` : o.csv ? renderCsv(lines) : renderList(lines));
    });
  });
  withFilters(
    history
      .command('stats')
      .description('plans, executed, not executed by reason, quantity and notional closed, hand-off p50/p99')
      .option('--by <group>', `also per group: ${STATS_BY.join(' | ')}`)
      .option('--json', 'one JSON object instead of text'),
  ).action(async (o: FilterOptions & { by?: string; json?: boolean }) => {
    if (o.by !== undefined && !STATS_BY.includes(o.by as StatsBy))
      return void usage(ctx, 'history stats', `--by: expected one of ${STATS_BY.join(', ')}`);
    const f = filterFrom(ctx, 'history stats', o, Date.now());
    if (f === null) return;
    await withHistory(ctx, 'history stats', async (h) => {
      const s = historyStats(await plansInWindow(h.db, f), (o.by as StatsBy | undefined) ?? null);
      ctx.out(o.json ? `${JSON.stringify(s, null, 2)}\n` : renderStats(s));
    });
  });
  history
    .command('backfill')
    .description("record what Redis's streams still hold (rows already recorded stay as they are)")
    .option('--json', 'the report as one JSON object')
    .action(async (o: { json?: boolean }) => backfillCommand(ctx, o.json === true));
}

/** `history backfill`: the recorder's config (Redis and HISTORY_URL), then backfill(). */
async function backfillCommand(ctx: CliContext, json: boolean): Promise<void> {
  const name = 'history backfill';
  const cfg = loadOrReport(ctx, name, loadRecorderConfig);
  if (cfg === null) return;
  const store = await openStoreOrReport(ctx, name, cfg.redis);
  if (store === null) return;
  try {
    await withHistory(
      ctx,
      name,
      async (h) => {
        const r = await backfill(store, h);
        if (json) return void ctx.out(`${JSON.stringify(r, null, 2)}\n`);
        const read = Object.entries(r.read).map(([k, v]) => `${k} ${v}`);
        const written = Object.entries(r.written).map(([k, v]) => `${k} ${v}`);
        const skipped = Object.entries(r.skipped).map(([k, v]) => `${k} ${v}`);
        ctx.out(
          `read: ${read.join(', ')}\nnew rows: ${written.join(', ')}\nskipped: ${skipped.join(', ') || 'none'}\n`,
        );
      },
      true,
    );
  } finally {
    await store.close().catch(() => {});
  }
}
