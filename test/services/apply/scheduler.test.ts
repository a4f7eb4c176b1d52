import { describe, expect, it } from 'vitest';
import { SymbolScheduler } from '../../../src/services/apply/scheduler.js';
import { sleep } from '../../helpers/wait.js';
import { until } from '../../helpers/wait.js';

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

/** A run function that records which symbols started and how many ran at once around `body`. */
function tracked(body: (symbol: string, n: number) => Promise<void>) {
  const t = { active: 0, max: 0, started: [] as string[] };
  const run = async (symbol: string) => {
    t.active++;
    t.max = Math.max(t.max, t.active);
    t.started.push(symbol);
    try {
      await body(symbol, t.started.length);
    } finally {
      t.active--;
    }
  };
  return { t, run };
}

describe('SymbolScheduler', () => {
  it('when a symbol is kicked during its run then runs never overlap and the burst coalesces into one re-run', async () => {
    const g = gate();
    const { t, run } = tracked(async (_, n) => {
      if (n === 1) await g.p;
    });
    const s = new SymbolScheduler(run, { backoffMinMs: 1, backoffMaxMs: 1, onError: () => {} });
    s.kick('BTCUSDT', 1);
    for (let i = 0; i < 5; i++) s.kick('BTCUSDT', 2 + i);
    g.open();
    await sleep(20);
    await s.drain();
    expect(t.started).toEqual(['BTCUSDT', 'BTCUSDT']);
    expect(t.max).toBe(1);
  });

  it('when more symbols are kicked than APPLY_MAX_IN_FLIGHT then at most that many run at once and all of them run', async () => {
    const gates = new Map<string, ReturnType<typeof gate>>();
    const { t, run } = tracked(async (symbol) => {
      const g = gate();
      gates.set(symbol, g);
      await g.p;
    });
    const started = t.started;
    const s = new SymbolScheduler(run, {
      maxInFlight: 2,
      backoffMinMs: 1,
      backoffMaxMs: 1,
      onError: () => {},
    });
    const symbols = ['A', 'B', 'C', 'D', 'E'];
    for (const x of symbols) s.kick(x, 1);
    await sleep(10);
    expect(started).toEqual(['A', 'B']);
    expect(s.queued()).toBe(3);
    // A kick of a waiting symbol coalesces into its one run.
    s.kick('C', 2);
    for (const x of symbols) {
      await until(() => gates.has(x));
      gates.get(x)!.open();
    }
    await sleep(10);
    expect(started).toEqual(symbols);
    expect(t.max).toBe(2);
    expect(s.queued()).toBe(0);
    await s.drain();
  });

  it('when the scheduler is drained with runs waiting for a slot then they end without running', async () => {
    const g = gate();
    const started: string[] = [];
    const s = new SymbolScheduler(
      async (symbol) => {
        started.push(symbol);
        await g.p;
      },
      { maxInFlight: 1, backoffMinMs: 1, backoffMaxMs: 1, onError: () => {} },
    );
    for (const x of ['A', 'B', 'C']) s.kick(x, 1);
    await sleep(5);
    const drained = s.drain();
    g.open();
    await drained;
    expect(started).toEqual(['A']);
    expect(s.queued()).toBe(0);
  });

  it('when a run fails then its slot is free during the backoff', async () => {
    const started: string[] = [];
    let failA = true;
    const s = new SymbolScheduler(
      async (symbol) => {
        started.push(symbol);
        if (symbol === 'A' && failA) {
          failA = false;
          throw new Error('redis down');
        }
      },
      { maxInFlight: 1, backoffMinMs: 200, backoffMaxMs: 200, onError: () => {} },
    );
    s.kick('A', 1);
    s.kick('B', 1);
    await sleep(50); // A is in its 200 ms backoff: B has run meanwhile
    expect(started).toEqual(['A', 'B']);
    await until(() => started.length === 3);
    expect(started).toEqual(['A', 'B', 'A']);
    await s.drain();
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
