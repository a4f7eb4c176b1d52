/**
 * `quantum-apply canary [--symbol S] [--count N] [--action A] [--json] [--metrics-file F] [--local]`:
 * canary plans through the running deployment's permit chain (PROTOCOL.md "Canary plans"), with
 * apply's configuration (its Redis user, APPLY_PERMIT_WAIT_MS). By default the running apply
 * service does apply's half: the command writes a request and waits for its reports; `--local`
 * runs that half in the command itself (a deployment without our apply). Exit 0 only when every
 * canary passed the whole chain within APPLY_PERMIT_WAIT_MS; 1 otherwise (also no apply answering,
 * a run refused by the rate limit, or Redis unreachable); 2 on usage errors.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import pino from 'pino';
import { CANARY_ACTIONS, type CanaryAction } from '../../domain/canary.js';
import { isValidSymbol } from '../../domain/proposal.js';
import { systemClock, type Clock } from '../../ops/clock.js';
import { ConfigError, loadApplyConfig, redactUrl, type ApplyConfig, type Env } from '../../ops/config.js';
import { createLogger, flushLogger, type Logger } from '../../ops/logger.js';
import { runCanary, takeCanaryRun, type CanaryReport } from '../../services/apply/canary.js';
import { openStoreFor } from '../../store/index.js';
import type { Store } from '../../store/port.js';
import { applyOptionsFrom } from './apply.js';
import { renderCanaryMetrics, renderCanaryText, writeFileAtomic } from '../canary-report.js';
import { requestCanaries } from '../canary-request.js';
import type { CliContext } from '../util.js';

export interface CanaryArgs {
  symbol?: string;
  count?: string;
  action?: string;
  json?: boolean;
  metricsFile?: string;
  /** Run apply's half in this process instead of asking the running apply service. */
  local?: boolean;
}

export interface CanaryDeps {
  env: Env;
  clock?: Clock;
  logger?: Logger;
  /** Default: apply's Redis store, as the environment names it. */
  openStore?: (cfg: ApplyConfig) => Promise<Store>;
}

export interface CanaryOutput {
  code: number;
  stdout: string;
  stderr: string;
  reports: CanaryReport[];
}

const usage = (text: string): CanaryOutput => ({
  code: 2,
  stdout: '',
  stderr: `quantum-apply canary: ${text}\n`,
  reports: [],
});
const failed = (text: string): CanaryOutput => ({ ...usage(text), code: 1 });

