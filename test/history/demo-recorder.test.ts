/**
 * The demo records its run: every plan it published and every result it printed end up in the
 * history database it was given, with the orders the paper exchange filled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run.js';
import { openHistory } from '../../src/history/db.js';
import { countRows } from '../../src/history/write.js';

describe('demo with a history database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qa-demo-history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when run with --history-url then the database holds its plans, decisions, orders and results', async () => {
    const url = `sqlite:${join(dir, 'demo.db')}`;
    const out: string[] = [];
    expect(await runDemo({ durationSec: 10, historyUrl: url, out: (t) => void out.push(t) })).toBe(0);
    const text = out.join('');
    const h = await openHistory(url);
    try {
      const rows = await countRows(h.db);
      expect(text).toContain(
        `history: ${rows.plans} plans, ${rows.decisions} decisions, ${rows.orders} orders, ${rows.results} results recorded in ${url}`,
      );
      expect(rows.plans).toBeGreaterThan(5);
      // Every result has its plan; every order its plan and a filled or refused state.
      const results = await h.db.selectFrom('results').select('plan_id').execute();
      const plans = new Set(
        (await h.db.selectFrom('plans').select('plan_id').execute()).map((p) => p.plan_id),
      );
      expect(results.filter((r) => !plans.has(r.plan_id))).toEqual([]);
      const orders = await h.db.selectFrom('orders').selectAll().execute();
      expect(orders.length).toBeGreaterThan(0);
      for (const o of orders) expect(o.state, o.client_order_id).not.toBe('sending');
      const filled = orders.filter((o) => o.state === 'filled');
      expect(filled.length).toBeGreaterThan(0);
      for (const o of filled) expect(Number(o.avg_price), o.client_order_id).toBeGreaterThan(0);
      const verdicts = await h.db
        .selectFrom('decisions')
        .select(['authority', 'verdict'])
        .distinct()
        .execute();
      expect(verdicts).toEqual(
        expect.arrayContaining([
          { authority: 'governor', verdict: 'GRANTED' },
          { authority: 'p33', verdict: 'ALLOW' },
        ]),
      );
    } finally {
      await h.close();
    }
  }, 40_000);
});
