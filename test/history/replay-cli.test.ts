/**
 * `replay` end to end on a history database (SQLite and a real PostgreSQL): recorded rows in,
 * flips out. The rows replay the engine suite's BTCUSDT case (replay-engine.test.ts), each
 * expected flip worked out by hand below.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0 } from '../helpers/clock.js';
import { runCli } from '../helpers/cli.js';
import { skipPostgres, usePrivateDatabase } from '../helpers/postgres.js';
import { decision, order, plan, result, seedHistory } from './recorded-rows.js';

const MIN = 60_000;
const S = 'BTCUSDT';
const id = (n: number) => `000000000000000${n}`;
const at = (minute: number) => T0 + minute * MIN;

// Recorded under the default limits (3 an hour, 2 in 5 min, 5000 USD a day); 0.005 closed at
// 100000 is 500 USD each:
//  1  0 min   granted, filled                              2  1 min   granted, filled
//  3  2 min   burst_limit_exceeded (P3.3 allowed 0.005)    4  10 min  granted, filled
//  5  20 min  hourly_limit_exceeded (P3.3 allowed 0.005)
const GRANTED = [1, 2, 4];
const BLOCKED: Record<number, string> = { 3: 'burst_limit_exceeded', 5: 'hourly_limit_exceeded' };
const MINUTE: Record<number, number> = { 1: 0, 2: 1, 3: 2, 4: 10, 5: 20 };
const n = [1, 2, 3, 4, 5];

const rows = {
  plans: n.map((i) => plan(id(i), S, 'PARTIAL_50', 'EXECUTE', '', at(MINUTE[i]!))),
  decisions: n.flatMap((i) => [
    decision('governor', id(i), S, BLOCKED[i] ? 'BLOCKED' : 'GRANTED', BLOCKED[i] ?? '', at(MINUTE[i]!) + 5),
    { ...decision('p33', id(i), S, 'ALLOW', '', at(MINUTE[i]!) + 6), fields: '{"safe_close_qty":"0.005"}' },
  ]),
  orders: GRANTED.map((i) => order(id(i), S, '0.005', '100000', at(MINUTE[i]!) + 10)),
  results: n.map((i) =>
    result(
      id(i),
      S,
      'EXECUTE',
      GRANTED.includes(i),
      BLOCKED[i] ? `permit_timeout_or_missing:missing_governor:${BLOCKED[i]}` : '',
      at(MINUTE[i]!) + 40,
    ),
  ),
};

interface Report {
  plans: number;
  flips: { planId: string; to: { decision: string; reason: string } }[];
  totals: Record<string, number>;
  fidelity: { compared: number; matching: number };
}

async function replayJson(url: string, since: number, ...sets: string[]) {
  const r = runCli(
    ['replay', '--since', new Date(since).toISOString(), '--json', ...sets.flatMap((s) => ['--set', s])],
    {
      HISTORY_URL: url,
    },
  );
  expect(await r.done, r.err.join('')).toBe(0);
  const rep = JSON.parse(r.out.join('')) as Report;
  return { ...rep, flipped: rep.flips.map((f) => `${f.planId} ${f.to.decision} ${f.to.reason}`.trim()) };
}

function suite(url: () => string) {
  it('under the current settings reproduces the recording and flips nothing', async () => {
    const r = await replayJson(url(), T0);
    expect(r.plans).toBe(5);
    expect(r.fidelity).toEqual({ compared: 5, matching: 5 });
    expect(r.flips).toEqual([]);
  });

  it('GOV_MAX_EXEC_PER_HOUR=2 stops plan 4: 1 and 2 already count in its hour', async () => {
    const r = await replayJson(url(), T0, 'GOV_MAX_EXEC_PER_HOUR=2');
    expect(r.flipped).toEqual([`${id(4)} BLOCKED hourly_limit_exceeded`]);
    // Plan 3: hourly now comes before burst: the same decision, another reason.
    expect(r.totals).toEqual({ flips: 1, nowExecute: 0, nowStopped: 1, reasonChanged: 1 });
  });

  it('GOV_MAX_EXEC_PER_5MIN=5 grants plan 3 (priced at the nearest fill), so plan 4 meets the hourly limit', async () => {
    const r = await replayJson(url(), T0, 'GOV_MAX_EXEC_PER_5MIN=5');
    expect(r.flipped).toEqual([`${id(3)} EXECUTE`, `${id(4)} BLOCKED hourly_limit_exceeded`]);
  });

  it('a 1000 USD daily cap stops plan 4 (500 + 500 + 500 > 1000); plan 5 is then stopped by it too', async () => {
    const r = await replayJson(url(), T0, 'GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD=1000');
    expect(r.flipped).toEqual([`${id(4)} BLOCKED daily_limit_exceeded`]);
    expect(r.totals.reasonChanged).toBe(1);
  });

  it('K_BLOCK_CRITICAL=0.3 blocks every plan at apply (kill score 0.3): the three executed flip', async () => {
    const r = await replayJson(url(), T0, 'K_BLOCK_CRITICAL=0.3', 'K_BLOCK_WARNING=0.2');
    expect(r.flipped).toEqual([1, 2, 4].map((i) => `${id(i)} BLOCKED kill_score_critical`));
  });

  it('plans before --since warm the counts: from minute 2, plans 1 and 2 still fill the hour', async () => {
    const r = await replayJson(url(), at(2), 'GOV_MAX_EXEC_PER_HOUR=2');
    expect(r.plans).toBe(3);
    expect(r.flipped).toEqual([`${id(4)} BLOCKED hourly_limit_exceeded`]);
  });

  it('prints the flips by reason and symbol as text', async () => {
    const r = runCli(['replay', '--since', new Date(T0).toISOString(), '--set', 'GOV_MAX_EXEC_PER_HOUR=2'], {
      HISTORY_URL: url(),
    });
    expect(await r.done).toBe(0);
    const text = r.out.join('');
    expect(text).toContain('flips: 1 (0 would now execute, 1 would now not)');
    expect(text).toMatch(/EXECUTE -> BLOCKED governor:hourly_limit_exceeded\s+1/);
    expect(text).toMatch(/BTCUSDT\s+0\s+1/);
    // Plan 4 really executed: the flip says so.
    expect(text).toMatch(
      new RegExp(`${id(4)}.*EXECUTE\\s+BLOCKED governor:hourly_limit_exceeded\\s+executed`),
    );
  });
}

describe('replay CLI on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qa-replay-'));
  const url = `sqlite:${join(dir, 'history.db')}`;
  beforeAll(() => seedHistory(url, rows));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  suite(() => url);

  it('refuses an unknown, a non-replayed or an invalid setting, naming it (exit 2)', async () => {
    for (const [set, text] of [
      ['NOPE=1', 'unknown variable NOPE'],
      ['REDIS_URL=redis://x', 'REDIS_URL is not a setting replay varies'],
      ['K_BLOCK_CRITICAL=2', 'K_BLOCK_CRITICAL'],
      ['GOV_MAX_EXEC_PER_HOUR=-1', 'GOV_MAX_EXEC_PER_HOUR'],
      ['GOV_MAX_EXEC_PER_HOUR', 'expected NAME=VALUE'],
    ]) {
      const r = runCli(['replay', '--since', '7d', '--set', set!], { HISTORY_URL: url });
      expect(await r.done, set).toBe(2);
      expect(r.err.join('')).toContain(text);
    }
    const noSince = runCli(['replay'], { HISTORY_URL: url });
    expect(await noSince.done).toBe(2);
  });
});

describe.skipIf(skipPostgres)('replay CLI on PostgreSQL', () => {
  const db = usePrivateDatabase();
  beforeAll(() => seedHistory(db.url, rows));
  suite(() => db.url);
});
