/**
 * Opens the history database named by a URL and brings its schema up to date:
 *  - `sqlite:<path>` (`sqlite::memory:` for a private in-memory one): better-sqlite3, a file;
 *  - `postgres://…` / `postgresql://…`: the pg driver with a pool.
 */
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type HistoryDialect = 'sqlite' | 'postgres';

export interface History {
  db: Kysely<Database>;
  dialect: HistoryDialect;
  close(): Promise<void>;
}

export interface OpenHistoryOptions {
  /** PostgreSQL pool size (default 4: the recorder writes one batch at a time, queries read beside it). */
  poolMax?: number;
  /** Skip the migrations (a reader that must not change the schema); default false. */
  readOnly?: boolean;
}

export class HistoryUrlError extends Error {}

/** The backend a URL names, or a reason it names none (for config parsing and errors alike). */
export function historyDialectOf(url: string): HistoryDialect | { error: string } {
  if (/^sqlite:./.test(url)) return 'sqlite';
  if (/^postgres(ql)?:\/\/./.test(url)) return 'postgres';
  return { error: 'expected sqlite:<path> or postgres://user@host:port/database' };
}

/** int8 (bigint) columns hold unix ms, which a double holds exactly: read them as numbers. */
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

async function sqliteDialect(path: string, readOnly: boolean): Promise<SqliteDialect> {
  // Loaded only for a SQLite history: a native addon the bundle cannot carry, so the commands
  // that never open one run from the bundle alone, without node_modules.
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const file = new BetterSqlite3(path, readOnly ? { readonly: true, fileMustExist: true } : {});
  if (!readOnly && path !== ':memory:') {
    // WAL lets the CLI read while the recorder writes; NORMAL syncs at checkpoints, and a crash
    // loses at most the last commits, which the recorder's unacked stream entries bring back.
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = NORMAL');
  }
  file.pragma('busy_timeout = 5000');
  return new SqliteDialect({ database: file });
}

function pgPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes });
  // An idle connection the server (or the network) drops is reported here; unheard, the event
  // would end the process. The pool discards it, and the next query that fails says why.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: a connection reset between two of its queries
  // (inside a batch's transaction) would be an uncaught 'error' and end the process, trading
  // too when the recorder runs inside `all`. The query in flight or the next one fails instead,
  // and the recorder retries its batch.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function openHistory(url: string, opts: OpenHistoryOptions = {}): Promise<History> {
  const dialect = historyDialectOf(url);
  if (typeof dialect !== 'string') throw new HistoryUrlError(`HISTORY_URL: ${dialect.error}`);
  const readOnly = opts.readOnly ?? false;
  const db = new Kysely<Database>({
    dialect:
      dialect === 'sqlite'
        ? await sqliteDialect(url.slice('sqlite:'.length), readOnly)
        : new PostgresDialect({ pool: pgPool(url, opts.poolMax ?? 4) }),
  });
  if (!readOnly) {
    try {
      const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error(String(error));
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  return { db, dialect, close: () => db.destroy() };
}
