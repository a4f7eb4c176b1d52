/**
 * The soak's table in RELIABILITY.md (block `soak`): one row per run, the last three kept, so a
 * run records itself and git keeps the older rows.
 */
export const SOAK_RUNS_KEPT = 3;

/** The soak report's figures that make a row (bench/soak.ts prints the whole report). */
export interface SoakFigures {
  plans: number;
  execute_plans: number;
  results: number;
  orders: number;
  replica_kills: number;
  faults_applied: number;
  lost: number;
  duplicate_results: number;
  duplicate_orders: number;
  unpermitted_orders: number;
  misreported_orders: number;
  overclosed_fills: number;
  double_filled_client_ids: number;
  plans_per_sec: number;
  orders_per_sec: number;
}

const COLUMNS: [string, (f: SoakFigures) => string][] = [
  ['plans', (f) => count(f.plans)],
  ['EXECUTE plans', (f) => count(f.execute_plans)],
  ['results', (f) => count(f.results)],
  ['orders', (f) => count(f.orders)],
  ['replica kills', (f) => count(f.replica_kills)],
  ['faults injected', (f) => count(f.faults_applied)],
  ['lost', (f) => count(f.lost)],
  ['dup. results', (f) => count(f.duplicate_results)],
  ['dup. orders', (f) => count(f.duplicate_orders)],
  ['unpermitted', (f) => count(f.unpermitted_orders)],
  ['misreported', (f) => count(f.misreported_orders)],
  ['overclosed', (f) => count(f.overclosed_fills)],
  ['filled twice', (f) => count(f.double_filled_client_ids)],
  ['plans/s', (f) => f.plans_per_sec.toFixed(1)],
  ['orders/s', (f) => f.orders_per_sec.toFixed(1)],
];

function count(n: number): string {
  return n.toLocaleString('en-US');
}

const HEADER = `| run | ${COLUMNS.map(([name]) => name).join(' | ')} |`;
const RULE = `|${'---|'.repeat(COLUMNS.length + 1)}`;

/** The run's label: its number (one past the last row's "run N"), the date and what it ran on. */
export function soakRunLabel(lastRow: string | undefined, date: string, detail: string): string {
  const last = /^\|\s*run (\d+)\b/.exec(lastRow ?? '');
  const n = last ? Number(last[1]) + 1 : 1;
  return `run ${n} (${date}, ${detail})`;
}

/**
 * The block after a run: the header, then the rows of `previous` (the block as it stood) with
 * this run's row appended, the oldest dropped beyond SOAK_RUNS_KEPT.
 */
export function nextSoakBlock(previous: string, f: SoakFigures, date: string, detail: string): string {
  const rows = previous.split('\n').filter((l) => /^\|\s*run \d+/.test(l));
  const row = `| ${soakRunLabel(rows.at(-1), date, detail)} | ${COLUMNS.map(([, cell]) => cell(f)).join(' | ')} |`;
  return [HEADER, RULE, ...[...rows, row].slice(-SOAK_RUNS_KEPT)].join('\n');
}
