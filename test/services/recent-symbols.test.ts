import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ops/clock.js';
import { RecentSymbols } from '../../src/services/recent-symbols.js';

describe('recent symbols', () => {
  it('when a symbol was noted within the window then it is recent, after it not', () => {
    const clock = new ManualClock(0);
    const recent = new RecentSymbols(clock, 1000);
    recent.note('BTCUSDT');
    clock.advance(999);
    expect(recent.has('BTCUSDT')).toBe(true);
    expect(recent.has('ETHUSDT')).toBe(false);
    clock.advance(1);
    expect(recent.has('BTCUSDT')).toBe(false);
  });

  it('when more symbols are noted than kept then the one noted longest ago is forgotten', () => {
    const recent = new RecentSymbols(new ManualClock(0), 1000, 2);
    recent.note('A');
    recent.note('B');
    recent.note('A'); // noted again: B is now the oldest
    recent.note('C');
    expect(['A', 'B', 'C'].map((s) => recent.has(s))).toEqual([true, false, true]);
  });
});
