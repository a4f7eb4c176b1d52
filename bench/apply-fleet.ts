/**
 * The "fleet" side of bench/apply-latency.ts, run in a forked process: writes proposals and
 * permits with plain HSET/SETEX, reads the plan stream with a blocking XREAD, and hosts the paper
 * exchange, stamping when each order request has been read. Every interval is measured on this
 * process's clock (performance.now()).
 *
 * The floor, in the same rounds: after each of our orders, this process sends a signed
 * reduce-only MARKET order of its own on a fresh connection (a raw client, nothing between the
 * decision and the request) and its arrival is stamped the same way.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { planIdOf } from '../src/domain/plan.js';
import { parseProposal } from '../src/domain/proposal.js';
import { startPaperExchange, type PaperExchange } from '../src/exchange/paper/index.js';
import { clientOrderIdFor } from '../src/exchange/port.js';
import { keySpace } from '../src/store/keys.js';
import { sleep } from '../test/helpers/wait.js';
import { Signed } from './lib/floor/common.js';

export type FleetRequest =
  | {
      kind: 'start';
      redisUrl: string;
      prefix: string;
      apiKey: string;
      apiSecret: string;
      /** Position reads answered this much later (0: at once). */
      readLatencyMs: number;
    }
  | { kind: 'run'; iterations: number; warmup: number };

export type FleetReport =
  | { kind: 'ready'; paperUrl: string }
  | { kind: 'done'; planMs: number[]; rounds: FleetRound[] }
  | { kind: 'failed'; error: string };

/** One measured round: our hand-off and the raw client's order right after it. */
export interface FleetRound {
  planId: string;
  clientOrderId: string;
  /** Last permit's SETEX sent → our order read by the exchange. */
  orderMs: number;
  /** A raw client's signed POST on a fresh connection → read by the exchange. */
  floorMs: number;
  /** When the last permit's SETEX was sent (epoch ms, performance.timeOrigin based). */
  lastPermitWall: number;
}

const SYMBOL = 'BTCUSDT';

interface Fleet {
  paper: PaperExchange;
  writer: Redis;
  reader: Redis;
  raw: Signed;
  keys: ReturnType<typeof keySpace>;
  arrivalOf(clientOrderId: string, timeoutMs: number): Promise<number | undefined>;
}

async function start(req: Extract<FleetRequest, { kind: 'start' }>): Promise<Fleet> {
  const paper = await startPaperExchange({
    apiKey: req.apiKey,
    apiSecret: req.apiSecret,
    host: '127.0.0.1',
    port: 0,
    positions: { [SYMBOL]: 50 },
    // The account's weight is not what this bench measures (bench:venue does): without the usage
    // headers the adapter never starts sharing position reads, which paces reads to the weight
    // left and put hundreds of milliseconds on rounds paced at 20 a second.
    usageHeaders: false,
  });
  if (req.readLatencyMs > 0) {
    paper.faults.set({ endpoint: '/fapi/v3/positionRisk', method: 'GET', latencyMs: req.readLatencyMs });
  }
  // The paper exchange logs each request once its body is read: stamp that moment.
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  const log = paper.state.requestLog;
  const push = log.push.bind(log);
  log.push = (...items) => {
    const t = performance.now();
    for (const e of items) {
      if (e.method !== 'POST' || e.path !== '/fapi/v1/order' || !e.clientOrderId) continue;
      arrivals.set(e.clientOrderId, t);
      waiters.get(e.clientOrderId)?.(t);
    }
    return push(...items);
  };
  return {
    paper,
    writer: new Redis(req.redisUrl),
    reader: new Redis(req.redisUrl),
    raw: new Signed(true, { baseUrl: paper.url, apiKey: req.apiKey, apiSecret: req.apiSecret }),
    keys: keySpace({ prefix: req.prefix }),
    arrivalOf: (cid, timeoutMs) =>
      new Promise((resolve) => {
        const known = arrivals.get(cid);
        if (known !== undefined) return resolve(known);
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        waiters.set(cid, (t) => {
          clearTimeout(timer);
          waiters.delete(cid);
          resolve(t);
        });
      }),
  };
}

