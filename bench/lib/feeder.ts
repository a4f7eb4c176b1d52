/**
 * The pipeline bench's feeder and stopwatch, in the bench process beside the paper exchange, so
 * both ends of "proposal written → order at the exchange" are stamped on one clock.
 *
 * Paced proposal writes (HSET, a new computed_at_utc each time, so each write is a new plan) over
 * many symbols, at most one plan in flight per symbol: a symbol is busy from its HSET until its
 * result entry is read from the result stream. Orders are timed where the paper exchange books
 * the fill.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { PaperExchange, PaperFill } from '../../src/exchange/paper/index.js';
import { keySpace } from '../../src/store/keys.js';
import { sleep } from '../../test/helpers/wait.js';

interface InFlight {
  t0: number;
  measured: boolean;
  filled: boolean;
}

export interface PhaseStats {
  rate: number;
  seconds: number;
  /** Proposals written in the measured window. */
  written: number;
  /** Results read in the measured window, by decision (EXECUTE = an order went out). */
  results: Record<string, number>;
  /** Non-EXECUTE results by error text (first few). */
  errors: Record<string, number>;
  /** Proposal → order (ms) of proposals written in the window. */
  latencies: number[];
  /** Plans of the window slower than 20 ms: when written (performance.now(), ms) and how slow. */
  slow: Array<{ at: number; ms: number }>;
  /** Proposals owed by the pacer but not written because every symbol was busy (at the end). */
  backlog: number;
  /** Plans written in the window still without a result after the drain. */
  unfinished: number;
}

const ACTIONS = 'PARTIAL_50';

export class Feeder {
  private readonly writer: Redis;
  private readonly reader: Redis;
  private readonly keys = keySpace();
  private readonly idle: string[];
  private readonly inFlight = new Map<string, InFlight>();
  private seq = 0;
  private lastResultId = '$';
  private reading = false;
  private readLoop: Promise<void> | null = null;
  private window: PhaseStats | null = null;
  private measuring = false;

  constructor(redisUrl: string, paper: PaperExchange, symbols: readonly string[]) {
    this.writer = new Redis(redisUrl, { enableAutoPipelining: false });
    this.reader = new Redis(redisUrl);
    this.idle = [...symbols];
    const state = paper.state;
    const book = state.applyFill.bind(state);
    state.applyFill = (fill: PaperFill) => {
      book(fill);
      this.onFill(fill.symbol);
    };
  }

  async start(): Promise<void> {
    const last = (await this.reader.xrevrange(this.keys.resultStream(), '+', '-', 'COUNT', 1))[0];
    this.lastResultId = last?.[0] ?? '0-0';
    this.reading = true;
    this.readLoop = this.readResults();
  }

  async close(): Promise<void> {
    this.reading = false;
    this.reader.disconnect();
    await this.readLoop?.catch(() => {});
    await this.writer.quit();
  }

  private onFill(symbol: string): void {
    const f = this.inFlight.get(symbol);
    if (!f || f.filled) return;
    f.filled = true;
    if (!f.measured || !this.window) return;
    const ms = performance.now() - f.t0;
    this.window.latencies.push(ms);
    if (ms > 20) this.window.slow.push({ at: f.t0, ms });
  }

