/**
 * Exchange layer on loopback against the in-process paper exchange:
 *   A. a reduce-only MARKET order through the adapter (fresh connection per order, by design)
 *      against a same-run baseline: the same signed POST over a keep-alive socket and over a
 *      fresh socket, hand-made with node:http;
 *   B. a mark-price read through the adapter (keep-alive) against the raw keep-alive GET;
 *   C. time to a recovered fill after a 503 "unknown" that followed a real fill.
 *
 *   npm run bench:exchange                # print
 *   npm run bench:exchange -- --write     # and rewrite its block of BENCHMARKS.md
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createBinanceExchange } from '../src/exchange/binance/index.js';
import { startPaperExchange, type PaperExchange } from '../src/exchange/paper/index.js';
import { machineLine, writeMarkedBlock } from './lib/doc.js';
import { fmt, markdownTable, summarize, type Summary } from './lib/stats.js';

const KEY = 'bench-key';
const SECRET = 'bench-secret';
const N = Number(process.env.BENCH_EXCHANGE_N ?? 400);
const RECOVERIES = Number(process.env.BENCH_EXCHANGE_RECOVERIES ?? 20);

async function time(n: number, fn: (i: number) => Promise<void>): Promise<Summary> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

function rawSigned(
  px: PaperExchange,
  agent: http.Agent,
  method: string,
  path: string,
  params: Record<string, string>,
): Promise<void> {
  const query = new URLSearchParams({
    ...params,
    timestamp: String(Date.now()),
    recvWindow: '5000',
  }).toString();
  const sig = createHmac('sha256', SECRET).update(query).digest('hex');
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${px.url}${path}?${query}&signature=${sig}`,
      { method, agent, headers: { 'X-MBX-APIKEY': KEY } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const px = await startPaperExchange({
    apiKey: KEY,
    apiSecret: SECRET,
    positions: { BTCUSDT: 1_000_000 / 60_000 },
  });
  px.state.setPosition('BTCUSDT', 100);
  const ex = createBinanceExchange({
    baseUrl: px.url,
    apiKey: KEY,
    apiSecret: SECRET,
    recvWindow: 5000,
    timeoutMs: 2000,
    recoveryDelaysMs: [50, 100, 200],
    weightLimit1m: 1e9,
    orderLimit10s: 1e9,
    orderLimit1m: 1e9,
  });
  const keepAlive = new http.Agent({ keepAlive: true });
  const fresh = new http.Agent({ keepAlive: false });
  const order = (tag: string) => (i: number) => ({
    symbol: 'BTCUSDT',
    side: 'SELL',
    type: 'MARKET',
    quantity: '0.001',
    reduceOnly: 'true',
    newOrderRespType: 'RESULT',
    newClientOrderId: `b-${tag}-${i}`,
  });
  const rows: string[][] = [];
  const row = (name: string, s: Summary, base?: Summary) =>
    rows.push([
      name,
      String(s.n),
      fmt(s.p50),
      fmt(s.p90),
      fmt(s.p99),
      fmt(s.max),
      base ? `${fmt(s.p50 / base.p50)}×` : '1×',
    ]);
  try {
    const rawKeep = await time(N, (i) => rawSigned(px, keepAlive, 'POST', '/fapi/v1/order', order('k')(i)));
    const rawFresh = await time(N, (i) => rawSigned(px, fresh, 'POST', '/fapi/v1/order', order('f')(i)));
    const adapter = await time(N, async (i) => {
      const out = await ex.placeReduceOnlyMarket({
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: '0.001',
        clientOrderId: `qa-bench-${i}`,
      });
      if (out.kind !== 'filled') throw new Error(`unexpected ${out.kind}`);
    });
    row('order: raw signed POST, keep-alive socket (baseline)', rawKeep);
    row('order: raw signed POST, fresh socket', rawFresh, rawKeep);
    row('order: adapter placeReduceOnlyMarket (fresh socket)', adapter, rawKeep);
    const rawRead = await time(N, () =>
      rawSigned(px, keepAlive, 'GET', '/fapi/v3/positionRisk', { symbol: 'BTCUSDT' }),
    );
    const adapterRead = await time(N, async () => void (await ex.position('BTCUSDT')));
    row('read: raw signed positionRisk, keep-alive (baseline)', rawRead);
    row('read: adapter position()', adapterRead, rawRead);
    px.faults.set({ endpoint: '/fapi/v1/order', method: 'POST', unknownAfterFill: true });
    const recover = await time(RECOVERIES, async (i) => {
      const out = await ex.placeReduceOnlyMarket({
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: '0.001',
        clientOrderId: `qa-rec-${i}`,
      });
      if (out.kind !== 'filled' || !out.recovered) throw new Error(`unexpected ${out.kind}`);
    });
    px.faults.clear();
    const perId = new Map<string, number>();
    for (const f of px.state.fills)
      if (f.clientOrderId.startsWith('qa-rec-'))
        perId.set(f.clientOrderId, (perId.get(f.clientOrderId) ?? 0) + 1);
    const extra = [...perId.values()].reduce((a, n) => a + n - 1, 0);
    row('order after 503 unknown → recovered by client id (first query after 50 ms)', recover, adapter);
    const body = [
      `\`BENCH_EXCHANGE_N=${N} npm run bench:exchange -- --write\` (bench/exchange.ts); ${machineLine()}.`,
      '',
      'Milliseconds per call.',
      '',
      markdownTable(['path', 'n', 'p50', 'p90', 'p99', 'max', 'p50 vs baseline'], rows),
      '',
      `Fills beyond one per client order id during the recovery run: ${extra}.`,
    ].join('\n');
    process.stdout.write(`${body}\n`);
    if (process.argv.includes('--write')) writeMarkedBlock('BENCHMARKS.md', 'exchange', body);
  } finally {
    keepAlive.destroy();
    fresh.destroy();
    await ex.close();
    await px.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:exchange failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
