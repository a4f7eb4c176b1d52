/**
 * `quantum-apply replay --since 7d --set GOV_MAX_EXEC_PER_HOUR=5 …`: the recorded plans re-decided
 * under the current settings and under the changed ones (src/domain/replay), and the plans whose
 * decision flips. Reads the history only: no Redis, no exchange, no orders.
 */
import type { Command } from 'commander';
import { replay } from '../../domain/replay/engine.js';
import { compareReplays, outcomeLabel, type ReplayReport } from '../../domain/replay/report.js';
import { plansInWindow } from '../../history/query.js';
import { table, utc } from '../../inspect/render.js';
import { ConfigError } from '../../ops/config/env.js';
import { replayPlans } from '../../replay/load.js';
import { parseSets, replaySettings } from '../../replay/settings.js';
import { EXIT_CONFIG, type CliContext } from '../util.js';
import { filterFrom, withHistory } from './history.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Where the replay starts reading: early enough that the governor's counts at `fromMs` are
 * complete (the hour before it, and its UTC day so far).
 */
export function warmUpFrom(fromMs: number): number {
  return Math.min(fromMs - HOUR_MS, Math.floor(fromMs / DAY_MS) * DAY_MS);
}

function renderReport(r: ReplayReport, sets: Record<string, string>, fromMs: number, listed: number): string {
  const t = r.totals;
  const changed = Object.entries(sets)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [
    `replay of ${r.plans} plan(s) from ${utc(fromMs)} UTC with ${changed || '(no change)'}`,
    `the current settings reproduce ${r.fidelity.matching} of ${r.fidelity.compared} recorded decisions`,
    `flips: ${t.flips} (${t.nowExecute} would now execute, ${t.nowStopped} would now not); ${t.reasonChanged} more stay stopped for another reason`,
    'EXECUTE: passes apply and the governor; what P3.3 and the exchange did after is the recorded end',
  ];
  if (r.dailyUnchecked > 0)
    lines.push(
      `${r.dailyUnchecked} executing plan(s) without a known amount: their daily cap was not checked`,
    );
  if (t.flips > 0) {
    lines.push('', 'by reason', ...table(r.byReason.map((b) => [b.key, String(b.count)])));
    lines.push(
      '',
      'by symbol',
      ...table([
        ['SYMBOL', 'NOW EXECUTE', 'NOW STOPPED'],
        ...r.bySymbol.map((s) => [s.symbol, String(s.nowExecute), String(s.nowStopped)]),
      ]),
    );
    lines.push(
      '',
      `plans that flip${r.flips.length > listed ? ` (first ${listed}; --json lists all)` : ''}`,
      ...table([
        ['TIME (UTC)', 'PLAN', 'SYMBOL', 'WAS', 'WOULD BE', 'RECORDED END'],
        ...r.flips
          .slice(0, listed)
          .map((f) => [
            utc(f.atMs),
            f.planId,
            f.symbol,
            outcomeLabel(f.from),
            outcomeLabel(f.to),
            f.recordedEnd ?? '-',
          ]),
      ]),
    );
  }
  return `${lines.join('\n')}\n`;
}

interface ReplayOptions {
  since?: string;
  until?: string;
  symbol?: string;
  set: string[];
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description(
      "what-if: re-run apply's and the governor's gates over the recorded plans with other settings; no Redis, no orders",
    )
    .requiredOption('--since <when>', 'replay plans from this time: a span back (7d, 12h) or an ISO time')
    .option('--until <when>', 'and before this time (same forms)')
    .option('--symbol <symbol>', 'only this symbol')
    .option(
      '--set <NAME=VALUE>',
      'a setting to change (repeat it): K_BLOCK_*, APPLY_KILL_SWITCH, APPLY_ALLOWLIST, APPLY_MAX_PROPOSAL_AGE_SEC, GOV_*',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--json', 'one JSON object (the report and every flip) instead of text')
    .addHelpText(
      'after',
      "\nThe current settings are the environment's. Exit codes: 0 replayed, 1 the database failed, 2 usage or a bad setting.",
    )
    .action(async (o: ReplayOptions) => {
      const name = 'replay';
      const f = filterFrom(ctx, name, o, Date.now());
      if (f === null) return;
      const parsed = parseSets(o.set);
      if (!parsed.ok) {
        ctx.err(`quantum-apply ${name}: ${parsed.error}\n`);
        ctx.exitCode = EXIT_CONFIG;
        return;
      }
      let settings;
      try {
        settings = { base: replaySettings(ctx.env), whatIf: replaySettings(ctx.env, parsed.sets) };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        ctx.err(`quantum-apply ${name}: ${err.message}\n`);
        ctx.exitCode = EXIT_CONFIG;
        return;
      }
      const fromMs = f.sinceMs!;
      await withHistory(ctx, name, async (h) => {
        const plans = replayPlans(await plansInWindow(h.db, { ...f, sinceMs: warmUpFrom(fromMs) }));
        const report = compareReplays(replay(plans, settings.base), replay(plans, settings.whatIf), fromMs);
        ctx.out(
          o.json
            ? `${JSON.stringify({ from: new Date(fromMs).toISOString(), set: parsed.sets, ...report }, null, 2)}\n`
            : renderReport(report, parsed.sets, fromMs, 50),
        );
      });
    });
}
