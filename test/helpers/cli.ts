/**
 * Runs `quantum-apply <args>` in-process with an injected env, captured output and logs, and a
 * stop the test triggers (instead of SIGTERM). Services bind their ops servers on loopback.
 */
import { main } from '../../src/cli/main.js';
import { startPaperExchange } from '../../src/exchange/paper/index.js';
import { startRedis } from './redis-server.js';
import type { RedisStore } from '../../src/store/redis/redis-store.js';
import { redisStoreOn } from './redis-store.js';
import { until } from './wait.js';
import { freshComputedAt } from './decide.js';

export function runCli(args: string[], env: Record<string, string>) {
  let release: (r: string) => void = () => {};
  const stopped = new Promise<string>((r) => (release = r));
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const done = main(['node', 'quantum-apply', ...args], {
    env,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    waitForStop: () => stopped,
    logDestination: { write: (s: string) => void logs.push(s) },
    opsHost: '127.0.0.1',
  });
  const lines = () => logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { done, stop: () => release('test'), out, err, logs, lines };
}

/** The env that points every service at a Redis (key prefix) and the paper exchange, ops ports 0. */
export function serviceEnv(redisUrl: string, prefix: string, paperUrl: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    APPLY_MODE: 'testnet',
    BINANCE_FUTURES_BASE_URL: paperUrl,
    BINANCE_TESTNET_API_KEY: 'paper-key',
    BINANCE_TESTNET_API_SECRET: 'paper-secret',
    APPLY_METRICS_PORT: '0',
    METRICS_PORT: '0',
    P33_METRICS_PORT: '0',
    P33_POLL_SEC: '0.2',
  };
}

/**
 * What the CLI suites run against: a private redis-server, the paper exchange with `positions`,
 * a store on a random key prefix, and the env that points a service at both (ops ports 0).
 */
export async function startCliRig(positions: Record<string, number>) {
  const server = await startRedis();
  const paper = await startPaperExchange({
    host: '127.0.0.1',
    port: 0,
    apiKey: 'paper-key',
    apiSecret: 'paper-secret',
    positions,
  });
  const prefix = server.prefix();
  const store = await redisStoreOn(server, prefix);
  const env = serviceEnv(server.url, prefix, paper.url);
  return {
    server,
    paper,
    store,
    env,
    async close() {
      await store.close();
      await paper.close();
      await server.stop();
    },
  };
}

/**
 * Once the position brain has written `symbol`'s snapshot (it allows nothing before), writes a
 * PARTIAL_50 proposal for it and returns the first result on the result stream.
 */
export async function proposeHalfCloseAndAwaitResult(store: RedisStore, symbol: string) {
  await until(async () => Object.keys(await store.hgetall(store.keys.positionSnapshot(symbol))).length > 0);
  await store.hset(store.keys.proposal(symbol), {
    harvest_action: 'PARTIAL_50',
    kill_score: '0.3',
    new_sl_proposed: '',
    computed_at_utc: freshComputedAt(),
  });
  return until(async () => (await store.xrange(store.keys.resultStream(), '-', '+'))[0]);
}
