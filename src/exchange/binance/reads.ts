/**
 * Read-side of the adapter: server-time offset, exchangeInfo cache with TTL refresh, positions
 * (real `positionRisk` fields only) and mark prices. Reads are idempotent, so a read that got no
 * answer or a plain 5XX is retried with backoff (bounded); -1021 re-syncs the clock once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { ExchangeError, type Position, type SymbolRules } from '../port.js';
import { maxDecimal, compareDecimal } from '../../domain/decimal.js';
import { backoffMs } from '../../ops/backoff.js';
import { reasonFor } from './errors.js';
import { positionRiskParser } from './position-rows.js';
import * as s from './schemas.js';
import type { BinancePositionRow } from './schemas.js';
import type { CallOutcome, Params, Transport } from './transport.js';

/** What `get` validates an answer with: a zod schema, or a hand-written parser of the same shape. */
export interface Parser<T> {
  safeParse(body: unknown): { success: true; data: T } | { success: false };
}

export interface ReadOptions {
  exchangeInfoTtlMs: number;
  positionRiskVersion: 2 | 3;
  readRetries: number;
  retryBaseMs: number;
  /** How long cached rules may serve past their TTL while exchangeInfo cannot be fetched. */
  exchangeInfoMaxStaleMs: number;
  now(): number;
  warn(fields: Record<string, unknown>, msg: string): void;
}

/** What one positionRisk read says of a symbol. */
export type PositionLookup = (symbol: string) => Position | ExchangeError;

export class Reads {
  private rules = new Map<string, SymbolRules>();
  private rulesFetchedAt = -Infinity;
  /** The exchangeInfo fetch in progress: concurrent callers share it (one request, not one each). */
  private refreshing: Promise<void> | null = null;
  private timeSyncedAt = -Infinity;

  constructor(
    private readonly t: Transport,
    private readonly opts: ReadOptions,
  ) {}

  async syncTime(): Promise<number> {
    const before = this.opts.now();
    const body = await this.get('/fapi/v1/time', {}, false, s.serverTimeSchema, false);
    const after = this.opts.now();
    this.t.setTimeOffset(Math.round(body.serverTime - (before + after) / 2));
    this.timeSyncedAt = this.opts.now();
    return this.t.timeOffsetMs;
  }

  /** Syncs the clock before the first signed call and every 30 minutes after. */
  async ensureTimeSynced(): Promise<void> {
    if (this.opts.now() - this.timeSyncedAt > 30 * 60_000) await this.syncTime();
  }

  async get<T>(
    path: string,
    params: Params,
    signed: boolean,
    schema: Parser<T>,
    syncFirst = true,
    /** A recovery query: may spend the weight other calls leave (Transport.budgetSpent). */
    recovery = false,
  ): Promise<T> {
    if (signed && syncFirst) await this.ensureTimeSynced();
    let resynced = false;
    for (let attempt = 0; ; attempt++) {
      const out = await this.t.call('GET', path, params, { signed, recovery });
      if (out.kind === 'ok') {
        const parsed = schema.safeParse(out.body);
        if (!parsed.success) throw new ExchangeError('bad_response', `unexpected answer from ${path}`);
        return parsed.data;
      }
      if (out.kind === 'http_error' && out.code === -1021 && signed && !resynced) {
        resynced = true;
        await this.syncTime();
        continue;
      }
      const retryable =
        out.kind === 'no_response' ||
        (out.kind === 'http_error' && (out.status >= 500 || out.status === 408));
      if (retryable && attempt < this.opts.readRetries) {
        await sleep(backoffMs(attempt, { minMs: this.opts.retryBaseMs }));
        continue;
      }
      throw failureOf(out, path);
    }
  }

  async symbolRules(symbol: string): Promise<SymbolRules> {
    const stale = this.opts.now() - this.rulesFetchedAt > this.opts.exchangeInfoTtlMs;
    if (stale || !this.rules.has(symbol)) {
      // An unknown symbol refreshes at most once a minute (a listing may be new).
      if (stale || this.opts.now() - this.rulesFetchedAt > 60_000) {
        try {
          await this.refreshRules();
        } catch (err) {
          // Filters change rarely and with notice: a blip in exchangeInfo should not stop trading
          // on the rules we already have, for a bounded time.
          const age = this.opts.now() - this.rulesFetchedAt;
          if (!this.rules.has(symbol) || age > this.opts.exchangeInfoMaxStaleMs) throw err;
          this.opts.warn(
            { symbol, ageMs: age, err: String(err) },
            'exchangeInfo refresh failed; using cached rules',
          );
        }
      }
    }
    const rules = this.rules.get(symbol);
    if (!rules) throw new ExchangeError('invalid_symbol', `symbol ${symbol} is not listed`, -1121);
    return rules;
  }

