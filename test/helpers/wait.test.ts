import { afterEach, describe, expect, it, vi } from 'vitest';
import { until } from './wait.js';

describe('until', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('when the condition turns truthy then it resolves with that value', async () => {
    let calls = 0;
    await expect(until(() => ++calls >= 3 && `call ${calls}`, 1000, 'the third call', 1)).resolves.toBe(
      'call 3',
    );
  });

  it('when the condition never holds then it throws naming what it waited for', async () => {
    await expect(until(() => false, 30, 'the impossible', 1)).rejects.toThrow(
      'the impossible not reached within 30 ms',
    );
  });

  it('when everyMs is given then it asks again after that long, not after the default', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const done = until(() => ++calls >= 3, 1000, 'three asks', 5);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toBe(3);
    await expect(done).resolves.toBe(true);
  });
});
