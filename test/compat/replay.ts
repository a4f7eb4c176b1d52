/**
 * The fleet's recorded run (fixtures/*.json) replayed through our apply layer: the same
 * proposals, in order, against an exchange holding the recorded positions, with the fleet's
 * authorities played from the recording (the permit bodies it wrote, where the recording has
 * them; otherwise what its Governor and P3.3 wrote for every such plan).
 */
import type { Registry } from 'prom-client';
import { pyJsonDumps } from '../../src/domain/pyjson.js';
import { createApplyMetrics, createRegistry } from '../../src/ops/metrics.js';
import { promSink, RecordingMetrics } from '../../src/services/apply/metrics.js';
import type { StreamEntry } from '../../src/store/port.js';
import { FakeExchange } from '../helpers/fake-exchange.js';
import type { RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { govBody, makeHarness, p33Body } from '../services/apply/harness.js';
import { fleet, RECORDED_POSITIONS, type StreamSample } from './fixtures.js';

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'];
export const ALLOWLIST = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

/** The fleet's exchange at the start of the run. */
export const START_POSITIONS: Record<string, number> = { ...RECORDED_POSITIONS, XRPUSDT: 0 };
/** Marks that put the recorded stop prices on the closing side (long BTC, short ETH). */
export const MARKS = { BTCUSDT: 95_000, ETHUSDT: 3_000, SOLUSDT: 150 };
const STEP: Record<string, number> = { BTCUSDT: 0.001, ETHUSDT: 0.001, SOLUSDT: 1 };
const FRACTION: Record<string, number> = { PARTIAL_50: 0.5, PARTIAL_75: 0.75, FULL_CLOSE_PROPOSED: 1 };

export const entryMs = (e: StreamSample) => Number(e.id.split('-')[0]);

/** The positions after one of the fleet's results (its fills, as its apply reported them). */
export function applyFleetFill(positions: Record<string, number>, result: Record<string, string>): void {
  if (result.executed !== 'True') return;
  for (const step of JSON.parse(result.steps_results ?? '[]') as Record<string, unknown>[]) {
    const qty = Number(step.executed_qty ?? 0);
    if (!qty) continue;
    const symbol = result.symbol!;
    const next = positions[symbol]! + (step.side === 'BUY' ? qty : -qty);
    positions[symbol] = Math.round(next * 1e9) / 1e9;
  }
}

/** The permit bodies the fleet wrote for a plan id, as it wrote them (Python's json.dumps). */
function recordedBodies(planId: string): { governor?: string; p33?: string } {
  const out: { governor?: string; p33?: string } = {};
  for (const p of fleet.permits()) {
    if (p.key === `quantum:permit:${planId}`) out.governor = pyJsonDumps(p.body);
    else if (p.key === `quantum:permit:p33:${planId}`) out.p33 = pyJsonDumps(p.body);
  }
  return out;
}

export interface Replay {
  registry: Registry;
  recording: RecordingMetrics;
  plans: StreamEntry[];
  results: StreamEntry[];
  /** Unix seconds around the run. */
  started: number;
  ended: number;
  /** Plan ids whose permits were the fleet's own recorded bodies. */
  recordedPermits: string[];
}

export async function replayThroughApply(server: RedisServerHandle): Promise<Replay> {
  const registry = createRegistry();
  const recording = new RecordingMetrics(promSink(createApplyMetrics(registry), SYMBOLS));
  const exchange = new FakeExchange({ ...START_POSITIONS }, MARKS);
  const h = await makeHarness(
    { redisUrl: server.url, prefix: server.prefix() },
    // The recorded proposals are stamped long ago: freshness is not what is compared here.
    { symbols: SYMBOLS, allowlist: ALLOWLIST, maxProposalAgeSec: 10 * 365 * 86_400 },
    exchange,
    recording,
  );
  const decisionOf = new Map(fleet.planEntries().map((e) => [e.fields.plan_id!, e.fields.decision!]));
  const recordedPermits: string[] = [];
  const started = Date.now() / 1000;
  try {
    await h.service.start();
    let results = 0;
    for (const p of fleet.proposals()) {
      if (p.plan_id === null) {
        // No kill_score: the fleet made no plan of it; ours rejects it at parse.
        const before = recording.count('inputRejected');
        await h.writeProposal(p.symbol, p.fields);
        await until(() => recording.count('inputRejected') > before, 8000, 'input rejected');
        continue;
      }
      if (decisionOf.get(p.plan_id) === 'EXECUTE') {
        // The fleet's authorities: the Governor granted every EXECUTE plan, P3.3 allowed
        // while a position was open (its share, rounded down) and denied no_position once flat.
        const pos = (await exchange.position(p.symbol)).amount;
        const fraction = FRACTION[p.fields.harvest_action!] ?? 1;
        const step = STEP[p.symbol]!;
        const safe = Math.floor((Math.abs(pos) * fraction) / step + 1e-9) * step;
        const recorded = recordedBodies(p.plan_id);
        if (recorded.governor || recorded.p33) recordedPermits.push(p.plan_id);
        const p33 =
          recorded.p33 ??
          (pos === 0
            ? pyJsonDumps({
                allow: false,
                symbol: p.symbol,
                reason: 'no_position',
                context: { exchange_amt: 0 },
                created_at: 1796626463.0350988,
              })
            : p33Body(p.symbol, Number(safe.toFixed(3)), { exchange_position_amt: pos, ledger_amt: pos }));
        await h.setPermit('governor', p.plan_id, recorded.governor ?? govBody(p.symbol));
        await h.setPermit('p33', p.plan_id, p33);
      }
      await h.writeProposal(p.symbol, p.fields);
      await h.waitForResults(++results, 8000);
    }
    const [plans, res] = await Promise.all([h.plans(), h.results()]);
    return {
      registry,
      recording,
      plans,
      results: res,
      started,
      ended: Date.now() / 1000,
      recordedPermits,
    };
  } finally {
    await h.close();
  }
}
