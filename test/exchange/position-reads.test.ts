import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PositionReads, type PositionReadsOptions } from '../../src/exchange/binance/position-reads.js';
import type { PositionLookup } from '../../src/exchange/binance/reads.js';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { ExchangeError, type Position } from '../../src/exchange/port.js';
import { adapterFor } from './adapter-setup.js';
import { KEY, SECRET } from './paper-client.js';

const pos = (symbol: string, amount: number): Position => ({
  symbol,
  amount,
  amountText: String(amount),
  entryPrice: 1,
  markPrice: 1,
  unrealizedPnl: 0,
  leverage: null,
  updateTime: 0,
});

/** A read that answers when told to, recording what it was asked (a symbol, or the account: '*') and when. */
function fakeExchange(amounts: Record<string, number>) {
  const reads: Array<{ symbols: string[]; at: number; answer(): void; fail(e: unknown): void }> = [];
  const read = (symbol?: string) =>
    new Promise<PositionLookup>((resolve, reject) => {
      reads.push({
        symbols: [symbol ?? '*'],
        at: Date.now(),
        answer: () =>
          resolve((s) =>
            symbol !== undefined && s !== symbol
              ? new ExchangeError('bad_response', 'not covered')
              : s === 'HEDGEUSDT'
                ? new ExchangeError('hedge_mode_unsupported', 'hedge')
                : pos(s, amounts[s] ?? 0),
          ),
        fail: reject,
      });
    });
  return { reads, read };
}

function readsWith(
  o: Partial<PositionReadsOptions> & Pick<PositionReadsOptions, 'read'>,
  used: { w: number | null },
) {
  return new PositionReads({
    weightUsed: () => used.w,
    weightAllowed: 2280,
    msLeftInMinute: () => 30_000,
    now: () => Date.now(),
    shareFromWeight: 960,
    ...o,
  });
}

