/** `plan-id <SYMBOL>`: the plan id the fleet would compute for a proposal hash given as JSON on stdin. */
import type { Command } from 'commander';
import { planIdOf } from '../domain/plan.js';
import { parseProposal } from '../domain/proposal.js';
import type { CliContext } from './util.js';

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const fail = (reason: string): CommandOutput => ({ code: 1, stdout: '', stderr: `${reason}\n` });

export function planIdCommand(symbol: string, stdinText: string): CommandOutput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdinText);
  } catch {
    return fail('invalid_json');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return fail('not_a_json_object');
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') return fail(`non_string_value:${k}`);
    fields[k] = v;
  }
  const result = parseProposal(symbol, fields);
  if (!result.ok) return fail(result.field ? `${result.reason}:${result.field}` : result.reason);
  return { code: 0, stdout: `${planIdOf(result.proposal)}\n`, stderr: '' };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Registers `plan-id <SYMBOL>` (proposal hash as a JSON object of strings on stdin). */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('plan-id')
    .description('print the plan id of a proposal hash (JSON object of strings on stdin)')
    .argument('<symbol>', 'symbol, e.g. BTCUSDT')
    .action(async (symbol: string) => {
      const result = planIdCommand(symbol, await readStdin());
      if (result.stdout) ctx.out(result.stdout);
      if (result.stderr) ctx.err(result.stderr);
      ctx.exitCode = result.code;
    });
}
