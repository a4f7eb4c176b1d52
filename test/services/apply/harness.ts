/**
 * Test harness for the apply service: a store (private Redis or memory), the recording exchange
 * double, captured logs and metrics, and helpers that act like the fleet (proposal writer,
 * authorities writing permits with plain SETEX from their own connection).
 */
import { Redis } from 'ioredis';
import { parseProposal } from '../../../src/domain/proposal.js';
import { planIdOf } from '../../../src/domain/plan.js';
import { captureLogger, type CapturedLogger } from '../../../src/ops/logger.js';
import { systemClock } from '../../../src/ops/clock.js';
import { ApplyService } from '../../../src/services/apply/service.js';
import { RecordingMetrics } from '../../../src/services/apply/metrics.js';
import type { ApplyOptions } from '../../../src/services/apply/options.js';
import { createStore } from '../../../src/store/index.js';
import type { Store, StreamEntry } from '../../../src/store/port.js';
import type { ExchangePort } from '../../../src/exchange/port.js';
import { freshComputedAt } from '../../helpers/decide.js';
import { FakeExchange } from '../../helpers/fake-exchange.js';
import { until } from '../../helpers/wait.js';

export const BASE_OPTIONS: ApplyOptions = {
  mode: 'testnet',
  symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
  allowlist: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
  pollSec: 0.05,
  dedupeTtlSec: 21600,
  maxProposalAgeSec: 300,
  kBlockCritical: 0.8,
  kBlockWarning: 0.6,
  killSwitch: false,
  permitWaitMs: 250,
  permitStepMs: 50,
  requiredAuthorities: ['governor', 'p33'],
  hasCredentials: true,
  retryMinMs: 20,
  retryMaxMs: 200,
};

export function planIdFor(symbol: string, fields: Record<string, string>): string {
  const p = parseProposal(symbol, fields);
  if (!p.ok) throw new Error(`test proposal does not parse: ${p.reason}`);
  return planIdOf(p.proposal);
}

export function proposal(action: string, killScore: string, extra: Record<string, string> = {}) {
  return {
    harvest_action: action,
    kill_score: killScore,
    k_regime_flip: '0.1',
    k_sigma_spike: '0.2',
    k_ts_drop: '0.0',
    k_age_penalty: '0.05',
    new_sl_proposed: '',
    R_net: '1.5',
    last_update_epoch: '1769300000',
    computed_at_utc: freshComputedAt(),
    reason_codes: 'a,b',
    ...extra,
  };
}

/** A plan entry's fields as the fleet writes them, in order (PROTOCOL.md "Plan stream entry"). */
export const PLAN_ENTRY_FIELDS = [
  'plan_id',
  'symbol',
  'action',
  'kill_score',
  'k_regime_flip',
  'k_sigma_spike',
  'k_ts_drop',
  'k_age_penalty',
  'new_sl_proposed',
  'R_net',
  'decision',
  'reason_codes',
  'steps',
  'close_qty',
  'price',
  'timestamp',
];

export const govBody = (symbol: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    granted: true,
    symbol,
    decision: 'EXECUTE',
    computed_qty: 0.01,
    computed_notional: 500.0,
    created_at: 1769300000.5,
    consumed: false,
    ...extra,
  });

/** The positions makeHarness' exchange double starts with. */
export const HARNESS_POSITIONS: Readonly<Record<string, number>> = {
  BTCUSDT: 0.01,
  ETHUSDT: -0.5,
  SOLUSDT: 3,
};

/** A P3.3 allow as the fleet writes it; the position it saw is the harness's unless given. */
export const p33Body = (symbol: string, safe: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    allow: true,
    symbol,
    safe_close_qty: safe,
    exchange_position_amt: HARNESS_POSITIONS[symbol] ?? 0.01,
    ledger_amt: HARNESS_POSITIONS[symbol] ?? 0.01,
    created_at: 1769300000.5,
    reason: 'sanity_checks_passed',
    ...extra,
  });

export interface Harness {
  store: Store;
  exchange: FakeExchange;
  log: CapturedLogger;
  metrics: RecordingMetrics;
  service: ApplyService;
  opts: ApplyOptions;
  /** Starts a fresh service instance over the same store (a restart). */
  restartService(over?: Partial<ApplyOptions>): Promise<void>;
  writeProposal(symbol: string, fields: Record<string, string>): Promise<void>;
  /** Like the fleet: plain SETEX from a separate connection (memory: store.set with TTL). */
  setPermit(authority: 'governor' | 'p33', planId: string, body: string, ttlSec?: number): Promise<void>;
  plans(): Promise<StreamEntry[]>;
  results(): Promise<StreamEntry[]>;
  waitForResults(n: number, timeoutMs?: number): Promise<StreamEntry[]>;
  close(): Promise<void>;
}

export async function makeHarness(
  backend: { redisUrl: string; prefix: string } | 'memory',
  over: Partial<ApplyOptions> = {},
  exchange: FakeExchange = new FakeExchange({ ...HARNESS_POSITIONS }),
  metrics: RecordingMetrics = new RecordingMetrics(),
): Promise<Harness> {
  const store =
    backend === 'memory'
      ? await createStore({ memory: true })
      : await createStore({ url: backend.redisUrl, prefix: backend.prefix, commandTimeout: 1000 });
  const fleet = backend === 'memory' ? null : new Redis(backend.redisUrl);
  fleet?.on('error', () => {}); // outage tests: the fleet's connection reconnects like ours
  const log = captureLogger({ level: 'debug' });
  let opts: ApplyOptions = { ...BASE_OPTIONS, ...over };
  const build = (ex: ExchangePort) =>
    new ApplyService({ store, exchange: ex, clock: systemClock, logger: log.logger, metrics }, opts);
  const h: Harness = {
    store,
    exchange,
    log,
    metrics,
    opts,
    service: build(exchange),
    async restartService(o = {}) {
      await h.service.stop();
      opts = { ...opts, ...o };
      h.opts = opts;
      h.service = build(exchange);
      await h.service.start();
    },
    async writeProposal(symbol, fields) {
      const key = store.keys.proposal(symbol);
      if (fleet) {
        await fleet.del(key);
        await fleet.hset(key, fields);
      } else {
        await store.del([key]);
        await store.hset(key, fields);
      }
    },
    async setPermit(authority, planId, body, ttlSec = 60) {
      const key = store.keys.permit(authority, planId);
      if (fleet) await fleet.setex(key, ttlSec, body);
      else await store.set(key, body, { ttlSec });
    },
    plans: () => store.xrange(store.keys.planStream(), '-', '+'),
    results: () => store.xrange(store.keys.resultStream(), '-', '+'),
    async waitForResults(n, timeoutMs = 5000) {
      return until(
        async () => {
          const r = await h.results();
          return r.length >= n && r;
        },
        timeoutMs,
        `${n} results`,
        10,
      );
    },
    async close() {
      await h.service.stop();
      await store.close();
      fleet?.disconnect();
    },
  };
  return h;
}

/** Lines whose msg starts with `prefix`. */
export function logLines(log: CapturedLogger, prefix: string): Record<string, unknown>[] {
  return log.lines().filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith(prefix));
}
