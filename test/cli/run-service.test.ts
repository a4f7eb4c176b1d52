import { describe, expect, it } from 'vitest';
import { createContext, runService, waitForSignal, type StartedService } from '../../src/cli/util.js';
import { ConfigError, loadApplyConfig, type Env } from '../../src/ops/config.js';
import type { Health } from '../../src/ops/http.js';
import { until } from '../helpers/wait.js';

interface Harness {
  ctx: ReturnType<typeof createContext>;
  stop(reason?: string): void;
  err: string[];
  lines: () => Record<string, unknown>[];
}

function harness(env: Env = {}): Harness {
  let release: (r: string) => void = () => {};
  const stopped = new Promise<string>((r) => (release = r));
  const err: string[] = [];
  const lines: string[] = [];
  const ctx = createContext({
    env,
    stdout: () => {},
    stderr: (t) => err.push(t),
    waitForStop: () => stopped,
    logDestination: { write: (s: string) => void lines.push(s) },
    opsHost: '127.0.0.1',
  });
  return {
    ctx,
    err,
    stop: (reason = 'test') => release(reason),
    lines: () =>
      lines
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const testConfig = (env: Env) => {
  if (env.BROKEN) throw new ConfigError('test', [{ variable: 'BROKEN', expected: 'nothing', given: '"1"' }]);
  return { logLevel: 'info', metricsPort: 0 };
};

async function untilStarted(h: Harness): Promise<number> {
  const line = await until(() => h.lines().find((l) => l.msg === 'svc started'), 8000, 'svc started');
  return line.opsPort as number;
}

describe('runService', () => {
  it('when the config is invalid then it exits 2, prints the error and never starts', async () => {
    const h = harness({ BROKEN: '1' });
    let started = false;
    const code = await runService(h.ctx, 'svc', testConfig, async () => {
      started = true;
      return { stop: async () => {} };
    });
    expect(code).toBe(2);
    expect(started).toBe(false);
    expect(h.err.join('')).toContain('BROKEN: expected nothing');
  });

  it('when a real loader rejects the env then it exits 2', async () => {
    const h = harness({ APPLY_MODE: 'yolo' });
    const code = await runService(h.ctx, 'apply', loadApplyConfig, async () => ({ stop: async () => {} }));
    expect(code).toBe(2);
    expect(h.err.join('')).toContain('APPLY_MODE');
  });

  it('when stop is requested then stop() runs once, health went 200 then the server closes, exit 0', async () => {
    const h = harness();
    let stops = 0;
    let healthy: Health = { ok: true, detail: { redis: 'up' } };
    const service: StartedService = {
      stop: async () => {
        stops += 1;
      },
      health: () => healthy,
    };
    const running = runService(h.ctx, 'svc', testConfig, async () => service);
    const port = await untilStarted(h);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(ok.status).toBe(200);
    healthy = { ok: false, detail: { redis: 'down' } };
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    h.stop('SIGTERM');
    expect(await running).toBe(0);
    expect(stops).toBe(1);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    expect(h.lines().map((l) => l.msg)).toEqual([
      'svc starting',
      'svc started',
      'svc stopping',
      'svc stopped',
    ]);
    expect(h.lines()[2]).toMatchObject({ reason: 'SIGTERM' });
  });

  it('when the service is stopping then health reports 503 until the server closes', async () => {
    const h = harness();
    let finishStop: () => void = () => {};
    let stopEntered: () => void = () => {};
    const entered = new Promise<void>((r) => (stopEntered = r));
    const running = runService(h.ctx, 'svc', testConfig, async () => ({
      stop: () =>
        new Promise<void>((r) => {
          finishStop = r;
          stopEntered();
        }),
    }));
    const port = await untilStarted(h);
    h.stop();
    await entered;
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, detail: { state: 'stopping' } });
    finishStop();
    expect(await running).toBe(0);
  });

  it('when start throws then it exits 1 and reports it', async () => {
    const h = harness();
    const code = await runService(h.ctx, 'svc', testConfig, async () => {
      throw new Error('redis unreachable');
    });
    expect(code).toBe(1);
    expect(h.err.join('')).toContain('redis unreachable');
    expect(h.lines().some((l) => l.level === 'fatal')).toBe(true);
  });

  it('when stop() never finishes then the stop timeout ends the run with exit 1', async () => {
    const h = harness();
    const running = runService(
      h.ctx,
      'svc',
      testConfig,
      async () => ({ stop: () => new Promise<void>(() => {}) }),
      { stopTimeoutMs: 20, processMetrics: false },
    );
    await untilStarted(h);
    h.stop();
    expect(await running).toBe(1);
    expect(h.lines().some((l) => l.msg === 'svc stop timed out')).toBe(true);
  });

  it('when the service asks to stop itself then it stops gracefully with exit 1', async () => {
    const h = harness();
    let stops = 0;
    const code = await runService(h.ctx, 'svc', testConfig, async (_cfg, kit) => {
      setImmediate(() => kit.requestStop('redis_lost'));
      return {
        stop: async () => {
          stops += 1;
        },
      };
    });
    expect(code).toBe(1);
    expect(stops).toBe(1);
    expect(h.lines().find((l) => l.msg === 'svc stopping')).toMatchObject({ reason: 'redis_lost' });
  });

  it('when the ops port is taken then it exits 1 without starting the service', async () => {
    const first = harness();
    const running = runService(first.ctx, 'svc', testConfig, async () => ({ stop: async () => {} }));
    const port = await untilStarted(first);
    const second = harness();
    let started = false;
    const code = await runService(
      second.ctx,
      'svc',
      () => ({ logLevel: 'info', metricsPort: port }),
      async () => {
        started = true;
        return { stop: async () => {} };
      },
    );
    expect(code).toBe(1);
    expect(started).toBe(false);
    first.stop();
    expect(await running).toBe(0);
  });
});

