/**
 * `history` and `history stats` against the recorded rows (recorded-rows.ts) on SQLite and on a
 * real PostgreSQL. Expected figures are the fixture's, worked out in its header.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0 } from '../helpers/clock.js';
import { runCli } from '../helpers/cli.js';
import { skipPostgres, usePrivateDatabase } from '../helpers/postgres.js';
import { A, B, C, D, DAY, seedHistory } from './recorded-rows.js';

async function cli(url: string, ...args: string[]) {
  const r = runCli(args, { HISTORY_URL: url });
  const code = await r.done;
  return { code, out: r.out.join(''), err: r.err.join('') };
}

async function ids(url: string, ...args: string[]) {
  const r = await cli(url, 'history', '--json', ...args);
  expect(r.err).toBe('');
  return (JSON.parse(r.out) as { plan_id: string }[]).map((l) => l.plan_id);
}

function suite(url: () => string) {
  it('lists plans newest first, filtered by symbol, decision, reason, time and limit', async () => {
    expect(await ids(url())).toEqual([D, C, B, A]);
    expect(await ids(url(), '--symbol', 'btcusdt')).toEqual([B, A]);
    expect(await ids(url(), '--decision', 'BLOCKED')).toEqual([C]);
    // The governor's reason, the result's error and apply's reason codes are all searched.
    expect(await ids(url(), '--reason', 'hourly_limit_exceeded')).toEqual([B]);
    expect(await ids(url(), '--reason', 'kill_score_critical')).toEqual([C]);
    // LIKE's wildcards in a reason are literal: `_` matches only `_`.
    expect(await ids(url(), '--reason', 'hourly_limit_exceede_')).toEqual([]);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await ids(url(), '--since', iso(T0 + 1), '--until', iso(T0 + DAY))).toEqual([C, B]);
    expect(await ids(url(), '--limit', '1')).toEqual([D]);
  });

  it('says how each plan ended, what it closed and its hand-off', async () => {
    const r = await cli(url(), 'history', '--json', '--symbol', 'BTCUSDT');
    const [b, a] = JSON.parse(r.out) as Record<string, unknown>[];
    expect(a).toMatchObject({
      ended: 'executed',
      qty_closed: '0.005',
      notional_closed: '250',
      handoff_ms: 4,
    });
    expect(b).toMatchObject({
      ended: 'stopped_by_governor',
      reason: 'hourly_limit_exceeded',
      handoff_ms: null,
    });
  });

  it('writes CSV with a header and the table by default', async () => {
    const csv = (await cli(url(), 'history', '--csv', '--symbol', 'ETHUSDT')).out.trim().split('\n');
    expect(csv[0]).toBe(
      'at,plan_id,symbol,action,kill_score,decision,reason_codes,ended,reason,qty_closed,notional_closed,handoff_ms',
    );
    expect(csv.slice(1).map((l) => l.split(',')[1])).toEqual([D, C]);
    const text = (await cli(url(), 'history')).out;
    expect(text).toMatch(/^TIME \(UTC\)\s+PLAN\s+SYMBOL/);
    expect(text).toContain(`${B}   BTCUSDT`);
  });

  it('stats: totals, reasons, quantity and notional closed, hand-off p50/p99, per symbol', async () => {
    // Executed A (0.005 @ 50000 = 250, hand-off 10 - 6 = 4 ms) and D (0.1 @ 2000.5 = 200.05,
    // 13 - 3 = 10 ms): 0.105 closed, 450.05 USDT; nearest-rank p50 of [4, 10] is 4, p99 10.
    const r = await cli(url(), 'history', 'stats', '--json', '--by', 'symbol');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Record<string, unknown>;
    expect(s.total).toEqual({
      key: 'all',
      plans: 4,
      executed: 2,
      notExecuted: 2,
      qtyClosed: '0.105',
      notionalClosed: '450.05',
      handoffP50Ms: 4,
      handoffP99Ms: 10,
    });
    expect(s.notExecutedByReason).toEqual([
      { key: 'apply:kill_score_critical', count: 1 },
      { key: 'governor:hourly_limit_exceeded', count: 1 },
    ]);
    expect(
      (s.groups as { key: string; plans: number; notionalClosed: string }[]).map((g) => [
        g.key,
        g.plans,
        g.notionalClosed,
      ]),
    ).toEqual([
      ['BTCUSDT', 2, '250'],
      ['ETHUSDT', 2, '200.05'],
    ]);
    const byAuthority = await cli(url(), 'history', 'stats', '--by', 'authority');
    expect(byAuthority.out).toMatch(/by authority\n\s+AUTHORITY\s+PLANS/);
    expect(byAuthority.out).toMatch(/\n\s+governor\s+1\s+0\s+1\s/);
    const day = JSON.parse((await cli(url(), 'history', 'stats', '--json', '--by', 'day')).out) as {
      groups: { key: string; plans: number }[];
    };
    expect(day.groups.map((g) => [g.key, g.plans])).toEqual([
      ['2026-01-25', 3],
      ['2026-01-26', 1],
    ]);
  });

  it('refuses bad options with exit 2, naming the option', async () => {
    for (const [args, text] of [
      [['--since', 'yesterday'], '--since'],
      [['--decision', 'MAYBE'], '--decision'],
      [['--limit', '0'], '--limit'],
      [['--json', '--csv'], '--json and --csv'],
      [['stats', '--by', 'colour'], '--by'],
    ] as const) {
      const r = await cli(url(), 'history', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(text);
    }
  });
}

describe('history CLI on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qa-history-'));
  const url = `sqlite:${join(dir, 'history.db')}`;
  beforeAll(() => seedHistory(url));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  suite(() => url);

  it('a missing database file is a runtime failure naming it (exit 1); a bad HISTORY_URL exit 2', async () => {
    const missing = await cli(`sqlite:${join(dir, 'none.db')}`, 'history');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('none.db');
    const bad = await cli('mysql://x', 'history');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('HISTORY_URL');
  });
});

describe.skipIf(skipPostgres)('history CLI on PostgreSQL', () => {
  const db = usePrivateDatabase();
  beforeAll(() => seedHistory(db.url));
  suite(() => db.url);
});