  refreshRules(): Promise<void> {
    this.refreshing ??= this.fetchRules().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async fetchRules(): Promise<void> {
    const info = await this.get('/fapi/v1/exchangeInfo', {}, false, s.exchangeInfoSchema);
    const next = new Map<string, SymbolRules>();
    for (const sym of info.symbols) {
      if (sym.status !== 'TRADING') continue;
      const rules = toRules(sym.symbol, sym.filters);
      if (rules) next.set(sym.symbol, rules);
    }
    this.rules = next;
    this.rulesFetchedAt = this.opts.now();
  }

  /** Every symbol's position, or the first symbol's error (hedge mode) for all of them. */
  async positions(symbols: string[]): Promise<Position[]> {
    const of = symbols.length === 1 ? await this.positionRead(symbols[0]!) : await this.positionRead();
    return symbols.map((symbol) => positionOrThrow(of(symbol)));
  }

  /**
   * One positionRisk read, of one symbol or of the whole account (the same weight, 5). Answers any
   * symbol the read covered: its position, or its own error (hedge mode). A failed read throws.
   */
  async positionRead(symbol?: string): Promise<PositionLookup> {
    const path = `/fapi/v${this.opts.positionRiskVersion}/positionRisk`;
    const params: Params = symbol === undefined ? {} : { symbol };
    const rows = await this.get(path, params, true, positionRiskParser);
    const bySymbol = groupBySymbol(rows);
    return (s) =>
      symbol !== undefined && s !== symbol
        ? new ExchangeError('bad_response', `a read of ${symbol} does not cover ${s}`)
        : positionOf(s, bySymbol.get(s) ?? []);
  }

  /**
   * Every position of the account in one read (the user stream's reconciliation): one-way rows,
   * and the symbols in hedge mode, which must never be taken for flat.
   */
  async accountRead(): Promise<{ positions: Position[]; hedged: string[] }> {
    const path = `/fapi/v${this.opts.positionRiskVersion}/positionRisk`;
    const rows = await this.get(path, {}, true, positionRiskParser);
    const bySymbol = groupBySymbol(rows);
    const positions: Position[] = [];
    const hedged: string[] = [];
    for (const [symbol, mine] of bySymbol) {
      const p = positionOf(symbol, mine);
      if (p instanceof ExchangeError) hedged.push(symbol);
      else positions.push(p);
    }
    return { positions, hedged };
  }

  async markPrice(symbol: string): Promise<number> {
    const body = await this.get('/fapi/v1/premiumIndex', { symbol }, false, s.premiumIndexSchema);
    if (body.symbol !== symbol || !(body.markPrice > 0))
      throw new ExchangeError('bad_response', `no mark price for ${symbol}`);
    return body.markPrice;
  }
}

/** Rows grouped once: a filter per symbol was O(symbols × rows) (1,000 × 1,006 per P3.3 refresh). */
function groupBySymbol(rows: BinancePositionRow[]): Map<string, BinancePositionRow[]> {
  const bySymbol = new Map<string, BinancePositionRow[]>();
  for (const r of rows) {
    const list = bySymbol.get(r.symbol);
    if (list) list.push(r);
    else bySymbol.set(r.symbol, [r]);
  }
  return bySymbol;
}

/** A call that did not answer 200, as the ExchangeError every read throws for it. */
export function failureOf(out: Exclude<CallOutcome, { kind: 'ok' }>, path: string): ExchangeError {
  if (out.kind === 'http_error')
    return new ExchangeError(
      reasonFor(out.status, out.code),
      out.message || `HTTP ${out.status} from ${path}`,
      out.code,
      out.status,
    );
  if (out.kind === 'not_sent')
    return new ExchangeError(
      out.cause === 'connection_refused' ? 'exchange_unreachable' : out.cause,
      out.message,
    );
  return new ExchangeError(
    out.cause === 'timeout' ? 'exchange_timeout' : 'exchange_unreachable',
    out.message,
  );
}

/** A flat one-way position: what the exchange reports for a symbol it lists no position of. */
export function flatPosition(symbol: string): Position {
  return {
    symbol,
    amount: 0,
    amountText: '0',
    entryPrice: 0,
    markPrice: 0,
    unrealizedPnl: 0,
    leverage: null,
    updateTime: 0,
  };
}

/** A lookup's answer as a position, its error thrown. */
export function positionOrThrow(p: Position | ExchangeError): Position {
  if (p instanceof ExchangeError) throw p;
  return p;
}

/** A symbol's position from its positionRisk rows (one-way mode: one BOTH row; v3 omits flat symbols). */
function positionOf(symbol: string, mine: BinancePositionRow[]): Position | ExchangeError {
  const row = mine.find((r) => (r.positionSide ?? 'BOTH') === 'BOTH');
  if (!row && mine.length > 0) {
    // Hedge mode (LONG/SHORT rows): reading it as flat would be a lie; the adapter is one-way only.
    return new ExchangeError(
      'hedge_mode_unsupported',
      `${symbol} is in hedge mode; one-way mode is required`,
    );
  }
  if (!row) return flatPosition(symbol);
  return {
    symbol,
    amount: Number(row.positionAmt),
    amountText: row.positionAmt,
    entryPrice: row.entryPrice,
    markPrice: row.markPrice,
    unrealizedPnl: row.unRealizedProfit,
    leverage: row.leverage ?? null,
    updateTime: row.updateTime ?? 0,
  };
}

function filterOf<T extends z.ZodTypeAny>(
  filters: Array<{ filterType: string }>,
  type: string,
  schema: T,
): z.infer<T> | null {
  const f = filters.find((x) => x.filterType === type);
  if (!f) return null;
  const parsed = schema.safeParse(f);
  return parsed.success ? parsed.data : null;
}

/**
 * Rules for MARKET orders. Binance applies MARKET_LOT_SIZE to them; we take the stricter of it
 * and LOT_SIZE (coarser step, larger minimum, smaller maximum) so a quantity valid here is
 * valid under both, whatever the exchange checks.
 */
export function toRules(symbol: string, filters: Array<{ filterType: string }>): SymbolRules | null {
  const lot = filterOf(filters, 'LOT_SIZE', s.lotFilterSchema);
  const market = filterOf(filters, 'MARKET_LOT_SIZE', s.lotFilterSchema);
  const price = filterOf(filters, 'PRICE_FILTER', s.priceFilterSchema);
  const notional = filterOf(filters, 'MIN_NOTIONAL', s.notionalFilterSchema);
  const lots = [lot, market].filter(
    (x): x is z.infer<typeof s.lotFilterSchema> => x !== null && Number(x.stepSize) > 0,
  );
  // A tick of zero or below cannot place a price on a grid (fuzz-found: '-0.5' was accepted).
  if (lots.length === 0 || !price || !(Number(price.tickSize) > 0) || !priceBoundsValid(price)) return null;
  const stepSize = lots.map((l) => l.stepSize).reduce(maxDecimal);
  const minQty = lots.map((l) => l.minQty).reduce(maxDecimal);
  const maxQty = lots.map((l) => l.maxQty).reduce((a, b) => (compareDecimal(a, b) <= 0 ? a : b));
  return {
    symbol,
    stepSize,
    minQty,
    maxQty,
    tickSize: price.tickSize,
    minPrice: price.minPrice,
    maxPrice: price.maxPrice,
    minNotional: notional?.notional ?? '0',
  };
}

/**
 * minPrice and maxPrice ≥ 0, and max ≥ min when both bound. A zero disables that bound: Binance's
 * USDⓈ-M docs, Common Definition → Filters → PRICE_FILTER ("disabled on minPrice == 0").
 */
function priceBoundsValid(f: z.infer<typeof s.priceFilterSchema>): boolean {
  const min = compareDecimal(f.minPrice, '0');
  const max = compareDecimal(f.maxPrice, '0');
  return min >= 0 && max >= 0 && (min === 0 || max === 0 || compareDecimal(f.maxPrice, f.minPrice) >= 0);
}
