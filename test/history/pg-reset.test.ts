/**
 * A PostgreSQL connection reset while the recorder holds a pooled client (between two queries of
 * a batch's transaction) must fail that transaction, not raise an uncaught 'error' that would end
 * the process (and trading with it when the recorder runs inside `all`).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistory, type History } from '../../src/history/db.js';
import {
  postgresHost,
  postgresPort,
  postgresUrl,
  skipPostgres,
  usePrivateDatabase,
} from '../helpers/postgres.js';
import { sleep } from '../helpers/wait.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

describe.skipIf(skipPostgres)('history on PostgreSQL: a connection reset mid-transaction', () => {
  const db = usePrivateDatabase();
  let proxy: TcpProxy;
  let history: History;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => void uncaught.push(err);

  beforeAll(async () => {
    proxy = await startTcpProxy(postgresHost, postgresPort);
    history = await openHistory(postgresUrl(db.name, '127.0.0.1', proxy.port));
    process.prependListener('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.removeListener('uncaughtException', onUncaught);
    await history?.close();
    await proxy?.close();
  });

  it('when the connection is reset between two queries then the transaction fails and nothing is uncaught', async () => {
    const tx = history.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      await proxy.cut();
      // The reset reaches the checked-out client while no query of it is in flight.
      await sleep(200);
      await sql`select 1`.execute(trx);
    });
    await expect(tx).rejects.toThrow();
    expect(uncaught).toEqual([]);

    await proxy.restore();
    const again = await sql<{ one: number }>`select 1 as one`.execute(history.db);
    expect(again.rows[0]?.one).toBe(1);
  });
});
