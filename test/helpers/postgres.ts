/**
 * A private PostgreSQL database per test file: CREATE DATABASE with a random name on the machine's
 * server (127.0.0.1:5432, trust auth, user postgres), dropped after the file's last test.
 *
 * Without a server there, PostgreSQL suites skip with a reason; with REQUIRE_POSTGRES=1 (CI) a
 * missing server fails the suite instead.
 */
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

const HOST = process.env.PGTEST_HOST ?? '127.0.0.1';
const PORT = Number(process.env.PGTEST_PORT ?? 5432);
const USER = process.env.PGTEST_USER ?? 'postgres';

export const postgresRequired = process.env.REQUIRE_POSTGRES === '1';

function reachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: HOST, port: PORT });
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const available = await reachable();
if (!available && postgresRequired) {
  throw new Error(`REQUIRE_POSTGRES=1 but no PostgreSQL answers on ${HOST}:${PORT}`);
}

/** Use as `describe.skipIf(skipPostgres)(...)`. */
export const skipPostgres = !available;
if (skipPostgres) process.stderr.write(`[postgres] skipping PostgreSQL suites: nothing on ${HOST}:${PORT}\n`);

export const postgresHost = HOST;
export const postgresPort = PORT;

/** URL of database `name` on the test server. */
export function postgresUrl(name: string, host = HOST, port = PORT): string {
  return `postgres://${USER}@${host}:${port}/${name}`;
}

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: postgresUrl('postgres') });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

export async function createDatabase(): Promise<string> {
  const name = `qa_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  // FORCE: a pool a failed test left open must not keep the database alive.
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface PrivateDatabase {
  readonly name: string;
  readonly url: string;
}

/** A database created before the file's (or describe block's) first test and dropped after its last. */
export function usePrivateDatabase(): PrivateDatabase {
  let name: string | undefined;
  beforeAll(async () => {
    if (!skipPostgres) name = await createDatabase();
  });
  afterAll(async () => {
    if (name) await dropDatabase(name);
  });
  const started = () => {
    if (!name) throw new Error('the private database is not created: use it in a test or hook');
    return name;
  };
  return {
    get name() {
      return started();
    },
    get url() {
      return postgresUrl(started());
    },
  };
}
