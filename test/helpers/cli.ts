/**
 * Runs `quantum-apply <args>` in-process with an injected env, captured output and logs, and a
 * stop the test triggers (instead of SIGTERM). Services bind their ops servers on loopback.
 */
import { main } from '../../src/cli/main.js';
import { startPaperExchange } from '../../src/exchange/paper/index.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { startRedis } from './redis-server.js';

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
  const store = new RedisStore({ url: server.url, prefix });
  await store.init();
  const env: Record<string, string> = {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: prefix,
    APPLY_MODE: 'testnet',
    BINANCE_FUTURES_BASE_URL: paper.url,
    BINANCE_TESTNET_API_KEY: 'paper-key',
    BINANCE_TESTNET_API_SECRET: 'paper-secret',
    APPLY_METRICS_PORT: '0',
    METRICS_PORT: '0',
    P33_METRICS_PORT: '0',
    P33_POLL_SEC: '0.2',
  };
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