  private async readResults(): Promise<void> {
    const stream = this.keys.resultStream();
    while (this.reading) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await this.reader.xread(
          'COUNT',
          5000,
          'BLOCK',
          500,
          'STREAMS',
          stream,
          this.lastResultId,
        )) as [string, [string, string[]][]][] | null;
      } catch {
        if (!this.reading) return;
        await sleep(50);
        continue;
      }
      for (const [id, flat] of reply?.[0]?.[1] ?? []) {
        this.lastResultId = id;
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        const symbol = fields.symbol ?? '';
        const f = this.inFlight.get(symbol);
        if (!f) continue;
        this.inFlight.delete(symbol);
        this.idle.push(symbol);
        if (this.window && this.measuring) {
          const d = fields.decision ?? '?';
          this.window.results[d] = (this.window.results[d] ?? 0) + 1;
          if (d !== 'EXECUTE') {
            const e = (fields.error ?? '').slice(0, 60) || '(none)';
            this.window.errors[e] = (this.window.errors[e] ?? 0) + 1;
          }
        }
      }
    }
  }

  private proposal(): Record<string, string> {
    const seq = this.seq++;
    const now = Date.now();
    const iso = new Date(now).toISOString().slice(0, 23);
    return {
      harvest_action: ACTIONS,
      kill_score: '0.3',
      k_regime_flip: '0',
      k_sigma_spike: '0',
      k_ts_drop: '0',
      k_age_penalty: '0',
      new_sl_proposed: '',
      R_net: '1.5',
      last_update_epoch: String(Math.floor(now / 1000)),
      computed_at_utc: `${iso}${String(seq % 1000).padStart(3, '0')}+00:00`,
      reason_codes: 'bench',
    };
  }

  /**
   * Writes proposals at `rate`/s for `warmupSec + seconds`; only the last `seconds` are measured.
   * Then waits up to `drainMs` for the measured plans to finish.
   */
  async run(rate: number, seconds: number, warmupSec: number, hooks: PhaseHooks = {}): Promise<PhaseStats> {
    const stats: PhaseStats = {
      rate,
      seconds,
      written: 0,
      results: {},
      errors: {},
      latencies: [],
      slow: [],
      backlog: 0,
      unfinished: 0,
    };
    const start = performance.now();
    const windowStart = start + warmupSec * 1000;
    const end = windowStart + seconds * 1000;
    let sent = 0;
    let inWindow = false;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (!inWindow && now >= windowStart) {
          inWindow = true;
          this.window = stats;
          this.measuring = true;
          hooks.windowStart?.();
        }
        if (now >= end) {
          clearInterval(timer);
          this.measuring = false;
          hooks.windowEnd?.();
          stats.backlog = Math.floor(((now - start) * rate) / 1000) - sent;
          resolve();
          return;
        }
        const due = Math.floor(((now - start) * rate) / 1000) - sent;
        const n = Math.min(due, this.idle.length);
        if (n <= 0) return;
        const p = this.writer.pipeline();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const symbol = this.idle.shift()!;
          this.inFlight.set(symbol, { t0, measured: inWindow, filled: false });
          p.hset(this.keys.proposal(symbol), this.proposal());
        }
        sent += n;
        if (inWindow) stats.written += n;
        void p.exec();
      };
      const timer = setInterval(tick, 1);
    });
    const drainUntil = performance.now() + (hooks.drainMs ?? 5000);
    while (performance.now() < drainUntil && [...this.inFlight.values()].some((f) => f.measured)) {
      await sleep(20);
    }
    stats.unfinished = [...this.inFlight.values()].filter((f) => f.measured).length;
    // Whatever is still in flight belongs to no window from here on.
    for (const f of this.inFlight.values()) f.measured = false;
    this.window = null;
    return stats;
  }

  /** Waits until no plan is in flight (between phases), up to `ms`. */
  async settle(ms = 5000): Promise<number> {
    const until = performance.now() + ms;
    while (this.inFlight.size > 0 && performance.now() < until) await sleep(20);
    const left = this.inFlight.size;
    // Lost plans (no result): free their symbols so the next phase is not starved by them.
    for (const s of this.inFlight.keys()) this.idle.push(s);
    this.inFlight.clear();
    return left;
  }
}

export interface PhaseHooks {
  windowStart?: () => void;
  windowEnd?: () => void;
  drainMs?: number;
}

/** Plans slower than 20 ms grouped by when they were written (gaps over 250 ms split groups). */
export function slowClusters(stats: PhaseStats): string {
  const slow = [...stats.slow].sort((a, b) => a.at - b.at);
  if (slow.length === 0) return 'none';
  const groups: { start: number; last: number; n: number; worst: number }[] = [];
  for (const p of slow) {
    const g = groups.at(-1);
    if (g && p.at - g.last < 250) {
      g.n++;
      g.last = p.at;
      g.worst = Math.max(g.worst, p.ms);
    } else groups.push({ start: p.at, last: p.at, n: 1, worst: p.ms });
  }
  const t0 = groups[0]!.start;
  return groups
    .map((g) => `+${((g.start - t0) / 1000).toFixed(2)}s ×${g.n} (worst ${g.worst.toFixed(0)} ms)`)
    .join(', ');
}
