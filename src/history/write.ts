/**
 * Writes a batch of rows in one transaction, idempotently: every insert is ON CONFLICT DO NOTHING
 * on the row's natural keys, and an order update never overwrites a later one, so writing a batch
 * again (the recorder after a failed commit or a restart, a backfill over what was recorded)
 * leaves the database as it was.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { History } from './db.js';
import type { OrderEvent } from './rows.js';
import type { Database, DecisionRow, OrderRow, PlanRow, ResultRow } from './schema.js';

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

type OrderUpdate = Extract<OrderEvent, { kind: 'update' }>;

/**
 * An intent and the answers after it in the same batch become one row (one INSERT for the batch
 * rather than one UPDATE per answer): `folded` rows carry a later state than their intent.
 */
function foldOrders(events: readonly OrderEvent[]): {
  rows: OrderRow[];
  folded: OrderRow[];
  updates: OrderUpdate[];
} {
  const intents = new Map<string, { row: OrderRow; folded: boolean }>();
  const updates: OrderUpdate[] = [];
  for (const e of events) {
    if (e.kind === 'intent') {
      if (!intents.has(e.row.plan_id)) intents.set(e.row.plan_id, { row: { ...e.row }, folded: false });
      continue;
    }
    const held = intents.get(e.planId);
    if (!held) {
      updates.push(e);
      continue;
    }
    Object.assign(held.row, e.set, { updated_at_ms: e.atMs, stream_id: e.streamId, fields: e.fields });
    held.folded = true;
  }
  const all = [...intents.values()];
  return {
    rows: all.filter((x) => !x.folded).map((x) => x.row),
    folded: all.filter((x) => x.folded).map((x) => x.row),
    updates,
  };
}

async function writeOrders(tx: Transaction<Database>, events: readonly OrderEvent[]): Promise<number> {
  const { rows, folded, updates } = foldOrders(events);
  let n = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const res = await tx
      .insertInto('orders')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    n += Number(res.numInsertedOrUpdatedRows ?? 0n);
  }
  for (let i = 0; i < folded.length; i += CHUNK) {
    // The intent may be recorded already (a batch written, not acked, read again with its answer).
    const res = await tx
      .insertInto('orders')
      .values(folded.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc
          .column('client_order_id')
          .doUpdateSet((eb) => ({
            state: eb.ref('excluded.state'),
            order_id: eb.ref('excluded.order_id'),
            executed_qty: eb.ref('excluded.executed_qty'),
            avg_price: eb.ref('excluded.avg_price'),
            reason: eb.ref('excluded.reason'),
            side: eb.ref('excluded.side'),
            quantity: eb.ref('excluded.quantity'),
            trigger_price: eb.ref('excluded.trigger_price'),
            updated_at_ms: eb.ref('excluded.updated_at_ms'),
            stream_id: eb.ref('excluded.stream_id'),
            fields: eb.ref('excluded.fields'),
          }))
          .where('orders.updated_at_ms', '<=', (eb) => eb.ref('excluded.updated_at_ms'))
          .where('orders.stream_id', '!=', (eb) => eb.ref('excluded.stream_id')),
      )
      .executeTakeFirst();
    n += Number(res.numInsertedOrUpdatedRows ?? 0n);
  }
  for (const e of updates) {
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
