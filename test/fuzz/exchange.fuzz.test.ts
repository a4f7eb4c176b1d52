/**
 * Exchange answers: the adapter's read and order paths behind a fake transport that answers
 * HTTP 200 with anything at all (near-valid Binance shapes with mutated fields, or any JSON).
 * Reads resolve with sane values or reject with ExchangeError (garbage → bad_response), never
 * another error; an order is reported filled/accepted only from an answer that parses and names
 * our client order id, and the order is never sent twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExchangeError } from '../../src/exchange/port.js';
import { Orders, SentIds } from '../../src/exchange/binance/orders.js';
import { Reads } from '../../src/exchange/binance/reads.js';
import type { CallOutcome, Transport } from '../../src/exchange/binance/transport.js';
import { jsonish, RUNS } from './arbitraries.js';

const decimalish = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('0.001', '1', '0', '-0.5', '60000.10', '9'.repeat(400)) },
  jsonish,
);
/** An object shaped like `model` where each field may be valid, mutated, or missing. */
const shaped = (model: Record<string, fc.Arbitrary<unknown>>) => fc.record(model, { requiredKeys: [] });

const filterArb = fc.oneof(
  shaped({
    filterType: fc.constant('LOT_SIZE'),
    minQty: decimalish,
    maxQty: decimalish,
    stepSize: decimalish,
  }),
  shaped({
    filterType: fc.constant('MARKET_LOT_SIZE'),
    minQty: decimalish,
    maxQty: decimalish,
    stepSize: decimalish,
  }),
  shaped({
    filterType: fc.constant('PRICE_FILTER'),
    tickSize: decimalish,
    minPrice: decimalish,
    maxPrice: decimalish,
  }),
  shaped({ filterType: fc.constant('MIN_NOTIONAL'), notional: decimalish }),
  jsonish,
);
const exchangeInfo = shaped({
  symbols: fc.array(
    fc.oneof(
      shaped({
        symbol: fc.oneof(fc.constant('BTCUSDT'), jsonish),
        status: fc.oneof(fc.constant('TRADING'), jsonish),
        filters: fc.oneof(fc.array(filterArb, { maxLength: 5 }), jsonish),
      }),
      jsonish,
    ),
    { maxLength: 3 },
  ),
});
const positionRow = shaped({
  symbol: fc.oneof(fc.constant('BTCUSDT'), jsonish),
  positionSide: fc.oneof(fc.constantFrom('BOTH', 'LONG', 'SHORT'), jsonish),
  positionAmt: decimalish,
  entryPrice: decimalish,
  markPrice: decimalish,
  unRealizedProfit: decimalish,
  leverage: decimalish,
  updateTime: fc.oneof(fc.nat(), jsonish),
});
const orderBody = shaped({
  orderId: fc.oneof(fc.nat(), jsonish),
  clientOrderId: fc.oneof({ weight: 3, arbitrary: fc.constant('qa-abc-CLOSE_FULL') }, jsonish),
  symbol: fc.oneof({ weight: 3, arbitrary: fc.constant('BTCUSDT') }, jsonish),
  side: fc.oneof({ weight: 3, arbitrary: fc.constant('SELL') }, fc.constant('BUY'), jsonish),
  status: fc.oneof(fc.constantFrom('FILLED', 'NEW', 'EXPIRED', 'CANCELED'), jsonish),
  origQty: decimalish,
  executedQty: decimalish,
  avgPrice: decimalish,
  reduceOnly: fc.oneof(fc.boolean(), jsonish),
});
const anyBody = (near: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 3, arbitrary: near }, fc.array(near, { maxLength: 2 }), jsonish);

/** A transport double: every call answers 200 with the next body from the list (then the last). */
function fakeTransport(bodies: unknown[]) {
  const calls: string[] = [];
  let i = 0;
  const t = {
    timeOffsetMs: 0,
    setTimeOffset(ms: number) {
      t.timeOffsetMs = ms;
    },
    serverNow: () => 1_000_000 + i,
    async call(method: string, path: string): Promise<CallOutcome> {
      calls.push(`${method} ${path}`);
      if (path === '/fapi/v1/time') return { kind: 'ok', status: 200, body: { serverTime: 1_000_000 } };
      const body = bodies[Math.min(i++, bodies.length - 1)];
      return { kind: 'ok', status: 200, body };
    },
  };
  return { t: t as unknown as Transport, calls };
}

