/**
 * How a service command starts its heartbeat (src/services/heartbeat.ts) and folds it into its
 * /healthz: the service's own health and the heartbeat's view of Redis and the exchange must
 * both be good. The identity published is built here from the config, never with a secret.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Health } from '../ops/http.js';
import { systemClock } from '../ops/clock.js';
import { describeConfig } from '../ops/config.js';
import { Heartbeat, type HeartbeatHealth } from '../services/heartbeat.js';
import type { Store } from '../store/port.js';
import type { ServiceKit, StartedService } from './util.js';
import { packageVersion } from './version.js';

/** The governor polls nothing itself; it beats at the fleet's default poll period. */
export const GOVERNOR_HEARTBEAT_MS = 5000;

/** What the heartbeat needs of the exchange adapter: one cheap public request (GET /fapi/v1/time). */
export interface ExchangeProbe {
  syncTime(): Promise<unknown>;
}

export interface HeartbeatConfig {
  mode: string;
  binance: { baseUrl: string };
}

/** The last probe of each exchange adapter, and when it was sent. */
const lastProbe = new WeakMap<ExchangeProbe, { atMs: number; answer: Promise<unknown> }>();

/**
 * The exchange probe of a service beating every `periodMs`: services that share one adapter
 * (`all`) share a probe sent less than half a period ago instead of asking again, so one
 * process asks the exchange once per period, not once per service.
 */
function sharedProbe(exchange: ExchangeProbe, periodMs: number): () => Promise<unknown> {
  return () => {
    const now = systemClock.now();
    const last = lastProbe.get(exchange);
    if (last && now - last.atMs < periodMs / 2) return last.answer;
    const answer = exchange.syncTime();
    lastProbe.set(exchange, { atMs: now, answer });
    return answer;
  };
}

/** sha256 of the redacted config, 16 hex: equal settings, equal hashes; no secret can be recovered. */
export function configHash(cfg: object): string {
  return createHash('sha256')
    .update(JSON.stringify(describeConfig(cfg)))
    .digest('hex')
    .slice(0, 16);
}

/** Host (and port) of the exchange URL only: no scheme, path or user info. */
export function exchangeHost(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    return '';
  }
}

export function startHeartbeat(
  service: 'apply' | 'governor' | 'position-brain',
  cfg: HeartbeatConfig,
  kit: ServiceKit,
  store: Store,
  exchange: ExchangeProbe,
  periodMs: number,
): Heartbeat {
  const period = Math.max(1, Math.round(periodMs));
  const hb = new Heartbeat({
    store,
    clock: systemClock,
    logger: kit.logger,
    periodMs: period,
    identity: {
      service,
      namespace: service === 'position-brain' ? 'p33' : service,
      mode: cfg.mode,
      exchangeHost: exchangeHost(cfg.binance.baseUrl),
      version: packageVersion(),
      pid: process.pid,
      host: hostname(),
      startedAtMs: systemClock.now(),
      configHash: configHash(cfg),
    },
    probeExchange: sharedProbe(exchange, period),
  });
  hb.start();
  return hb;
}

/** The body of an unhealthy check leads with why: `reasons` (closed set) and `why` (for people). */
export function healthWith(own: Health, hb: HeartbeatHealth): Health {
  const { redis, exchange } = hb;
  const ownReasons = (own.detail as { reasons?: unknown }).reasons;
  const reasons = [
    ...new Set([
      ...hb.reasons,
      ...(own.ok ? [] : Array.isArray(ownReasons) ? (ownReasons as string[]) : ['service_unhealthy']),
    ]),
  ];
  return {
    ok: own.ok && hb.ok,
    detail: { ...own.detail, reasons, why: hb.why, redis, exchange },
  };
}

/** `started` with the heartbeat: stopped first, and folded into health(). */
export function withHeartbeat(started: StartedService, hb: Heartbeat): StartedService {
  return {
    async stop() {
      await hb.stop();
      await started.stop();
    },
    async health() {
      const own = started.health ? await started.health() : { ok: true, detail: {} };
      return healthWith(own, hb.health());
    },
  };
}