/** Lets pending promise callbacks and zero-delay timers run. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('position reads under the weight budget (unit, fake exchange and timers)', () => {
  afterEach(() => void vi.useRealTimers());

  it('when the minute has weight to spare then every call is its own read of its symbol, sent at once', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2 });
    const pr = readsWith({ read: fx.read }, { w: 100 });
    const a = pr.position('BTCUSDT');
    const b = pr.position('ETHUSDT');
    expect(fx.reads.map((r) => r.symbols)).toEqual([['BTCUSDT'], ['ETHUSDT']]);
    fx.reads.forEach((r) => r.answer());
    expect((await a).amount).toBe(0.5);
    expect((await b).amount).toBe(-2);
    expect(pr.stats.shared).toBe(0);
  });

  it('when the weight used reaches the threshold then calls waiting together share one read of the account', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2 });
    const shares: number[] = [];
    const pr = readsWith({ read: fx.read, onShare: (w) => shares.push(w) }, { w: 960 });
    const calls = [pr.position('BTCUSDT'), pr.position('ETHUSDT'), pr.position('BTCUSDT')];
    expect(fx.reads).toHaveLength(0);
    await settle();
    expect(fx.reads.map((r) => r.symbols)).toEqual([['*']]);
    fx.reads[0]!.answer();
    expect((await Promise.all(calls)).map((p) => [p.symbol, p.amount])).toEqual([
      ['BTCUSDT', 0.5],
      ['ETHUSDT', -2],
      ['BTCUSDT', 0.5],
    ]);
    expect(pr.stats).toEqual({ shared: 1, served: 3 });
    expect(shares).toEqual([960]);
  });

  it('when a call comes while a shared read is in flight then a later read serves it, one that started after the call', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2 });
    const pr = readsWith({ read: fx.read }, { w: 1280 });
    const first = pr.position('BTCUSDT');
    await settle();
    expect(fx.reads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10);
    const calledAt = Date.now();
    let lateDone = false;
    const late = pr.position('ETHUSDT').then((p) => ((lateDone = true), p));
    fx.reads[0]!.answer();
    await first;
    await settle();
    expect(lateDone).toBe(false);
    // 1,000 weight left, 30 s left in the minute: 3 × 5 × 30,000 / 1,000 = 450 ms between starts.
    expect(pr.intervalMs()).toBe(450);
    await vi.advanceTimersByTimeAsync(449 - 10);
    expect(fx.reads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fx.reads).toHaveLength(2);
    expect(fx.reads[1]!.symbols).toEqual(['ETHUSDT']);
    expect(fx.reads[1]!.at).toBeGreaterThanOrEqual(calledAt);
    expect(fx.reads[1]!.at - fx.reads[0]!.at).toBe(450);
    fx.reads[1]!.answer();
    expect((await late).amount).toBe(-2);
  });

  it('when the weight left shrinks then shared reads are spaced wider, within 250 ms and 2 s', () => {
    const used = { w: 0 as number | null };
    const pr = readsWith({ read: fakeExchange({}).read }, used);
    used.w = 2180; // 100 left: 3 × 5 × 30,000 / 100 = 4,500 → 2,000
    expect(pr.intervalMs()).toBe(2000);
    used.w = 2400; // past the allowed weight
    expect(pr.intervalMs()).toBe(2000);
    used.w = 0; // 2,280 left: 197 ms → 250
    expect(pr.intervalMs()).toBe(250);
  });

  it('when a shared read fails then every call it was to serve fails with its error; a symbol in hedge mode fails alone', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5 });
    const pr = readsWith({ read: fx.read }, { w: 2000 });
    const a = pr.position('BTCUSDT');
    const b = pr.position('ETHUSDT');
    await settle();
    fx.reads[0]!.fail(new ExchangeError('exchange_unavailable', '502'));
    await expect(a).rejects.toMatchObject({ reason: 'exchange_unavailable' });
    await expect(b).rejects.toMatchObject({ reason: 'exchange_unavailable' });
    const c = pr.position('BTCUSDT');
    const d = pr.position('HEDGEUSDT');
    await vi.advanceTimersByTimeAsync(2000);
    fx.reads[1]!.answer();
    expect((await c).amount).toBe(0.5);
    await expect(d).rejects.toMatchObject({ reason: 'hedge_mode_unsupported' });
  });

  it('when the minute rolls over (no weight known) then calls are their own reads again', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5 });
    const used = { w: 2000 as number | null };
    const pr = readsWith({ read: fx.read }, used);
    const a = pr.position('BTCUSDT');
    await settle();
    fx.reads[0]!.answer();
    await a;
    used.w = null;
    const b = pr.position('BTCUSDT');
    expect(fx.reads).toHaveLength(2);
    fx.reads[1]!.answer();
    await b;
    expect(pr.stats.shared).toBe(1);
  });

  it('when a caller accepts an age then the last account-wide read answers it at once; a caller that does not waits for a new read', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2 });
    const pr = readsWith({ read: fx.read }, { w: 1500 });
    const shared = [pr.position('BTCUSDT'), pr.position('ETHUSDT')];
    await settle();
    const readAt = fx.reads[0]!.at;
    fx.reads[0]!.answer();
    await Promise.all(shared);
    await vi.advanceTimersByTimeAsync(500);
    // SOLUSDT was in no call: the account's read covers it (v3 leaves flat symbols out). The
    // answer says how old its read is (an age: the caller's clock may not be the adapter's).
    const ageMs = Date.now() - readAt;
    expect(ageMs).toBeGreaterThanOrEqual(500);
    expect(await pr.position('SOLUSDT', 1000)).toMatchObject({ amount: 0, ageMs });
    expect(await pr.position('ETHUSDT', 1000)).toMatchObject({ amount: -2, ageMs });
    expect(fx.reads).toHaveLength(1);
    const fresh = pr.position('ETHUSDT');
    await vi.advanceTimersByTimeAsync(2000);
    expect(fx.reads).toHaveLength(2);
    fx.reads[1]!.answer();
    expect((await fresh).ageMs).toBeUndefined();
    await vi.advanceTimersByTimeAsync(501); // the account read is now 1,001 ms old
    const late = pr.position('BTCUSDT', 1000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fx.reads).toHaveLength(3);
    fx.reads[2]!.answer();
    await late;
  });

  it('when a shared read named one symbol then it answers no other symbol from the cache', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({ BTCUSDT: 0.5, ETHUSDT: -2 });
    const pr = readsWith({ read: fx.read }, { w: 1500 });
    const one = pr.position('BTCUSDT');
    await settle();
    fx.reads[0]!.answer();
    await one;
    const other = pr.position('ETHUSDT', 1000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fx.reads.map((r) => r.symbols)).toEqual([['BTCUSDT'], ['ETHUSDT']]);
    fx.reads[1]!.answer();
    expect((await other).amount).toBe(-2);
  });

  it('when the adapter closes then calls waiting for a shared read fail instead of hanging', async () => {
    vi.useFakeTimers();
    const fx = fakeExchange({});
    const pr = readsWith({ read: fx.read }, { w: 2000 });
    const a = pr.position('BTCUSDT');
    pr.close();
    await expect(a).rejects.toMatchObject({ reason: 'exchange_unreachable' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(fx.reads).toHaveLength(0);
  });
});

describe('position reads under the weight budget (adapter against the paper exchange)', () => {
  let px: PaperExchange;
  beforeAll(async () => {
    px = await startPaperExchange({
      apiKey: KEY,
      apiSecret: SECRET,
      positions: { BTCUSDT: 0.5, ETHUSDT: -2, SOLUSDT: 0 },
    });
  });
  afterAll(() => px.close());
  const riskReads = () => px.state.requestLog.filter((r) => r.path === '/fapi/v3/positionRisk');

  it('when the weight header passes the threshold then concurrent position reads become one account-wide request with the same answers', async () => {
    const { ex, warnings } = adapterFor(px, { sharePositionReadsFromWeight: 1 });
    const own = await ex.position('ETHUSDT'); // learns the minute's weight from the header
    const before = riskReads().length;
    const symbols = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BTCUSDT'];
    const shared = await Promise.all(symbols.map((s) => ex.position(s)));
    // One request answered three symbols: the account-wide read (a symbol's read names one).
    expect(riskReads().length - before).toBe(1);
    expect(shared.map((p) => p.amountText)).toEqual(['0.5', '-2', '0', '0.5']);
    expect(shared[1]).toEqual(own);
    expect(warnings.filter((w) => w.msg.includes('position reads now shared'))).toHaveLength(1);
    await ex.close();
  });

  it('when the minute rolls over then the usage this minute reads 0 until the next answer', async () => {
    const { ex } = adapterFor(px);
    await ex.position('BTCUSDT');
    const used = ex.usageThisMinute().usedWeight1m;
    expect(used).toBe(ex.rateLimitState().usedWeight1m);
    expect(used).toBeGreaterThan(0);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 60_000);
      expect(ex.usageThisMinute()).toEqual({ usedWeight1m: 0, orderCount1m: 0 });
    } finally {
      vi.useRealTimers();
    }
    await ex.close();
  });
});
