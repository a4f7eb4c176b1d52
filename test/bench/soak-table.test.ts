import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readMarkedBlock } from '../../bench/lib/doc.js';
import { nextSoakBlock, SOAK_RUNS_KEPT, type SoakFigures } from '../../bench/lib/soak-table.js';

const figures = (plans: number): SoakFigures => ({
  plans,
  execute_plans: 911,
  results: plans,
  orders: 701,
  replica_kills: 11,
  faults_applied: 327,
  lost: 0,
  duplicate_results: 0,
  duplicate_orders: 0,
  unpermitted_orders: 0,
  misreported_orders: 2,
  overclosed_fills: 0,
  double_filled_client_ids: 0,
  plans_per_sec: 4.87,
  orders_per_sec: 2.92,
});

const rowsOf = (block: string) => block.split('\n').slice(2);

describe('the soak table in RELIABILITY.md', () => {
  it('when a run is added then it is numbered after the last row and the oldest beyond three go', () => {
    let block = nextSoakBlock('', figures(1000), '2026-12-01', 'cpu A, --minutes 4 --seed 7');
    for (let i = 1; i <= 3; i++)
      block = nextSoakBlock(block, figures(1000 + i), `2026-12-0${i + 1}`, 'cpu B');
    const rows = rowsOf(block);
    expect(rows).toHaveLength(SOAK_RUNS_KEPT);
    expect(rows.map((r) => /^\| (run \d+)/.exec(r)?.[1])).toEqual(['run 2', 'run 3', 'run 4']);
    expect(rows[2]).toBe(
      '| run 4 (2026-12-04, cpu B) | 1,003 | 911 | 1,003 | 701 | 11 | 327 | 0 | 0 | 0 | 0 | 2 | 0 | 0 | 4.9 | 2.9 |',
    );
  });

  it('when the block in RELIABILITY.md gets a run then its rows and the new one have as many cells as the header', () => {
    const block = readMarkedBlock(readFileSync('RELIABILITY.md', 'utf8'), 'soak');
    const before = rowsOf(block);
    const next = nextSoakBlock(block, figures(1200), '2026-12-08', 'cpu C');
    const [header, , ...rows] = next.split('\n');
    const cells = (l: string) => l.split('|').length;
    expect(rows).toEqual([...before.slice(-(SOAK_RUNS_KEPT - 1)), rows.at(-1)]);
    for (const r of rows) expect(cells(r)).toBe(cells(header!));
    expect(block.split('\n')[0]).toBe(header);
  });
});
