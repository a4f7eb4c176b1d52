/**
 * `quantum-apply propose <SYMBOL> --action PARTIAL_50 [--kill-score 0.3] [--new-sl P] [--wait [s]]`:
 * writes a proposal hash as the exit brain would (`quantum:harvest:proposal:<S>`, computed now),
 * prints the plan id apply will derive from it and, with `--wait`, that plan's result entry.
 * Lets a person drive the pipeline by hand without the exit brain. Needs only Redis (the
 * variables `arm` reads).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { planIdOf } from '../../domain/plan.js';
import { isValidSymbol, parseProposal } from '../../domain/proposal.js';
import { parsePyFloat } from '../../domain/pyfloat.js';
import type { Store, StreamEntry } from '../../store/port.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, type CliContext } from '../util.js';
import { withStore } from './arm.js';

/** The actions the exit brain writes (PROTOCOL.md "Proposal"). */
export const PROPOSAL_ACTIONS = [
  'FULL_CLOSE_PROPOSED',
  'PARTIAL_75',
  'PARTIAL_50',
  'UPDATE_SL',
  'HOLD',
] as const;

const DEFAULT_WAIT_SEC = 30;
/** How often --wait reads the result stream's new entries. */
const POLL_MS = 100;

/**
 * `computed_at_utc` as the exit brain writes it (Python's `datetime.utcnow().isoformat()`:
 * microseconds, no zone, read as UTC).
 */
export function exitBrainTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}

export interface ProposeInput {
  symbol: string;
  action: string;
  killScore: string;
  newSl?: string;
}

/** The proposal hash the exit brain would write, and its plan id; or why the input is refused. */
export function buildProposal(
  input: ProposeInput,
  nowMs: number,
): { ok: true; fields: Record<string, string>; planId: string } | { ok: false; reason: string } {
  if (!isValidSymbol(input.symbol))
    return { ok: false, reason: `symbol: 2-30 capitals and digits, e.g. BTCUSDT (got "${input.symbol}")` };
  if (!(PROPOSAL_ACTIONS as readonly string[]).includes(input.action)) {
    return { ok: false, reason: `--action: one of ${PROPOSAL_ACTIONS.join(', ')} (got "${input.action}")` };
  }
  const kill = parsePyFloat(input.killScore);
  if (kill === null || !(kill >= 0 && kill <= 1)) {
    return { ok: false, reason: `--kill-score: a number from 0 to 1 (got "${input.killScore}")` };
  }
  if (input.newSl !== undefined) {
    const sl = parsePyFloat(input.newSl);
    if (sl === null || !Number.isFinite(sl) || sl <= 0) {
      return { ok: false, reason: `--new-sl: a positive price (got "${input.newSl}")` };
    }
  } else if (input.action === 'UPDATE_SL') {
    return { ok: false, reason: '--new-sl: UPDATE_SL needs the new stop price' };
  }
  const fields: Record<string, string> = {
    harvest_action: input.action,
    kill_score: input.killScore,
    k_regime_flip: '0.0',
    k_sigma_spike: '0.0',
    k_ts_drop: '0.0',
    k_age_penalty: '0.0',
    new_sl_proposed: input.newSl ?? '',
    R_net: '0.0',
    last_update_epoch: String(Math.floor(nowMs / 1000)),
    computed_at_utc: exitBrainTime(nowMs),
    reason_codes: 'operator_propose',
  };
  const parsed = parseProposal(input.symbol, fields);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  return { ok: true, fields, planId: planIdOf(parsed.proposal) };
}

/** The newest entry id of a stream, or '0-0' when it is empty: where --wait starts reading. */
async function lastId(store: Store, stream: string): Promise<string> {
  const [newest] = await store.xrevrange(stream, '+', '-', 1);
  return newest?.id ?? '0-0';
}

/** The first result entry of `planId` after `after`, or null once `deadlineMs` has passed. */
async function awaitResult(
  store: Store,
  planId: string,
  after: string,
  deadlineMs: number,
): Promise<StreamEntry | null> {
  const stream = store.keys.resultStream();
  let cursor = after;
  for (;;) {
    const batch = (await store.xrange(stream, cursor, '+', 500)).filter((e) => e.id !== cursor);
    const found = batch.find((e) => e.fields.plan_id === planId);
    if (found) return found;
    if (batch.length > 0) cursor = batch[batch.length - 1]!.id;
    if (Date.now() >= deadlineMs) return null;
    await sleep(POLL_MS);
  }
}

function parseWait(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('seconds, 0-3600');
  return n;
}

function describeResult(e: StreamEntry): string {
  const f = e.fields;
  const lines = [
    `result ${f.plan_id ?? ''}: decision=${f.decision ?? ''} executed=${f.executed ?? ''} would_execute=${f.would_execute ?? ''} error=${f.error ?? ''}`,
    `steps ${f.steps_results ?? '[]'}`,
  ];
  if (f.would_execute === 'True') lines.push('apply runs with APPLY_MODE=dry_run: no order was sent');
  return `${lines.join('\n')}\n`;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('propose')
    .description('write a proposal as the exit brain would, print its plan id and, with --wait, its result')
    .argument('<symbol>', 'symbol, e.g. BTCUSDT')
    .requiredOption('--action <action>', `harvest_action: ${PROPOSAL_ACTIONS.join(', ')}`)
    .option('--kill-score <score>', 'kill_score, 0 to 1', '0.3')
    .option('--new-sl <price>', 'new_sl_proposed (the stop price of an UPDATE_SL)')
    .option(
      '--wait [seconds]',
      `wait for the plan's result and print it (default ${DEFAULT_WAIT_SEC} s); exit 1 when none came`,
      parseWait,
    )
    .action(
      async (
        symbol: string,
        o: { action: string; killScore: string; newSl?: string; wait?: number | true },
      ) => {
        const built = buildProposal(
          { symbol, action: o.action, killScore: o.killScore, newSl: o.newSl },
          Date.now(),
        );
        if (!built.ok) {
          ctx.err(`quantum-apply propose: ${built.reason}\n`);
          ctx.exitCode = EXIT_CONFIG;
          return;
        }
        await withStore(ctx, 'propose', async (store) => {
          const after = o.wait === undefined ? null : await lastId(store, store.keys.resultStream());
          await store.hset(store.keys.proposal(symbol), built.fields);
          ctx.out(`${built.planId}\n`);
          if (after === null) {
            ctx.exitCode = EXIT_OK;
            return;
          }
          const waitSec = o.wait === true || o.wait === undefined ? DEFAULT_WAIT_SEC : o.wait;
          const result = await awaitResult(store, built.planId, after, Date.now() + waitSec * 1000);
          if (result === null) {
            ctx.err(
              `quantum-apply propose: no result for plan ${built.planId} within ${waitSec} s (is apply running, with ${symbol} in SYMBOLS? see: quantum-apply explain ${built.planId})\n`,
            );
            ctx.exitCode = EXIT_FAILURE;
            return;
          }
          ctx.out(describeResult(result));
          ctx.exitCode = EXIT_OK;
        });
      },
    );
}
