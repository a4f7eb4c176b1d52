/**
 * `quantum-apply demo`: the whole pipeline in one process, bounded. The three services, the
 * paper exchange, a simulated desk authority and a scripted proposal feeder, on the in-memory
 * store (or on Redis under a random key prefix when a URL is given).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseProposal } from '../domain/proposal.js';
import { planIdOf } from '../domain/plan.js';
import { createBinanceExchange } from '../exchange/binance/index.js';
import { startPaperExchange, type PaperExchange } from '../exchange/paper/index.js';
import { systemClock } from '../ops/clock.js';
import { DEFAULT_MAX_PROPOSAL_AGE_SEC } from '../ops/config/services.js';
import { createLogger } from '../ops/logger.js';
import { createRegistry } from '../ops/metrics.js';
import { DEFAULT_HISTORY_BATCH } from '../ops/config/recorder.js';
import { redactUrl } from '../ops/config/env.js';
import { startHistoryService } from '../history/service.js';
import { setArmState } from '../services/arm-state.js';
import { ApplyService } from '../services/apply/service.js';
import { GovernorService } from '../services/governor/service.js';
import { PositionBrainService } from '../services/position-brain/service.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { DeskAuthority } from './desk.js';
import { clockText, feedLine } from './report.js';
import {
  DEMO_ALLOWLIST,
  DEMO_POSITIONS,
  DEMO_STEPS,
  DEMO_SYMBOLS,
  DESK,
  proposalFields,
  type DemoStep,
  type Hook,
} from './scenario.js';
import { Tally } from './tally.js';

export interface DemoOptions {
  durationSec: number;
  redisUrl?: string;
  verbose?: boolean;
  out: (text: string) => void;
  /** Where the recorder writes the demo's history (default: a private in-memory SQLite database). */
  historyUrl?: string;
  /** Resolves on SIGINT/SIGTERM: feeding stops, in-flight plans finish, the summary is printed. */
  stopRequested?: Promise<string>;
}

const PAPER_KEY = 'paper-key';
const PAPER_SECRET = 'paper-secret';
/** Demo limits: the hourly limit equals the burst limit, so auto-disarm never cuts the demo short. */
const GOV_LIMITS = {
  killScoreCritical: 0.8,
  maxExecPerHour: 4,
  maxExecPer5Min: 4,
  maxReduceNotionalPerDayUsd: 50_000,
  maxReduceQtyPerDay: 1_000_000,
};

/** pino destination printing only what a person watching the demo needs. */
function demoLogSink(out: (t: string) => void, startMs: number, verbose: boolean) {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const o = JSON.parse(line) as { msg?: string; level?: string; service?: string };
          const msg = o.msg ?? '';
          const show =
            msg.startsWith('[PERMIT_WAIT]') ||
            o.level === 'error' ||
            o.level === 'fatal' ||
            (verbose && o.level === 'warn');
          if (show) out(`${clockText(startMs, Date.now())}  ${(o.service ?? '').padEnd(8)} ${msg}\n`);
        } catch {
          out(line + '\n');
        }
      }
      done();
    },
  });
}

