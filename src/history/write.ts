/**
 * Writes a batch of rows in one transaction, idempotently: every insert is ON CONFLICT DO NOTHING
 * on the row's natural keys, and an order update never overwrites a later one, so writing a batch
 * again (the recorder after a failed commit or a restart, a backfill over what was recorded)
 * leaves the database as it was.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { History } from './db.js';
import type { OrderEvent } from './rows.js';
import type { Database, DecisionRow, PlanRow, ResultRow } from './schema.js';

export interface RowBatch {
  plans: PlanRow[];
  decisions: DecisionRow[];
  results: ResultRow[];
  /** In stream order: an order's intent before its updates. */
  orders: OrderEvent[];
}

export function emptyBatch(): RowBatch {
  return { plans: [], decisions: [], results: [], orders: [] };
}

export function batchSize(b: RowBatch): number {
  return b.plans.length + b.decisions.length + b.results.length + b.orders.length;
}

/** Rows new to the database (the rest were there already). */
export interface WriteCounts {
  plans: number;
  decisions: number;
  results: number;
  orders: number;
}

/** Rows per INSERT: SQLite allows 32,766 bound values in a statement, the widest row has 17. */
const CHUNK = 500;

async function insertNew<T extends 'plans' | 'decisions' | 'results'>(
  tx: Transaction<Database>,
  table: T,
  rows: readonly Database[T][],
): Promise<number> {
  let n = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const res = await tx
      .insertInto(table)
      .values(rows.slice(i, i + CHUNK) as never)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    n += Number(res.numInsertedOrUpdatedRows ?? 0n);
  }
  return n;
}

async function writeOrders(tx: Transaction<Database>, events: readonly OrderEvent[]): Promise<number> {
  let n = 0;
  for (const e of events) {
    if (e.kind === 'intent') {
      const res = await tx
        .insertInto('orders')
        .values(e.row)
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      n += Number(res.numInsertedOrUpdatedRows ?? 0n);
      continue;
    }
    const res = await tx
      .updateTable('orders')
      .set({ ...e.set, updated_at_ms: e.atMs, stream_id: e.streamId, fields: e.fields })
      .where('plan_id', '=', e.planId)
      // A replayed older answer never overwrites a newer one.
      .where('updated_at_ms', '<=', e.atMs)
      .where('stream_id', '!=', e.streamId)
      .executeTakeFirst();
    n += Number(res.numUpdatedRows);
  }
  return n;
}

export async function writeBatch(history: Pick<History, 'db'>, batch: RowBatch): Promise<WriteCounts> {
  return history.db.transaction().execute(async (tx) => ({
    plans: await insertNew(tx, 'plans', batch.plans),
    decisions: await insertNew(tx, 'decisions', batch.decisions),
    results: await insertNew(tx, 'results', batch.results),
    orders: await writeOrders(tx, batch.orders),
  }));
}

/** Row counts per table (tests, the bench, `history stats`' totals). */
export async function countRows(db: Kysely<Database>): Promise<WriteCounts> {
  const count = async (t: keyof Database) => {
    const r = await db
      .selectFrom(t)
      .select(sql<string | number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  };
  return {
    plans: await count('plans'),
    decisions: await count('decisions'),
    results: await count('results'),
    orders: await count('orders'),
  };
}
