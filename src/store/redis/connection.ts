/**
 * Connection policy of the Redis adapter: client options, the logger shape, and keeping
 * keyspace notifications enabled on the server.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { mergedFlags } from './notify-flags.js';
import { probeNotifications } from './notify-probe.js';

/** Anything with pino-like warn/info/error (a pino Logger fits). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: StoreLogger = { warn: () => {}, info: () => {}, error: () => {} };

/** Backoff forever: 50 ms doubling to 2 s, with jitter so replicas do not reconnect in step. */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100);
}

export function commandOptions(commandTimeout: number): RedisOptions {
  return {
    commandTimeout,
    // Commands queued while disconnected fail after one reconnect attempt instead of hanging.
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    // An in-flight command is not resent after a reconnect (it may have run): it fails by
    // commandTimeout and the caller resolves what happened (see permit-chain.ts).
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
    connectionName: 'quantum-apply',
  };
}

/** For XREADGROUP BLOCK: no command timeout, but a blocked read orphaned by a dropped
 * connection still settles (empty) after BLOCK + grace instead of hanging its consumer. */
export const BLOCKING_OVERRIDES: Partial<RedisOptions> = {
  commandTimeout: undefined,
  blockingTimeout: 30_000,
  blockingTimeoutGrace: 1000,
  lazyConnect: false,
};

function isRefusal(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /unknown command|NOPERM|no permission|not allowed|disabled/i.test(msg);
}

/** Keeps notify-keyspace-events a superset of ours; re-run on every (re)connect. */
export class NotificationSetup {
  active = false;
  private refusalWarned = false;

  constructor(
    private readonly logger: StoreLogger,
    private readonly pollStepMs: number,
    /** Key touched to detect notifications when CONFIG is refused (a least-privilege user). */
    private readonly probeKey?: string,
  ) {}

  async ensure(client: Redis): Promise<void> {
    try {
      const reply = (await client.config('GET', 'notify-keyspace-events')) as string[];
      const merged = mergedFlags(reply[1] ?? '');
      if (merged !== null) await client.config('SET', 'notify-keyspace-events', merged);
      this.active = true;
    } catch (err) {
      this.active = false;
      const message = err instanceof Error ? err.message : String(err);
      if (!isRefusal(err)) {
        this.logger.warn({ err: message }, 'could not check notify-keyspace-events');
        return;
      }
      if (this.probeKey && (await probeNotifications(client, this.probeKey, 500))) {
        this.active = true;
        if (!this.refusalWarned) this.logger.info({}, 'keyspace notifications seen (CONFIG refused; probed)');
        this.refusalWarned = true;
        return;
      }
      if (this.refusalWarned) return;
      this.refusalWarned = true;
      this.logger.warn(
        { err: message, pollStepMs: this.pollStepMs },
        'keyspace notifications are OFF: CONFIG is refused by the server, so permit waits poll ' +
          'every APPLY_PERMIT_STEP_MS; enable notify-keyspace-events "K$hgx" on the server to react at once',
      );
    }
  }
}
