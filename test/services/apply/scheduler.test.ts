import { describe, expect, it } from 'vitest';
import { SymbolScheduler } from '../../../src/services/apply/scheduler.js';
import { sleep } from './harness.js';

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('SymbolScheduler', () => {
  it('when a symbol is kicked during its run then runs never overlap and the burst coalesces into one re-run', async () => {
    const g = gate();
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    const s = new SymbolScheduler(
      async (symbol) => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs.push(symbol);
        if (runs.length === 1) await g.p;
        active--;
      },
      { backoffMinMs: 1, backoffMaxMs: 1, onError: () => {} },
    );
    s.kick('BTCUSDT', 1);
    for (let i = 0; i < 5; i++) s.kick('BTCUSDT', 2 + i);
    g.open();
    await sleep(20);
    await s.drain();
    expect(runs).toEqual(['BTCUSDT', 'BTCUSDT']);
    expect(maxActive).toBe(1);
  });

  it('when one symbol is blocked then another symbol runs at once', async () => {
    const g = gate();
    const done: string[] = [];
    const s = new SymbolScheduler(
      async (symbol) => {
        if (symbol === 'BTCUSDT') await g.p;
        done.push(symbol);
      },
      { backoffMinMs: 1, backoffMaxMs: 1, onError: () => {} },
    );
    s.kick('BTCUSDT', 1);
    s.kick('ETHUSDT', 1);
    await sleep(20);
    expect(done).toEqual(['ETHUSDT']);
    g.open();
    await s.drain();
    expect(done).toEqual(['ETHUSDT', 'BTCUSDT']);
  });

  it('when a run throws then it is retried with backoff keeping the earliest detection time', async () => {
    const seen: number[] = [];
    const errors: number[] = [];
    const s = new SymbolScheduler(
      async (_symbol, at) => {
        seen.push(at);
        if (seen.length < 3) throw new Error('redis down');
      },
      { backoffMinMs: 5, backoffMaxMs: 10, onError: (_s, _e, attempt) => errors.push(attempt) },
    );
    s.kick('BTCUSDT', 100);
    await sleep(100);
    await s.drain();
    expect(seen).toEqual([100, 100, 100]);
    expect(errors).toEqual([1, 2]);
  });

  it('when drained then new kicks are ignored and a backoff sleep is cut short', async () => {
    let calls = 0;
    const s = new SymbolScheduler(
      async () => {
        calls++;
        throw new Error('down');
      },
      { backoffMinMs: 60_000, backoffMaxMs: 60_000, onError: () => {} },
    );
    s.kick('BTCUSDT', 1);
    await sleep(10);
    await s.drain();
    s.kick('BTCUSDT', 2);
    await sleep(10);
    expect(calls).toBe(1);
    expect(s.inFlight()).toBe(0);
  });
});
