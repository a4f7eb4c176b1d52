/**
 * A running service's heartbeat. Every period it asks the exchange one cheap question and writes
 * who it is to Redis (a hash of ours with a TTL of a few periods). The two answers are what
 * /healthz reports, so a service turns unhealthy as soon as a probe fails or goes unanswered for
 * two periods, whatever its own loops are doing; and `status` reads the hashes to show each
 * running service's own mode and exchange host rather than the caller's environment.
 * Never put a secret in the identity: the exchange HOST only, the hash of the redacted config.
 */
import type { Clock } from '../ops/clock.js';
import type { HeartbeatNamespace } from '../store/keys.js';
import type { Store } from '../store/port.js';

/** The heartbeat hash lives this many periods, so a stopped service drops out of `status`. */
export const HEARTBEAT_TTL_PERIODS = 3;
/** A probe unanswered for this many periods counts as failed (it may hang rather than fail). */
export const HEALTH_BOUND_PERIODS = 2;

export interface HeartbeatIdentity {
  /** For people: apply, governor, position-brain. */
  service: string;
  /** The service's key namespace (its Redis ACL covers it). */
  namespace: HeartbeatNamespace;
  mode: string;
  /** The exchange host (no scheme, path or credentials). */
  exchangeHost: string;
  version: string;
  pid: number;
  host: string;
  startedAtMs: number;
  /** Hash of the redacted config: equal hashes, equal settings. */
  configHash: string;
}

export interface HeartbeatLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface HeartbeatOptions {
  store: Pick<Store, 'hset' | 'keys'>;
  clock: Clock;
  logger: HeartbeatLogger;
  periodMs: number;
  identity: HeartbeatIdentity;
  /** One cheap exchange request; throws when the exchange cannot be reached. */
  probeExchange: () => Promise<unknown>;
}

/** What one dependency answered: when it last answered, and the error of its last failure since. */
export interface ProbeState {
  lastOkMs: number | null;
  error: string | null;
}

export type HealthReason = 'redis_unreachable' | 'exchange_unreachable';

export interface HeartbeatHealth {
  ok: boolean;
  reasons: HealthReason[];
  /** One line per failing dependency, for people. */
  why: string[];
  redis: ProbeState;
  exchange: ProbeState;
}

/**
 * Healthy while each dependency's last probe succeeded and it answered within the bound.
 * `sinceMs`: when probing began (the bound counts from there until the first answer).
 */
export function judgeHealth(
  nowMs: number,
  boundMs: number,
  sinceMs: number,
  redis: ProbeState,
  exchange: ProbeState,
): HeartbeatHealth {
  const reasons: HealthReason[] = [];
  const why: string[] = [];
  const check = (name: HealthReason, what: string, s: ProbeState) => {
    const quietMs = nowMs - (s.lastOkMs ?? sinceMs);
    if (s.error !== null) why.push(`${what}: ${s.error}`);
    else if (quietMs > boundMs) why.push(`${what}: no answer for ${quietMs} ms`);
    else return;
    reasons.push(name);
  };
  check('redis_unreachable', 'redis unreachable', redis);
  check('exchange_unreachable', 'exchange unreachable', exchange);
  return { ok: reasons.length === 0, reasons, why, redis: { ...redis }, exchange: { ...exchange } };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Heartbeat {
  private readonly redis: ProbeState = { lastOkMs: null, error: null };
  private readonly exchange: ProbeState = { lastOkMs: null, error: null };
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pending = { redis: false, exchange: false };
  private timer: NodeJS.Timeout | null = null;
  private sinceMs = 0;
  private running = false;

  constructor(private readonly o: HeartbeatOptions) {}

  get key(): string {
    return this.o.store.keys.heartbeat(this.o.identity.namespace, this.instance);
  }

  /** `<host>-<pid>`, as the consumer names are built. */
  get instance(): string {
    return `${this.o.identity.host}-${this.o.identity.pid}`;
  }

  /** Beats now, then every period. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.sinceMs = this.o.clock.now();
    this.beat();
    this.timer = setInterval(() => this.beat(), this.o.periodMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }

  health(): HeartbeatHealth {
    return judgeHealth(
      this.o.clock.now(),
      HEALTH_BOUND_PERIODS * this.o.periodMs,
      this.sinceMs,
      this.redis,
      this.exchange,
    );
  }

  /** The hash written each period (strings, as Redis holds them). */
  fields(): Record<string, string> {
    const id = this.o.identity;
    const now = this.o.clock.now();
    const lastOk = this.lastOkMs();
    return {
      service: id.service,
      instance: this.instance,
      mode: id.mode,
      exchange_host: id.exchangeHost,
      version: id.version,
      pid: String(id.pid),
      host: id.host,
      started_at: String(id.startedAtMs),
      config_hash: id.configHash,
      period_ms: String(this.o.periodMs),
      at: String(now),
      exchange_ok_at: this.exchange.lastOkMs === null ? '' : String(this.exchange.lastOkMs),
      last_ok_at: lastOk === null ? '' : String(lastOk),
    };
  }

  /** The last time both Redis and the exchange answered (the older of the two answers). */
  private lastOkMs(): number | null {
    const r = this.redis.lastOkMs;
    const e = this.exchange.lastOkMs;
    if (r === null || e === null || this.redis.error !== null || this.exchange.error !== null) return null;
    return Math.min(r, e);
  }

  /** Each probe runs at most once at a time: one that hangs is not stacked, it just ages. */
  private beat(): void {
    if (!this.running) return;
    this.probe('exchange', this.exchange, () => this.o.probeExchange());
    this.probe('redis', this.redis, () =>
      this.o.store.hset(this.key, this.fields(), Math.ceil((HEARTBEAT_TTL_PERIODS * this.o.periodMs) / 1000)),
    );
  }

  private probe(name: 'redis' | 'exchange', state: ProbeState, run: () => Promise<unknown>): void {
    if (this.pending[name]) return;
    this.pending[name] = true;
    const p: Promise<void> = run()
      .then(
        () => {
          if (state.error !== null)
            this.o.logger.info({ dependency: name }, `heartbeat: ${name} reachable again`);
          state.lastOkMs = this.o.clock.now();
          state.error = null;
        },
        (err: unknown) => {
          if (state.error === null)
            this.o.logger.warn({ dependency: name, err: errorText(err) }, `heartbeat: ${name} unreachable`);
          state.error = errorText(err);
        },
      )
      .finally(() => {
        this.pending[name] = false;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }
}
