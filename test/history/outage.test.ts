/**
 * The history database goes down while plans flow through the real apply, governor and position
 * brain (private Redis, paper exchange): trading goes on, and once the database is back the
 * recorder catches up with every stream entry recorded once (0 gaps, 0 duplicates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { syntheticMarkets } from '../../src/exchange/paper/markets.js';
import { openHistory, type History } from '../../src/history/db.js';
import { Recorder } from '../../src/history/recorder.js';
import { historyStreamKeys } from '../../src/history/rows.js';
import { HISTORY_STREAMS, type HistoryStream } from '../../src/history/rows.js';
import { systemClock } from '../../src/ops/clock.js';
import { captureLogger } from '../../src/ops/logger.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { freshComputedAt } from '../helpers/decide.js';
import {
  postgresHost,
  postgresPort,
  postgresUrl,
  skipPostgres,
  usePrivateDatabase,
} from '../helpers/postgres.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { awaitSnapshots, startAuthorities, type Authorities } from '../reliability/authorities.js';
import { PAPER_KEYS, startReplica, type Replica } from '../reliability/rig.js';
import { planIdFor, proposal } from '../services/apply/harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const SYMBOLS = syntheticMarkets(24).map((m) => m.symbol);
const BEFORE = SYMBOLS.slice(0, 8);
const DURING = SYMBOLS.slice(8, 24);

describe.skipIf(skipRedis || skipPostgres)(
  'history recorder across a database outage (real services)',
  () => {
    const server = usePrivateRedis();
    const db = usePrivateDatabase();
    let paper: PaperExchange;
    let store: Store;
    let authorities: Authorities;
    let apply: Replica;
    let proxy: TcpProxy;
    let history: History;
    let recorder: Recorder;

    beforeAll(async () => {
      paper = await startPaperExchange({
        host: '127.0.0.1',
        port: 0,
        ...PAPER_KEYS,
        syntheticSymbols: SYMBOLS.length,
      });
      for (const s of SYMBOLS) paper.state.setPosition(s, 10);
      const prefix = server.prefix();
      store = await createStore({ url: server.url, prefix });
      authorities = await startAuthorities(server.url, prefix, paper, SYMBOLS);
      apply = await startReplica('solo', server.url, prefix, paper, {
        leases: false,
        opts: { symbols: SYMBOLS, allowlist: SYMBOLS },
      });
      await awaitSnapshots(store, SYMBOLS, '10', 15_000);
      proxy = await startTcpProxy(postgresHost, postgresPort);
      history = await openHistory(postgresUrl(db.name, '127.0.0.1', proxy.port));
      recorder = new Recorder({
        store: await createStore({ url: server.url, prefix }),
        history,
        clock: systemClock,
        logger: captureLogger({ level: 'info' }).logger,
        consumer: 'rec-outage',
        batch: 5,
        idleMs: 20,
        retry: { minMs: 50, maxMs: 400 },
      });
      recorder.start();
    }, 60_000);

    afterAll(async () => {
      await recorder?.stop();
      await history?.close();
      await apply?.stop();
      await authorities?.stop();
      await proxy?.close();
      await store?.close();
      await paper?.close();
    });

    const results = async () =>
      new Map(
        (await store.xrange(store.keys.resultStream(), '-', '+')).map((e) => [e.fields.plan_id!, e.fields]),
      );

    async function trade(symbols: readonly string[]): Promise<string[]> {
      const ids: string[] = [];
      for (const s of symbols) {
        const fields = proposal('PARTIAL_50', '0.3', { computed_at_utc: freshComputedAt() });
        await store.del([store.keys.proposal(s)]);
        await store.hset(store.keys.proposal(s), fields);
        ids.push(planIdFor(s, fields));
      }
      await until(
        async () => {
          const r = await results();
          return ids.every((id) => r.has(id));
        },
        20_000,
        'every result',
      );
      return ids;
    }

    /** Stream ids per followed stream, and the same from the database. */
    async function streamIds(): Promise<Record<HistoryStream, string[]>> {
      const keys = historyStreamKeys(store.keys);
      const out = {} as Record<HistoryStream, string[]>;
      for (const s of HISTORY_STREAMS) out[s] = (await store.xrange(keys[s], '-', '+')).map((e) => e.id);
      return out;
    }

    async function recordedIds(): Promise<Record<HistoryStream, string[]>> {
      const h = history.db;
      const planIds = await h.selectFrom('plans').select('stream_id').execute();
      const dec = await h.selectFrom('decisions').select(['stream', 'stream_id']).execute();
      const res = await h.selectFrom('results').select(['stream', 'stream_id']).execute();
      const of = (rows: { stream: string; stream_id: string }[], s: string) =>
        rows.filter((r) => r.stream === s).map((r) => r.stream_id);
      return {
        'apply.plan': planIds.map((r) => r.stream_id),
        'apply.result': of(res, 'apply.result'),
        'apply.reconciled': of(res, 'apply.reconciled'),
        // Orders are one row per intent; their events are checked apart.
        'apply.orders': [],
        'governor.decisions': of(dec, 'governor.decisions'),
        'p33.decisions': of(dec, 'p33.decisions'),
      };
    }

    it('trading continues while the database is cut; after it returns every entry is recorded once', async () => {
      const first = await trade(BEFORE);
      await until(
        async () => (await history.db.selectFrom('plans').select('plan_id').execute()).length >= first.length,
      );

      await proxy.cut();
      const during = await trade(DURING);
      const r = await results();
      for (const id of [...first, ...during])
        expect(r.get(id), id).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
      expect(paper.state.orders.length).toBe(SYMBOLS.length);
      await until(() => recorder.waitingFor?.includes('history database'), 10_000, 'the recorder to wait');
      expect((await recorder.lag()).find((l) => l.stream === 'apply.plan')!.entries).toBeGreaterThan(0);

      await proxy.restore();
      await until(
        async () => (await recorder.lag()).every((l) => l.entries === 0),
        30_000,
        'the recorder to catch up',
      );
      expect(recorder.waitingFor).toBeNull();

      const onStreams = await streamIds();
      const recorded = await recordedIds();
      for (const s of HISTORY_STREAMS) {
        if (s === 'apply.orders') continue;
        // 0 gaps and 0 duplicates: the same ids, each once.
        expect([...recorded[s]].sort(), s).toEqual([...onStreams[s]].sort());
      }
      expect(onStreams['apply.plan']).toHaveLength(SYMBOLS.length);
      expect(onStreams['governor.decisions']).toHaveLength(SYMBOLS.length);
      expect(onStreams['p33.decisions']).toHaveLength(SYMBOLS.length);

      const orders = await history.db.selectFrom('orders').selectAll().execute();
      expect(orders.map((o) => o.client_order_id).sort()).toEqual(
        paper.state.orders.map((o) => o.clientOrderId).sort(),
      );
      for (const o of orders) {
        const fill = paper.state.orders.find((x) => x.clientOrderId === o.client_order_id)!;
        expect(o, o.client_order_id).toMatchObject({
          state: 'filled',
          order_id: String(fill.orderId),
          executed_qty: fill.executedQty,
          avg_price: fill.avgPrice,
        });
        expect(Number(o.executed_qty)).toBe(5);
        expect(Number(o.avg_price)).toBeGreaterThan(0);
      }
    }, 120_000);
  },
);