async function waitForSnapshots(store: Store, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    const snaps = await Promise.all(DEMO_ALLOWLIST.map((s) => store.hgetall(store.keys.positionSnapshot(s))));
    if (snaps.every((h) => Object.keys(h).length > 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runHook(
  store: Store,
  hook: Hook,
  saved: Map<string, Record<string, string>>,
): Promise<string> {
  switch (hook.kind) {
    case 'ledger_drift': {
      const key = store.keys.positionLedger(hook.symbol);
      saved.set(hook.symbol, await store.hgetall(key));
      await store.hset(key, { last_known_amt: hook.amount });
      return `operator  HSET ${hook.symbol} ledger last_known_amt=${hook.amount} (a bad hand edit)`;
    }
    case 'ledger_repair': {
      const key = store.keys.positionLedger(hook.symbol);
      const before = saved.get(hook.symbol) ?? {};
      if (before.last_known_amt === undefined) await store.del([key]);
      else await store.hset(key, { last_known_amt: before.last_known_amt });
      return `operator  repairs the ${hook.symbol} ledger`;
    }
    case 'disarm':
      await setArmState(store, {
        armed: false,
        reason: 'demo: operator pause',
        by: 'demo',
        atMs: Date.now(),
      });
      return 'operator  quantum-apply disarm --reason "demo: operator pause"';
    case 'arm':
      await setArmState(store, { armed: true, reason: 'demo: resume', by: 'demo', atMs: Date.now() });
      return 'operator  quantum-apply arm';
  }
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const startMs = Date.now();
  const out = o.out;
  const rel = () => clockText(startMs, Date.now());
  let interrupted = false;
  void o.stopRequested?.then((why) => {
    interrupted = true;
    out(`${rel()}  demo     ${why}: no new proposals; finishing in-flight plans\n`);
  });
  const demoPrefix = `demo:${randomBytes(3).toString('hex')}:`;
  const store = o.redisUrl
    ? await createStore({ url: o.redisUrl, prefix: demoPrefix })
    : await createStore({ memory: true });
  let paper: PaperExchange | null = null;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    paper = await startPaperExchange({
      port: 0,
      apiKey: PAPER_KEY,
      apiSecret: PAPER_SECRET,
      positions: DEMO_POSITIONS,
    });
    const sink = demoLogSink(out, startMs, o.verbose ?? false);
    const log = (service: string) => createLogger({ service, level: 'info', destination: sink });
    const exchange = () => {
      const ex = createBinanceExchange({ baseUrl: paper!.url, apiKey: PAPER_KEY, apiSecret: PAPER_SECRET });
      closers.push(() => ex.close());
      return ex;
    };
    const clock = systemClock;
    const deskDelays = new Map<string, number | null>();
    const expectations = new Map<string, DemoStep>();
    const desk = new DeskAuthority(store, clock, deskDelays);
    const governor = new GovernorService({
      store,
      exchange: exchange(),
      clock,
      logger: log('governor'),
      limits: GOV_LIMITS,
      autoApprove: false,
    });
    const p33 = new PositionBrainService({
      store,
      exchange: exchange(),
      clock,
      logger: log('p33'),
      allowlist: DEMO_ALLOWLIST,
      limits: { staleThresholdSec: 10, qtyTolerancePct: 1, cooldownSec: 15 },
      pollSec: 1,
      permitTtlSec: 60,
      source: 'paper',
    });
    const apply = new ApplyService(
      { store, exchange: exchange(), clock, logger: log('apply') },
      {
        mode: 'testnet',
        symbols: DEMO_SYMBOLS,
        allowlist: DEMO_ALLOWLIST,
        pollSec: 1,
        dedupeTtlSec: 21600,
        maxProposalAgeSec: DEFAULT_MAX_PROPOSAL_AGE_SEC,
        kBlockCritical: 0.8,
        kBlockWarning: 0.6,
        killSwitch: false,
        permitWaitMs: 1200,
        permitStepMs: 100,
        requiredAuthorities: ['governor', 'p33', DESK],
        hasCredentials: true,
      },
    );
    out(
      [
        `quantum-apply demo: ${o.durationSec} s on the ${store.kind === 'memory' ? 'in-memory store' : `Redis store (${o.redisUrl})`}, paper exchange at ${paper.url}`,
        `  positions: ${Object.entries(DEMO_POSITIONS)
          .map(([s, a]) => `${s} ${a}`)
          .join(', ')}`,
        `  required permits: governor, p33 and a simulated desk (APPLY_REQUIRED_AUTHORITIES=governor,p33,${DESK})`,
        `  allowlist: every symbol but DOGEUSDT; P3.3 cooldown 15 s; governor: ${GOV_LIMITS.maxExecPerHour}/hour per symbol`,
        '',
      ].join('\n'),
    );
    const history = startHistoryService({
      store,
      settings: { url: o.historyUrl ?? 'sqlite::memory:', retentionDays: 0, batch: DEFAULT_HISTORY_BATCH },
      clock,
      logger: log('recorder'),
      registry: createRegistry(),
      idleMs: 100,
    });
    closers.push(() => history.stop());
    await desk.start();
    governor.start();
    p33.start();
    await apply.start();
    await waitForSnapshots(store, Date.now() + 5000);
    const tally = new Tally(store, paper, desk, expectations, startMs, out);
    tally.start();

    const durationMs = o.durationSec * 1000;
    const spacingMs = Math.max(150, Math.min(900, (durationMs - 3000) / DEMO_STEPS.length));
    const lastFields = new Map<string, Record<string, string>>();
    const saved = new Map<string, Record<string, string>>();
    let noPlan = 0;
    let i = 0;
    const feedStep = async (step: DemoStep) => {
      for (const h of step.before ?? []) out(`${rel()}  ${await runHook(store, h, saved)}\n`);
      const now = Date.now();
      const fields =
        step.repeatPrevious && lastFields.has(step.symbol)
          ? lastFields.get(step.symbol)!
          : proposalFields(step, new Date(now).toISOString(), Math.floor(now / 1000));
      const parsed = parseProposal(step.symbol, fields);
      if (parsed.ok) {
        const id = planIdOf(parsed.proposal);
        if (!step.repeatPrevious) {
          deskDelays.set(id, step.deskDelayMs);
          if (!step.unscripted) expectations.set(id, step);
        }
      } else noPlan++;
      lastFields.set(step.symbol, fields);
      out(
        feedLine(rel(), step.symbol, step.action, step.killScore, `${step.story} → expect ${step.expect}`) +
          '\n',
      );
      await store.hset(store.keys.proposal(step.symbol), fields);
      for (const h of step.after ?? []) {
        await new Promise((r) => setTimeout(r, Math.min(spacingMs, 600)));
        out(`${rel()}  ${await runHook(store, h, saved)}\n`);
      }
    };
    const feedUntil = startMs + durationMs - 2500;
    for (const step of DEMO_STEPS) {
      if (Date.now() > feedUntil || interrupted) break;
      await feedStep(step);
      i++;
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    // Free run until the end: ordinary partial closes on whatever still has a position.
    while (Date.now() < feedUntil && !interrupted) {
      const symbol = DEMO_ALLOWLIST[i++ % DEMO_ALLOWLIST.length]!;
      const killScore = (0.1 + ((i * 37) % 40) / 100).toFixed(2);
      await feedStep({
        symbol,
        action: 'PARTIAL_50',
        killScore,
        deskDelayMs: 20 + ((i * 53) % 200),
        expect: 'EXECUTE or P3.3 cooldown',
        story: 'routine partial close',
        unscripted: true,
      });
      await new Promise((r) => setTimeout(r, Math.max(spacingMs, 700)));
    }
    await tally.settle(Date.now() + 2500);
    await apply.stop();
    await Promise.all([governor.stop(), p33.stop(), desk.stop()]);
    await tally.stop();
    const report = await tally.report(noPlan);
    out(report.text);
    const rows = await history.settle(Date.now() + 3000);
    if (rows) {
      out(
        `  history: ${rows.plans} plans, ${rows.decisions} decisions, ${rows.orders} orders, ${rows.results} results recorded` +
          (o.historyUrl
            ? ` in ${redactUrl(o.historyUrl)} (quantum-apply history)\n\n`
            : ' (in memory: --history-url keeps them)\n\n'),
      );
    }
    if (o.redisUrl) {
      // The demo's keys stay in Redis under its prefix: every plan can be explained afterwards.
      const pick = (d: string) => tally.results.find((r) => r.decision === d)?.planId;
      const ids = [pick('EXECUTE'), pick('BLOCKED')].filter((x): x is string => Boolean(x));
      out(`  every plan's story stays in Redis; for example:\n`);
      for (const id of ids) {
        out(`    REDIS_URL=${o.redisUrl} REDIS_KEY_PREFIX=${demoPrefix} npx quantum-apply explain ${id}\n`);
      }
      out('\n');
    }
    return report.safe ? 0 : 1;
  } finally {
    await Promise.allSettled(closers.map((c) => c()));
    await paper?.close();
    await store.close();
  }
}
