/**
 * `explain` falls back to the history once Redis's streams no longer hold the plan (and when
 * Redis cannot be read), and says so; a plan in neither is still "not found" (exit 1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort, skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { A, B, seedHistory } from './recorded-rows.js';

async function explain(env: Record<string, string>, ...args: string[]) {
  const r = runCli(['explain', ...args], { APPLY_MODE: 'testnet', ...env });
  const code = await r.done;
  return { code, out: r.out.join(''), err: r.err.join('') };
}

describe.skipIf(skipRedis)('explain: the history fallback', () => {
  const redis = usePrivateRedis();
  const dir = mkdtempSync(join(tmpdir(), 'qa-explain-'));
  const url = `sqlite:${join(dir, 'history.db')}`;
  beforeAll(() => seedHistory(url));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = () => ({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix(), HISTORY_URL: url });

  it('tells a plan gone from the streams from the history, saying so', async () => {
    const r = await explain(env(), A);
    expect(r.code).toBe(0);
    expect(r.out).toContain('the streams no longer hold it');
    expect(r.out).toContain(`plan ${A}  BTCUSDT`);
    for (const what of ['plan published: EXECUTE', 'GRANTED', 'ALLOW', 'market SELL 0.005 intent', 'filled'])
      expect(r.out).toContain(what);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('EXECUTED: the result says executed');
  });

  it('gives the stopping authority and reason, and --json marks the source', async () => {
    const r = await explain(env(), B, '--json');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as {
      source: string;
      verdict: { kind: string; reason: string };
      timeline: unknown[];
    };
    expect(body.source).toBe('history');
    expect(body.verdict).toMatchObject({ kind: 'BLOCKED', reason: 'hourly_limit_exceeded' });
    // The plan entry, the governor's block and the result.
    expect(body.timeline).toHaveLength(3);
  });

  it('a plan in neither Redis nor the history is not found (exit 1), and says where it looked', async () => {
    const r = await explain(env(), 'ffffffffffffffff');
    expect(r.code).toBe(1);
    expect(r.err).toContain('not in the history at sqlite:');
  });

  it('with Redis unreadable, says so and still tells the story from the history', async () => {
    const r = await explain({ ...env(), REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, A);
    expect(r.code).toBe(0);
    expect(r.err).toContain('cannot reach Redis');
    expect(r.out).toContain('the streams no longer hold it');
  });
});