export async function canaryCommand(deps: CanaryDeps, args: CanaryArgs): Promise<CanaryOutput> {
  let cfg: ApplyConfig;
  try {
    cfg = loadApplyConfig(deps.env);
  } catch (err) {
    if (err instanceof ConfigError) return usage(err.message);
    throw err;
  }
  const symbol = args.symbol ?? cfg.allowlist[0];
  if (symbol === undefined) return usage('no --symbol given and APPLY_ALLOWLIST is empty');
  if (!isValidSymbol(symbol))
    return usage(`--symbol: expected a symbol like BTCUSDT, got ${JSON.stringify(symbol)}`);
  const count = args.count === undefined ? 1 : Number(args.count);
  if (!Number.isInteger(count) || count < 1)
    return usage(`--count: expected a whole number >= 1, got ${JSON.stringify(args.count)}`);
  if (count > cfg.canary.maxCount)
    return usage(`--count ${count} refused: above APPLY_CANARY_MAX_COUNT=${cfg.canary.maxCount}`);
  const action = (args.action ?? 'FULL_CLOSE_PROPOSED') as CanaryAction;
  if (!CANARY_ACTIONS.includes(action))
    return usage(
      `--action: expected one of ${CANARY_ACTIONS.join(', ')}, got ${JSON.stringify(args.action)}`,
    );

  const clock = deps.clock ?? systemClock;
  const logger =
    deps.logger ??
    createLogger({
      service: 'canary',
      level: cfg.logLevel,
      destination: pino.destination({ dest: 2, sync: true }),
    });
  // A run that could not reach Redis still writes its gauges: the chain did not answer.
  const metricsFile = async (
    reports: CanaryReport[],
    applyAnswered = reports.length > 0,
  ): Promise<string> => {
    if (args.metricsFile === undefined) return '';
    try {
      writeFileAtomic(args.metricsFile, await renderCanaryMetrics(reports, clock.now(), applyAnswered));
      return '';
    } catch (err) {
      return `quantum-apply canary: metrics file not written: ${(err as Error).message}\n`;
    }
  };
  let store: Store;
  try {
    store = await (deps.openStore ?? ((c) => openStoreFor(c.redis, { pollStepMs: c.permitStepMs })))(cfg);
  } catch (err) {
    const out = failed(`cannot reach redis at ${redactUrl(cfg.redis.url)}: ${(err as Error).message}`);
    return { ...out, stderr: out.stderr + (await metricsFile([])) };
  }
  const reports: CanaryReport[] = [];
  const me = { host: hostname(), pid: process.pid };
  const rateLimited = (leftSec: number, by: string) =>
    failed(
      `refused: rate_limited: a canary ran less than APPLY_CANARY_MIN_INTERVAL_SEC=${cfg.canary.minIntervalSec} s ago; next run allowed in ${leftSec} s${by}`,
    );
  try {
    if (args.local) {
      // The rate limit, shared by every host: the first run within the interval holds the key.
      const leftSec = await takeCanaryRun(store, {
        minIntervalSec: cfg.canary.minIntervalSec,
        nowMs: clock.now(),
        holder: { ...me, count },
      });
      if (leftSec !== null) return rateLimited(leftSec, '');
      const opts = { ...applyOptionsFrom(cfg), dedupeTtlSec: cfg.dedupeTtlSec };
      const origin = { requestId: null, handledBy: { instance: `local:${me.host}-${me.pid}`, ...me } };
      for (let i = 0; i < count; i++) {
        reports.push(await runCanary({ store, clock, logger }, opts, { symbol, action }, origin));
      }
    } else {
      // The running apply takes the rate limit itself; refusing here first spares a request.
      const leftMs = await store.pttl(store.keys.canaryRun());
      if (leftMs > 0) return rateLimited(Math.max(1, Math.ceil(leftMs / 1000)), '');
      const got = await requestCanaries(store, clock, {
        symbol,
        action,
        count,
        permitWaitMs: cfg.permitWaitMs,
        ...me,
      });
      if (got.kind === 'refused') {
        const by = ` (refused by apply ${got.report.handled_by.instance})`;
        if (got.report.reason === 'rate_limited') return rateLimited(cfg.canary.minIntervalSec, by);
        return failed(`refused: ${got.report.reason}${by}`);
      }
      reports.push(...got.reports);
      if (got.kind === 'unanswered') {
        const what =
          got.reports.length === 0
            ? `no apply service picked up the canary within ${got.boundMs} ms`
            : `apply answered ${got.reports.length} of ${count} canaries; none more within ${got.boundMs} ms`;
        const out = failed(
          `${what} (request ${got.requestId} on ${store.keys.canaryRequests()}): is our apply service running on this Redis? A fleet apply reads no canary requests; --local runs apply's half here`,
        );
        const body = args.json
          ? `${JSON.stringify({ passed: false, reason: 'no_apply_answer', permit_wait_ms: cfg.permitWaitMs, canaries: reports }, null, 2)}\n`
          : reports.length > 0
            ? renderCanaryText(reports, cfg.permitWaitMs)
            : '';
        return { ...out, stdout: body, stderr: out.stderr + (await metricsFile(reports, false)), reports };
      }
    }
  } catch (err) {
    const out = failed(`redis failed during the canary: ${(err as Error).message}`);
    return { ...out, stderr: out.stderr + (await metricsFile([])), reports };
  } finally {
    await store.close().catch(() => {});
    if (!deps.logger) await flushLogger(logger);
  }
  const ok = reports.every((r) => r.passed);
  const stderr = await metricsFile(reports);
  const stdout = args.json
    ? `${JSON.stringify({ passed: ok, permit_wait_ms: cfg.permitWaitMs, canaries: reports }, null, 2)}\n`
    : renderCanaryText(reports, cfg.permitWaitMs);
  return { code: ok ? 0 : 1, stdout, stderr, reports };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('canary')
    .description(
      'send canary plans through the live permit chain (governor, P3.3, atomic consume); never an order',
    )
    .option('--symbol <symbol>', 'the symbol to test (default: the first of APPLY_ALLOWLIST)')
    .option('--count <n>', 'canaries to send, one after another (at most APPLY_CANARY_MAX_COUNT)', '1')
    .option('--action <action>', `the close the canary stands for: ${CANARY_ACTIONS.join(', ')}`)
    .option('--json', 'one JSON object instead of text')
    .option(
      '--metrics-file <path>',
      'also write the outcome as Prometheus text (node_exporter textfile collector)',
    )
    .option(
      '--local',
      "run apply's half (permit wait, atomic consume) in this process, for a deployment without our apply service",
    )
    .addHelpText(
      'after',
      '\nThe running apply service publishes each canary and consumes its permits (--local: this process does).\nExit codes: 0 every canary passed the whole chain within APPLY_PERMIT_WAIT_MS, 1 otherwise (no apply answered within APPLY_PERMIT_WAIT_MS + 2 s, refused by APPLY_CANARY_MIN_INTERVAL_SEC, or Redis unreachable), 2 usage or configuration error.',
    )
    .action(async (opts: CanaryArgs) => {
      const r = await canaryCommand({ env: ctx.env }, opts);
      if (r.stdout) ctx.out(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      ctx.exitCode = r.code;
    });
}
