/**
 * `quantum-apply recorder` alone and the recorder inside `all` (HISTORY_URL set): a proposal
 * through the real services ends up in the history database, the lag metric is served, and bad
 * settings refuse to start naming the variable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openHistory } from '../../src/history/db.js';
import { loadAllConfig } from '../../src/ops/config/all.js';
import { loadRecorderConfig } from '../../src/ops/config/recorder.js';
import { createStore } from '../../src/store/index.js';
import { proposeHalfCloseAndAwaitResult, runCli, startCliRig } from '../helpers/cli.js';
import { configError } from '../helpers/config-error.js';
import { skipRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

describe('recorder settings', () => {
  it('reads HISTORY_* with defaults, and `all` runs no recorder while HISTORY_URL is unset', () => {
    expect(loadRecorderConfig({}).history).toEqual({
      url: 'sqlite:quantum-history.db',
      retentionDays: 0,
      batch: 500,
    });
    expect(loadRecorderConfig({}).metricsPort).toBe(8046);
    expect(loadAllConfig({}).history).toBeNull();
    expect(
      loadAllConfig({ HISTORY_URL: 'postgres://u@h:5432/q', HISTORY_RETENTION_DAYS: '30' }).history,
    ).toEqual({
      url: 'postgres://u@h:5432/q',
      retentionDays: 30,
      batch: 500,
    });
  });

  it('refuses bad values, naming each variable, also under all', () => {
    const err = configError(() =>
      loadRecorderConfig({ HISTORY_URL: 'mysql://h/q', HISTORY_RETENTION_DAYS: '-1', HISTORY_BATCH: '0' }),
    );
    expect(err.problems.map((p) => p.variable).sort()).toEqual([
      'HISTORY_BATCH',
      'HISTORY_RETENTION_DAYS',
      'HISTORY_URL',
    ]);
    const all = configError(() => loadAllConfig({ HISTORY_URL: 'sqlite:', GOV_MAX_EXEC_PER_HOUR: '-1' }));
    expect(all.problems.map((p) => p.variable).sort()).toEqual(['GOV_MAX_EXEC_PER_HOUR', 'HISTORY_URL']);
  });
});

describe.skipIf(skipRedis)('quantum-apply recorder and all with HISTORY_URL', () => {
  let rig: Awaited<ReturnType<typeof startCliRig>>;
  const dir = mkdtempSync(join(tmpdir(), 'qa-cli-history-'));
  beforeAll(async () => {
    rig = await startCliRig({ BTCUSDT: 0.1, ETHUSDT: 2 });
  });
  afterAll(async () => {
    await rig?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function recordedPlans(url: string): Promise<string[]> {
    const h = await openHistory(url);
    try {
      return (await h.db.selectFrom('plans').select('plan_id').execute()).map((r) => r.plan_id);
    } finally {
      await h.close();
    }
  }

  it('when all runs with HISTORY_URL then its plan is recorded and /metrics serves the lag; the recorder runs alone too', async () => {
    const url = `sqlite:${join(dir, 'all.db')}`;
    const cli = runCli(['all'], {
      ...rig.env,
      SYMBOLS: 'BTCUSDT',
      APPLY_ALLOWLIST: 'BTCUSDT',
      HISTORY_URL: url,
    });
    const port = await until(() => {
      for (const l of cli.logs) {
        const m = /"opsPort":(\d+)/.exec(l);
        if (m) return Number(m[1]);
      }
      return null;
    });
    const result = await proposeHalfCloseAndAwaitResult(rig.store, 'BTCUSDT');
    const planId = result.fields.plan_id!;
    await until(async () => (await recordedPlans(url)).includes(planId), 10_000, 'the plan in the history');
    const metrics = await until(async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /quantum_history_lag_entries\{stream="apply.plan"\} 0/.test(text) ? text : null;
    });
    expect(metrics).toMatch(/quantum_history_rows_total\{table="plans"\} 1/);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
      detail: { recorder?: { detail: { history: string } } };
    };
    expect(health.detail.recorder?.detail.history).toBe('recording');
    cli.stop();
    expect(await cli.done).toBe(0);

    // The recorder alone, under another key prefix (its group there is new): it records what the
    // plan stream holds, each entry once, and stops with exit 0.
    const prefix = rig.server.prefix();
    const other = await createStore({ url: rig.server.url, prefix });
    const entry = { ...result.fields, decision: 'SKIP', reason_codes: 'not_in_allowlist' };
    await other.xadd(other.keys.planStream(), { ...entry, plan_id: 'aaaaaaaaaaaaaaaa', action: 'HOLD' });
    await other.close();
    const alone = `sqlite:${join(dir, 'alone.db')}`;
    const rec = runCli(['recorder'], {
      ...rig.env,
      REDIS_KEY_PREFIX: prefix,
      HISTORY_URL: alone,
      HISTORY_METRICS_PORT: '0',
    });
    await until(async () => (await recordedPlans(alone).catch(() => [])).length > 0, 10_000, 'the plan');
    rec.stop();
    expect(await rec.done).toBe(0);
    expect(await recordedPlans(alone)).toEqual(['aaaaaaaaaaaaaaaa']);
  }, 60_000);

  it('when HISTORY_URL is bad then all refuses to start with exit 2', async () => {
    const err: string[] = [];
    const code = await main(['node', 'quantum-apply', 'all'], {
      env: { ...rig.env, HISTORY_URL: 'sqlite:' },
      stdout: () => {},
      stderr: (t) => void err.push(t),
      waitForStop: () => new Promise(() => {}),
    });
    expect(code).toBe(2);
    expect(err.join('')).toContain('HISTORY_URL');
  });
});
