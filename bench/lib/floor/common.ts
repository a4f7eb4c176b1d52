/**
 * The floor: what the wire contract itself asks of the three services, and nothing of ours (no
 * validation beyond the contract's checks, no logs, no metrics, no crash recovery, no leases, no
 * decide-once markers, no atomic counting). It exists to be measured beside the real services in
 * the same run (bench/floor.ts): what one plan costs when only the contract's keys, streams and
 * exchange calls are paid for. NOT SAFE: never point it at anything but a bench's paper exchange.
 *
 * Each role runs as its own process (bench/lib/floor/worker.ts <role>), configured like the real
 * services through the fleet's env names, with ioredis auto-pipelining on its command connection.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { Redis, type RedisOptions } from 'ioredis';
import { keySpace } from '../../../src/store/keys.js';

export function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`floor: ${name} is not set`);
  return v;
}

export function connect(opts: RedisOptions = {}): Redis {
  return new Redis(need('REDIS_URL'), { enableAutoPipelining: true, ...opts });
}

/** The contract's key names, from the project's one key builder (no prefix, no cluster tags). */
export const K = keySpace();

/** Flat [k, v, k, v] (a stream entry, HGETALL off the wire) into an object. */
export function fieldsOf(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}

export interface PositionRow {
  symbol: string;
  positionAmt: string;
  markPrice: string;
  entryPrice: string;
  unRealizedProfit: string;
  leverage?: string;
}

export interface SignedAccount {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
}

/** The account of the floor's processes: the fleet's env names. */
const accountFromEnv = (): SignedAccount => ({
  baseUrl: need('BINANCE_FUTURES_BASE_URL'),
  apiKey: need('BINANCE_TESTNET_API_KEY'),
  apiSecret: need('BINANCE_TESTNET_API_SECRET'),
});

/** Signed requests to the paper exchange, the way bench/exchange.ts's raw baseline sends them. */
export class Signed {
  private readonly base: URL;
  private readonly key: string;
  private readonly secret: string;
  /** Reads reuse sockets; orders use a fresh one when `freshOrders` (as ours does, on purpose). */
  private readonly keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly freshOrders: boolean,
    account: SignedAccount = accountFromEnv(),
  ) {
    this.base = new URL(account.baseUrl);
    this.key = account.apiKey;
    this.secret = account.apiSecret;
  }

  /** Closes kept-alive sockets. */
  close(): void {
    this.keepAlive.destroy();
  }

  request(method: 'GET' | 'POST', path: string, params: Record<string, string>): Promise<unknown> {
    const query = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
    const sig = createHmac('sha256', this.secret).update(query).digest('hex');
    const agent = method === 'POST' && this.freshOrders ? false : this.keepAlive;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path: `${path}?${query}&signature=${sig}`,
          method,
          agent,
          headers: { 'X-MBX-APIKEY': this.key },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
              if ((res.statusCode ?? 500) >= 400)
                reject(new Error(`HTTP ${res.statusCode}: ${JSON.stringify(body)}`));
              else resolve(body);
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** One symbol's positionRisk row (one-way mode), or null when flat. */
  async position(symbol: string): Promise<PositionRow | null> {
    const rows = (await this.request('GET', '/fapi/v3/positionRisk', { symbol })) as PositionRow[];
    return rows.find((r) => r.symbol === symbol) ?? null;
  }

  /** Every symbol's step size, once at start (exchangeInfo is unsigned; signing it costs nothing here). */
  async steps(): Promise<Map<string, number>> {
    const info = (await this.request('GET', '/fapi/v1/exchangeInfo', {})) as {
      symbols: Array<{ symbol: string; filters: Array<{ filterType: string; stepSize?: string }> }>;
    };
    const out = new Map<string, number>();
    for (const s of info.symbols) {
      const lot = s.filters.find((f) => f.filterType === 'MARKET_LOT_SIZE' || f.filterType === 'LOT_SIZE');
      if (lot?.stepSize) out.set(s.symbol, Number(lot.stepSize));
    }
    return out;
  }
}

/** Rounds down to the step (the floor's only rounding; steps here are powers of ten). */
export function floorToStep(qty: number, step: number): string {
  const decimals = Math.max(0, Math.round(-Math.log10(step)));
  const units = Math.floor(qty / step + 1e-9);
  return (units * step).toFixed(decimals);
}

export function symbols(): string[] {
  return need('SYMBOLS').split(',').filter(Boolean);
}

export const FRACTION: Record<string, number> = {
  CLOSE_FULL: 1,
  CLOSE_PARTIAL_75: 0.75,
  CLOSE_PARTIAL_50: 0.5,
};

/** XADD to a stream capped near 10,000 entries (the contract's MAXLEN ~), fields from a record. */
export function xaddCapped(
  cmd: Redis,
  stream: string,
  fields: Record<string, string>,
): Promise<string | null> {
  const args: string[] = [];
  for (const [k, v] of Object.entries(fields)) args.push(k, v);
  return cmd.xadd(stream, 'MAXLEN', '~', '10000', '*', ...args);
}

/**
 * An authority's loop over the plan stream in its consumer group: a batch read, every EXECUTE entry
 * decided (a failed decision is dropped: the floor has no retries), one XACK for the batch.
 */
export async function consumePlans(
  reader: Redis,
  cmd: Redis,
  group: string,
  decide: (fields: Record<string, string>) => Promise<void>,
): Promise<never> {
  for (;;) {
    const reply = (await reader.xreadgroup(
      'GROUP',
      group,
      'floor-1',
      'COUNT',
      256,
      'BLOCK',
      1000,
      'STREAMS',
      K.planStream(),
      '>',
    )) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    await Promise.all(
      entries.map(([, flat]) => {
        const f = fieldsOf(flat);
        return f.decision === 'EXECUTE' ? decide(f).catch(() => {}) : undefined;
      }),
    );
    void cmd.xack(K.planStream(), group, ...entries.map(([id]) => id));
  }
}

/** EXPIRE of a key at most once a minute (its TTL renewed without a command on every write). */
export function expirer(cmd: Redis): (key: string, ttlSec: number) => void {
  const expired = new Map<string, number>();
  return (key, ttlSec) => {
    const now = Date.now();
    if ((expired.get(key) ?? 0) > now - 60_000) return;
    expired.set(key, now);
    void cmd.expire(key, ttlSec);
  };
}
