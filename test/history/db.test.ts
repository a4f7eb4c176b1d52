import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { historyDialectOf, openHistory } from '../../src/history/db.js';
import type { DecisionRow, OrderRow, PlanRow, ResultRow } from '../../src/history/schema.js';
import { T0 } from '../helpers/clock.js';
import { skipPostgres, usePrivateDatabase } from '../helpers/postgres.js';

const plan: PlanRow = {
  plan_id: '9fc366d9a9b3ef10',
  stream_id: `${T0}-0`,
  symbol: 'BTCUSDT',
  action: 'PARTIAL_75',
  decision: 'EXECUTE',
  reason_codes: '',
  kill_score: '0.539',
  at_ms: T0,
  fields: JSON.stringify({ plan_id: '9fc366d9a9b3ef10', symbol: 'BTCUSDT', steps: '[]' }),
};
const decision: DecisionRow = {
  stream: 'governor.decisions',
  stream_id: `${T0 + 5}-0`,
  authority: 'governor',
  plan_id: plan.plan_id,
  symbol: 'BTCUSDT',
  verdict: 'BLOCKED',
  reason: 'exec_rate_limit',
  at_ms: T0 + 5,
  fields: '{}',
};
const order: OrderRow = {
  client_order_id: 'qa-9fc366d9a9b3ef10-0',
  plan_id: plan.plan_id,
  step: '0',
  kind: 'market',
  symbol: 'BTCUSDT',
  side: 'SELL',
  quantity: '0.075',
  trigger_price: '',
  state: 'filled',
  order_id: '123456789',
  executed_qty: '0.075',
  avg_price: '43210.5',
  reason: '',
  intent_at_ms: T0 + 10,
  updated_at_ms: T0 + 20,
  stream_id: `${T0 + 20}-0`,
  fields: '{}',
};
const result: ResultRow = {
  stream: 'apply.result',
  stream_id: `${T0 + 30}-0`,
  plan_id: plan.plan_id,
  symbol: 'BTCUSDT',
  decision: 'EXECUTE',
  executed: 1,
  would_execute: 0,
  error: '',
  steps_results: '[]',
  at_ms: T0 + 30,
  fields: '{}',
};

function roundTrip(url: () => string) {
  it('migrates, writes a row per table and reads it back with its types', async () => {
    const h = await openHistory(url());
    try {
      await h.db.insertInto('plans').values(plan).execute();
      await h.db.insertInto('decisions').values(decision).execute();
      await h.db.insertInto('orders').values(order).execute();
      await h.db.insertInto('results').values(result).execute();
      expect(await h.db.selectFrom('plans').selectAll().execute()).toEqual([plan]);
      expect(await h.db.selectFrom('decisions').selectAll().execute()).toEqual([decision]);
      expect(await h.db.selectFrom('orders').selectAll().execute()).toEqual([order]);
      expect(await h.db.selectFrom('results').selectAll().execute()).toEqual([result]);
    } finally {
      await h.close();
    }
  });

  it('keeps its rows and schema across a reopen; natural keys turn a second write into a no-op', async () => {
    const h = await openHistory(url());
    try {
      const again = { ...plan, kill_score: '0.9' };
      await h.db
        .insertInto('plans')
        .values(again)
        .onConflict((oc) => oc.doNothing())
        .execute();
      await h.db
        .insertInto('plans')
        .values({ ...plan, plan_id: 'ffffffffffffffff' })
        .onConflict((oc) => oc.doNothing())
        .execute();
      await h.db
        .insertInto('results')
        .values({ ...result, stream_id: `${T0 + 99}-0` })
        .onConflict((oc) => oc.doNothing())
        .execute();
      expect(await h.db.selectFrom('plans').selectAll().execute()).toEqual([plan]);
      expect(await h.db.selectFrom('results').selectAll().execute()).toEqual([result]);
      // The same plan on the reconciled stream is another row.
      await h.db
        .insertInto('results')
        .values({ ...result, stream: 'apply.reconciled' })
        .execute();
      const n = await h.db
        .selectFrom('results')
        .select((e) => e.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      expect(Number(n?.n)).toBe(2);
    } finally {
      await h.close();
    }
  });
}

describe('history on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qa-history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  roundTrip(() => `sqlite:${join(dir, 'history.db')}`);

  it('opens a private in-memory database', async () => {
    const h = await openHistory('sqlite::memory:');
    expect(h.dialect).toBe('sqlite');
    await h.db.insertInto('plans').values(plan).execute();
    expect(await h.db.selectFrom('plans').select('at_ms').execute()).toEqual([{ at_ms: T0 }]);
    await h.close();
  });
});

describe.skipIf(skipPostgres)('history on PostgreSQL', () => {
  const pg = usePrivateDatabase();
  roundTrip(() => pg.url);

  it('names its dialect', async () => {
    const h = await openHistory(pg.url);
    expect(h.dialect).toBe('postgres');
    await h.close();
  });
});

describe('HISTORY_URL', () => {
  it('names its backend or why it names none', () => {
    expect(historyDialectOf('sqlite:quantum-history.db')).toBe('sqlite');
    expect(historyDialectOf('postgres://postgres@127.0.0.1:5432/q')).toBe('postgres');
    expect(historyDialectOf('postgresql://h/q')).toBe('postgres');
    expect(historyDialectOf('mysql://h/q')).toEqual({ error: expect.stringMatching(/sqlite:<path>/) });
    expect(historyDialectOf('sqlite:')).toEqual({ error: expect.any(String) });
  });
});