async function run(f: Fleet, iterations: number, warmup: number): Promise<FleetReport> {
  const planMs: number[] = [];
  const rounds: FleetRound[] = [];
  let lastId = '$';
  let roundStart = 0;
  for (let i = 0; i < warmup + iterations; i++) {
    // Rounds at least 50 ms apart: the previous round's background work (result, logs) is done.
    await sleep(Math.max(0, roundStart + 50 - performance.now()));
    roundStart = performance.now();
    const fields = {
      harvest_action: 'PARTIAL_50',
      kill_score: '0.2',
      new_sl_proposed: '',
      computed_at_utc: `${new Date().toISOString().slice(0, 19)}.${String(i).padStart(6, '0')}+00:00`,
    };
    const parsed = parseProposal(SYMBOL, fields);
    if (!parsed.ok) throw new Error(parsed.reason);
    const id = planIdOf(parsed.proposal);
    const pending = f.reader.xread('BLOCK', 10_000, 'STREAMS', f.keys.planStream(), lastId);
    await sleep(2); // let the XREAD reach the server first
    const t0 = performance.now();
    await f.writer.hset(f.keys.proposal(SYMBOL), fields);
    const got = await pending;
    const t1 = performance.now();
    const entries = got?.[0]?.[1] ?? [];
    lastId = entries[entries.length - 1]?.[0] ?? lastId;
    const gov = { granted: true, symbol: SYMBOL, decision: 'EXECUTE', computed_qty: 0.001, consumed: false };
    await f.writer.setex(f.keys.permit('governor', id), 60, JSON.stringify(gov));
    await sleep(3 + Math.random() * 5); // the two authorities answer apart
    const p33 = { allow: true, symbol: SYMBOL, safe_close_qty: 0.001, exchange_position_amt: 50 };
    const body = JSON.stringify(p33);
    const cid = clientOrderIdFor(id, 'CLOSE_PARTIAL_50');
    const t2 = performance.now();
    await f.writer.setex(f.keys.permit('p33', id), 60, body);
    const arrival = await f.arrivalOf(cid, 3000);
    if (arrival === undefined) {
      const results = await f.writer.xrevrange(f.keys.resultStream(), '+', '-', 'COUNT', 5);
      const mine = results.find(([, kv]) => kv[kv.indexOf('plan_id') + 1] === id);
      throw new Error(
        `no order arrived for plan ${id} (round ${i}); result: ${JSON.stringify(mine?.[1] ?? null)}`,
      );
    }
    for (let k = 0; k < 3000 && (await f.writer.exists(f.keys.resultPublished(id))) !== 1; k++)
      await sleep(1);
    const floorMs = await rawOrder(f, `floor-${process.pid}-${i}`);
    if (i >= warmup) {
      planMs.push(t1 - t0);
      rounds.push({
        planId: id,
        clientOrderId: cid,
        orderMs: arrival - t2,
        floorMs,
        lastPermitWall: performance.timeOrigin + t2,
      });
    }
  }
  return { kind: 'done', planMs, rounds };
}

/** The floor: a raw client's signed order on a fresh connection, sent → read by the exchange. */
async function rawOrder(f: Fleet, cid: string): Promise<number> {
  const t = performance.now();
  const answered = f.raw.request('POST', '/fapi/v1/order', {
    symbol: SYMBOL,
    side: 'SELL',
    type: 'MARKET',
    quantity: '0.001',
    reduceOnly: 'true',
    newClientOrderId: cid,
    newOrderRespType: 'RESULT',
  });
  const arrival = await f.arrivalOf(cid, 3000);
  await answered;
  if (arrival === undefined) throw new Error(`the raw order ${cid} did not arrive`);
  return arrival - t;
}

export function runFleet(): void {
  let fleet: Fleet | null = null;
  const reply = (m: FleetReport) => process.send?.(m);
  process.on('message', (msg: FleetRequest) => {
    const work =
      msg.kind === 'start'
        ? start(msg).then((f) => {
            fleet = f;
            return { kind: 'ready', paperUrl: f.paper.url } as FleetReport;
          })
        : fleet
          ? run(fleet, msg.iterations, msg.warmup)
          : Promise.reject(new Error('not started'));
    work.then(reply, (err: unknown) => reply({ kind: 'failed', error: String(err) }));
  });
  process.on('SIGTERM', () => {
    const f = fleet;
    void (async () => {
      f?.writer.disconnect();
      f?.reader.disconnect();
      f?.raw.close();
      await f?.paper.close();
      process.exit(0);
    })();
  });
}
