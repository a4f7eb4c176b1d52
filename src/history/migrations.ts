/**
 * The history schema's migrations, in code (the bundled CLI carries no migration folder). One
 * list for both dialects: only types both speak (text, bigint, integer). Kysely's Migrator runs
 * them in name order, records them in `kysely_migration`, and holds its lock while it does, so two
 * recorders starting at once migrate once.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';

// Migrations see the database before the schema they build, so they take it untyped.
type AnyDb = Kysely<unknown>;

const init: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('plans')
      .addColumn('plan_id', 'text', (c) => c.primaryKey())
      .addColumn('stream_id', 'text', (c) => c.notNull().unique())
      .addColumn('symbol', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('reason_codes', 'text', (c) => c.notNull())
      .addColumn('kill_score', 'text', (c) => c.notNull())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .addColumn('fields', 'text', (c) => c.notNull())
      .execute();
    // plan_id last: `history` orders by (at_ms, plan_id), so the newest N come off the index
    // without sorting the whole window.
    await db.schema
      .createIndex('plans_symbol_at')
      .on('plans')
      .columns(['symbol', 'at_ms', 'plan_id'])
      .execute();
    await db.schema.createIndex('plans_at').on('plans').columns(['at_ms', 'plan_id']).execute();

    await db.schema
      .createTable('decisions')
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('stream_id', 'text', (c) => c.notNull())
      .addColumn('authority', 'text', (c) => c.notNull())
      .addColumn('plan_id', 'text', (c) => c.notNull())
      .addColumn('symbol', 'text', (c) => c.notNull())
      .addColumn('verdict', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .addColumn('fields', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('decisions_pk', ['stream', 'stream_id'])
      .execute();
    await db.schema.createIndex('decisions_plan').on('decisions').column('plan_id').execute();
    await db.schema.createIndex('decisions_symbol_at').on('decisions').columns(['symbol', 'at_ms']).execute();
    await db.schema.createIndex('decisions_at').on('decisions').column('at_ms').execute();

    await db.schema
      .createTable('orders')
      .addColumn('client_order_id', 'text', (c) => c.primaryKey())
      .addColumn('plan_id', 'text', (c) => c.notNull())
      .addColumn('step', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('symbol', 'text', (c) => c.notNull())
      .addColumn('side', 'text', (c) => c.notNull())
      .addColumn('quantity', 'text', (c) => c.notNull())
      .addColumn('trigger_price', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('executed_qty', 'text', (c) => c.notNull())
      .addColumn('avg_price', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('intent_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('stream_id', 'text', (c) => c.notNull())
      .addColumn('fields', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('orders_plan').on('orders').column('plan_id').execute();
    await db.schema
      .createIndex('orders_symbol_at')
      .on('orders')
      .columns(['symbol', 'intent_at_ms'])
      .execute();
    await db.schema.createIndex('orders_at').on('orders').column('intent_at_ms').execute();

    await db.schema
      .createTable('results')
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('stream_id', 'text', (c) => c.notNull())
      .addColumn('plan_id', 'text', (c) => c.notNull())
      .addColumn('symbol', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('executed', 'integer', (c) => c.notNull())
      .addColumn('would_execute', 'integer', (c) => c.notNull())
      .addColumn('error', 'text', (c) => c.notNull())
      .addColumn('steps_results', 'text', (c) => c.notNull())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .addColumn('fields', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('results_pk', ['stream', 'stream_id'])
      // One result per plan on each stream, ever (PROTOCOL.md): a second entry is a replay.
      .addUniqueConstraint('results_stream_plan', ['stream', 'plan_id'])
      .execute();
    await db.schema.createIndex('results_plan').on('results').column('plan_id').execute();
    await db.schema.createIndex('results_symbol_at').on('results').columns(['symbol', 'at_ms']).execute();
    await db.schema.createIndex('results_at').on('results').column('at_ms').execute();
  },
};

export const MIGRATIONS: Record<string, Migration> = {
  '0001_init': init,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