describe('runService start-up log', () => {
  it('when the env holds a misspelt variable then a warning names it without its value', async () => {
    const h = harness({ APPLY_KILLSWITCH: 'value-7731' });
    const running = runService(h.ctx, 'svc', testConfig, async () => ({ stop: async () => {} }));
    await untilStarted(h);
    h.stop();
    expect(await running).toBe(0);
    const warn = h.lines().find((l) => l.level === 'warn');
    expect(warn).toMatchObject({ ignored: ['APPLY_KILLSWITCH'] });
    expect(JSON.stringify(h.lines())).not.toContain('value-7731');
  });
});

describe('runService listeners', () => {
  it('when start fails with real signal handling then no process listener is left behind', async () => {
    const before = ['SIGTERM', 'SIGINT', 'unhandledRejection'].map((e) => process.listenerCount(e));
    const ctx = createContext({
      env: {},
      stderr: () => {},
      logDestination: { write: () => {} },
      opsHost: '127.0.0.1',
    });
    expect(ctx.handleProcessErrors).toBe(true);
    const code = await runService(ctx, 'svc', testConfig, async () => {
      throw new Error('no redis');
    });
    expect(code).toBe(1);
    expect(['SIGTERM', 'SIGINT', 'unhandledRejection'].map((e) => process.listenerCount(e))).toEqual(before);
  });
});

describe('waitForSignal', () => {
  it('when the wait is aborted then its listeners are removed', () => {
    const before = process.listenerCount('SIGTERM');
    const abort = new AbortController();
    void waitForSignal(['SIGTERM'], abort.signal);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    abort.abort();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('when SIGTERM arrives then it resolves and removes its listeners', async () => {
    const before = process.listenerCount('SIGTERM');
    const beforeInt = process.listenerCount('SIGINT');
    const waiting = waitForSignal(['SIGTERM', 'SIGINT']);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    expect(await waiting).toBe('SIGTERM');
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(process.listenerCount('SIGINT')).toBe(beforeInt);
  });
});