const readOptions = {
  exchangeInfoTtlMs: 0,
  positionRiskVersion: 3 as const,
  readRetries: 0,
  retryBaseMs: 0,
  exchangeInfoMaxStaleMs: 0,
  now: () => 0,
  warn: () => {},
};

async function settle(p: Promise<unknown>): Promise<{ ok: true; v: unknown } | { ok: false; err: unknown }> {
  try {
    return { ok: true, v: await p };
  } catch (err) {
    return { ok: false, err };
  }
}

describe('fuzz: exchange answers', () => {
  it('when exchangeInfo, positionRisk and premiumIndex answer anything then reads return sane values or an ExchangeError', async () => {
    let values = 0;
    await fc.assert(
      fc.asyncProperty(
        anyBody(exchangeInfo),
        anyBody(positionRow),
        anyBody(jsonish),
        async (info, rows, mark) => {
          const { t } = fakeTransport([info]);
          const rules = await settle(new Reads(t, readOptions).symbolRules('BTCUSDT'));
          const pos = await settle(new Reads(fakeTransport([rows]).t, readOptions).positions(['BTCUSDT']));
          const px = await settle(new Reads(fakeTransport([mark]).t, readOptions).markPrice('BTCUSDT'));
          for (const r of [rules, pos, px]) {
            if (!r.ok) {
              expect(r.err).toBeInstanceOf(ExchangeError);
              expect((r.err as ExchangeError).reason).toMatch(/^[a-z0-9_]+$/);
            } else values++;
          }
          if (rules.ok) {
            const v = rules.v as { stepSize: string; tickSize: string; minPrice: string; maxPrice: string };
            expect(v.stepSize).toMatch(/^\d+(\.\d+)?$/);
            expect(v.tickSize).toMatch(/^\d+(\.\d+)?$/);
            expect(v.minPrice).toMatch(/^\d+(\.\d+)?$/);
            expect(v.maxPrice).toMatch(/^\d+(\.\d+)?$/);
          }
          if (pos.ok) {
            const [p] = pos.v as Array<{ amount: number; amountText: string }>;
            expect(Number.isNaN(p!.amount)).toBe(false);
          }
          if (px.ok) expect(px.v as number).toBeGreaterThan(0);
        },
      ),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_DEBUG) console.log('exchange.fuzz.test.ts values', values);
    expect(values).toBeGreaterThan(RUNS / 20);
  });

  it('when an order answer and the follow-up queries are anything then the outcome is never a throw, filled only from a parsed answer, and one POST', async () => {
    let filled = 0;
    await fc.assert(
      fc.asyncProperty(
        anyBody(orderBody),
        fc.array(anyBody(orderBody), { minLength: 1, maxLength: 2 }),
        async (post, gets) => {
          const { t, calls } = fakeTransport([post, ...gets]);
          const reads = new Reads(t, readOptions);
          let ms = 0;
          const orders = new Orders(t, reads, new SentIds(), {
            recvWindow: 0,
            recoveryDelaysMs: [0],
            recoveryBudgetMs: 0,
            absenceMarginMs: 0,
            // Each reading a millisecond on: the zero recovery budget is spent after one query.
            now: () => ms++,
            warn: () => {},
          });
          const out = await orders.placeReduceOnlyMarket({
            symbol: 'BTCUSDT',
            side: 'SELL',
            quantity: '0.001',
            clientOrderId: 'qa-abc-CLOSE_FULL',
          });
          expect(['filled', 'accepted', 'rejected', 'unknown']).toContain(out.kind);
          expect(calls.filter((c) => c === 'POST /fapi/v1/order')).toHaveLength(1);
          if (out.kind === 'filled' || out.kind === 'accepted') {
            filled++;
            expect(out.order.clientOrderId).toBe('qa-abc-CLOSE_FULL');
            expect(out.order.side).toBe('SELL');
            expect(out.order.symbol).toBe('BTCUSDT');
          } else expect(out.reason).toMatch(/^[a-z0-9_]+$/);
        },
      ),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_DEBUG) console.log('exchange.fuzz.test.ts filled', filled);
    expect(filled).toBeGreaterThan(RUNS / 1000);
    // Answers that send the adapter into recovery wait a real timer tick each: ~12 s at 10,000.
  }, 120_000);
});
