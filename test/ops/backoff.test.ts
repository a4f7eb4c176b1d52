import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/ops/backoff.js';

describe('backoffMs', () => {
  it('when attempts go on then the wait starts at minMs, doubles each attempt and stops at maxMs', () => {
    const waits = [0, 1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, { minMs: 100, maxMs: 3000 }));
    expect(waits).toEqual([100, 200, 400, 800, 1600, 3000, 3000]);
  });

  it('when no cap is given then the wait keeps doubling', () => {
    expect([0, 1, 2, 10].map((a) => backoffMs(a, { minMs: 200 }))).toEqual([200, 400, 800, 204_800]);
  });

  it('when the attempt count is huge then the wait is the cap, a finite number, even from 0 ms', () => {
    expect(backoffMs(5000, { minMs: 50, maxMs: 2000 })).toBe(2000);
    expect(backoffMs(5000, { minMs: 0, maxMs: 2000 })).toBe(0);
    expect(Number.isFinite(backoffMs(5000, { minMs: 1 }))).toBe(true);
  });

  it('when jitter is asked for then up to jitterMs is added, and none otherwise', () => {
    expect(backoffMs(6, { minMs: 50, maxMs: 2000, jitterMs: 100 }, () => 0)).toBe(2000);
    expect(backoffMs(6, { minMs: 50, maxMs: 2000, jitterMs: 100 }, () => 0.999)).toBe(2099);
    expect(backoffMs(1, { minMs: 50, maxMs: 2000 }, () => 0.999)).toBe(100);
  });

  // The formulas each caller had before it used backoffMs, with the numbers it passes now.
  it.each([
    [
      'plan consumer outage',
      (n: number) => Math.min(100 * 2 ** Math.min(n, 5), 3000),
      (n: number) => backoffMs(n, { minMs: 100, maxMs: 3000 }),
    ],
    [
      'apply scheduler (100..5000)',
      (n: number) => Math.min(5000, 100 * 2 ** (n - 1)),
      (n: number) => backoffMs(n - 1, { minMs: 100, maxMs: 5000 }),
    ],
    [
      'P3.3 poll (1000 ms)',
      (n: number) => Math.min(1000 * 2 ** n, 5000),
      (n: number) => backoffMs(n, { minMs: 1000, maxMs: 5000 }),
    ],
    ['exchange read retry', (n: number) => 200 * 2 ** n, (n: number) => backoffMs(n, { minMs: 200 })],
    [
      'service start',
      (n: number) => Math.min(500 * 2 ** Math.min(n - 1, 20), 15_000),
      (n: number) => backoffMs(n - 1, { minMs: 500, maxMs: 15_000 }),
    ],
    [
      'redis reconnect (jitter 0)',
      (n: number) => Math.min(50 * 2 ** Math.min(n, 6), 2000),
      (n: number) => backoffMs(n, { minMs: 50, maxMs: 2000, jitterMs: 100 }, () => 0),
    ],
  ])('when %s waits then it waits what its own formula gave', (_name, before, now) => {
    for (let n = 1; n <= 25; n++) expect(now(n)).toBe(before(n));
  });

  it('when the permit consume loop retries then its waits are the 20 → 500 ms doubling it kept inline', () => {
    let inline = 20;
    for (let n = 0; n < 12; n++) {
      expect(backoffMs(n, { minMs: 20, maxMs: 500 })).toBe(inline);
      inline = Math.min(inline * 2, 500);
    }
  });
});
