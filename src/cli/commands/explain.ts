/**
 * `quantum-apply explain <plan_id> [--json]`: one plan's story from Redis (see src/inspect); once
 * the streams no longer hold it (or Redis cannot be read), from the history database
 * (HISTORY_URL), saying so.
 */
import type { Command } from 'commander';
import { openHistory } from '../../history/db.js';
import { planStory } from '../../history/query.js';
import { EXIT_FOUND, EXIT_USAGE, explainCommand, type InspectOutput } from '../../inspect/commands.js';
import { explainStory } from '../../inspect/explain.js';
import { explainJson, renderExplainText } from '../../inspect/render.js';
import { ConfigError, redactUrl } from '../../ops/config/env.js';
import { loadHistoryConfig } from '../../ops/config/history-url.js';
import type { CliContext } from '../util.js';

/**
 * The plan's story from the history: the output when found there, else a note to add (null when
 * there is nothing worth saying: HISTORY_URL unset and no history file).
 */
async function fromHistory(
  ctx: CliContext,
  planId: string,
  json: boolean,
): Promise<{ found: true; stdout: string } | { found: false; note: string | null }> {
  let url: string;
  try {
    url = loadHistoryConfig(ctx.env).url;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { found: false, note: `quantum-apply explain: the history: ${err.message}` };
  }
  const where = `the history at ${redactUrl(url)}`;
  let h;
  try {
    h = await openHistory(url, { readOnly: true, poolMax: 1 });
  } catch (err) {
    return {
      found: false,
      note:
        ctx.env.HISTORY_URL === undefined
          ? null
          : `quantum-apply explain: cannot open ${where}: ${(err as Error).message}`,
    };
  }
  try {
    const story = await planStory(h.db, planId);
    if (story === null) return { found: false, note: `not in ${where} either` };
    const x = explainStory(story, Date.now());
    return {
      found: true,
      stdout: json
        ? `${JSON.stringify({ ...explainJson(x), source: 'history' }, null, 2)}\n`
        : renderExplainText(x, `${where} (the streams no longer hold it)`),
    };
  } catch (err) {
    return {
      found: false,
      note: `quantum-apply explain: reading ${where} failed: ${(err as Error).message}`,
    };
  } finally {
    await h.close().catch(() => {});
  }
}

function print(ctx: CliContext, r: InspectOutput): void {
  if (r.stdout) ctx.out(r.stdout);
  if (r.stderr) ctx.err(r.stderr);
  ctx.exitCode = r.code;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('explain')
    .description(
      "tell one plan's story from Redis (or, once gone from the streams, the history), in time order, and why it ended where it did",
    )
    .argument(
      '<plan_id>',
      '16 hex digits, as on the plan/result streams and in the logs (or a canary-<16 hex> id)',
    )
    .option('--json', 'one JSON object (timeline array + verdict) instead of text')
    .addHelpText(
      'after',
      '\nExit codes: 0 found, 1 no trace of the plan id (in Redis or the history) or Redis unreadable, 2 bad configuration or plan id.',
    )
    .action(async (planId: string, opts: { json?: boolean }) => {
      const json = opts.json === true;
      const r = await explainCommand({ env: ctx.env }, planId, json);
      if (r.code === EXIT_FOUND || r.code === EXIT_USAGE) return print(ctx, r);
      const h = await fromHistory(ctx, planId.trim().toLowerCase(), json);
      if (h.found) {
        // Redis unreadable: say so, then tell the story from the history.
        if (r.stderr) ctx.err(r.stderr);
        ctx.out(h.stdout);
        ctx.exitCode = EXIT_FOUND;
        return;
      }
      print(ctx, h.note === null ? r : { ...r, stderr: `${r.stderr}${h.note}\n` });
    });
}
