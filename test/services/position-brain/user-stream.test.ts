import { describe, expect, it } from 'vitest';
import type { AccountStream, Position } from '../../../src/exchange/port.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { T0 } from '../../helpers/clock.js';
import { p33Rig, plan } from './harness.js';

/** A user stream double: trusted while `asOfMs` is set, its positions set by the test. */
class FakeStream implements AccountStream {
  asOfMs: number | null = null;
  readonly amounts = new Map<string, string>();
  private listeners = new Set<(p: Position) => void>();
  asOf(): number | null {
    return this.asOfMs;
  }
  position(symbol: string): Position | null {
    return this.asOfMs === null ? null : this.held(symbol);
  }
  private held(symbol: string): Position {
    const amountText = this.amounts.get(symbol) ?? '0';
    return {
      symbol,
      amount: Number(amountText),
      amountText,
      entryPrice: 100,
      markPrice: 0,
      unrealizedPnl: 0,
      leverage: null,
      updateTime: 0,
    };
  }
  onPosition(fn: (p: Position) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  onOrder(): () => void {
    return () => undefined;
  }
  push(symbol: string, amountText: string): void {
    this.amounts.set(symbol, amountText);
    for (const fn of this.listeners) fn(this.held(symbol));
  }
}

function setup() {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, sweepMs: 0 });
  const r = p33Rig(store, {}, clock);
  const stream = new FakeStream();
  Object.assign(r.exchange, { accountStream: stream });
  return { ...r, stream, p33: r.make() };
}

describe('P3.3 with the user data stream', () => {
  it('denies on a stored snapshot older than the bound while the stream is not trusted', async () => {
    const r = setup();
    expect(await r.p33.snapshots.refresh()).toBe(true);
    r.clock.advance(30_000);
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'denied', reason: 'stale_exchange_state' });
  });

  it('decides on the trusted stream position when it is newer than the stored snapshot', async () => {
    const r = setup();
    await r.p33.snapshots.refresh();
    r.clock.advance(30_000);
    r.stream.asOfMs = r.clock.now() - 400;
    r.stream.amounts.set('BTCUSDT', '0.015');
    expect(await r.p33.evaluate(plan())).toEqual({ kind: 'allowed', safeCloseQty: '0.007' });
    // Decided on a position 0.4 s old, not the stored one 30 s old.
    const sum = (await r.metrics.decisionSnapshotAge.get()).values.find((v) =>
      v.metricName?.endsWith('_sum'),
    );
    expect(sum?.value).toBeCloseTo(0.4, 3);
    // The stored snapshot (the wire) is left as the last write made it.
    expect((await r.store.hgetall(r.store.keys.positionSnapshot('BTCUSDT'))).ts_epoch).toBe(
      String(T0 / 1000),
    );
  });

  it('a stream position that disagrees with the ledger is denied like a snapshot would be', async () => {
    const r = setup();
    await r.p33.snapshots.refresh();
    r.stream.asOfMs = r.clock.now() + 1000;
    r.clock.advance(1000);
    r.stream.amounts.set('BTCUSDT', '0.005');
    const out = await r.p33.evaluate(plan());
    expect(out.kind).toBe('denied');
  });

  it('writes a pushed position change to its snapshot at once, and a later poll from an older view does not undo it', async () => {
    const r = setup();
    const unfollow = r.p33.snapshots.follow(r.stream);
    r.stream.asOfMs = r.clock.now();
    r.clock.advance(2_000);
    r.stream.push('BTCUSDT', '0.010');
    const key = r.store.keys.positionSnapshot('BTCUSDT');
    await expect.poll(async () => (await r.store.hgetall(key)).position_amt).toBe('0.010');
    expect((await r.store.hgetall(key)).ts_epoch).toBe(String((T0 + 2_000) / 1000));
    // A poll answered from a view as of before that event (ageMs): its BTCUSDT write is skipped.
    r.exchange.setPosition('BTCUSDT', 0.015);
    const positions = r.exchange.positions.bind(r.exchange);
    Object.assign(r.exchange, {
      positions: async (symbols: string[]) => (await positions(symbols)).map((p) => ({ ...p, ageMs: 1_500 })),
    });
    expect(await r.p33.snapshots.refresh()).toBe(true);
    expect((await r.store.hgetall(key)).position_amt).toBe('0.010');
    expect((await r.store.hgetall(r.store.keys.positionSnapshot('SOLUSDT'))).ts_epoch).toBe(
      String(T0 / 1000),
    );
    unfollow();
  });

  it('does not write pushed changes while the stream is not trusted', async () => {
    const r = setup();
    const unfollow = r.p33.snapshots.follow(r.stream);
    r.stream.push('BTCUSDT', '0.010');
    expect(await r.store.hgetall(r.store.keys.positionSnapshot('BTCUSDT'))).toEqual({});
    unfollow();
  });
});
