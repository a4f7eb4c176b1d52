/**
 * What the two authority commands (governor, position-brain) open the same way: the store, a
 * Binance adapter (public endpoints only when no credentials are configured, so the service
 * starts and fails closed per plan), the optional permit-signing key, the plan-entry verification
 * keys, and how they report health.
 */
import type { PlanSignaturePolicy } from '../domain/governor/plan-input.js';
import { PermitKey } from '../domain/permit-signing.js';
import type { BinanceExchange } from '../exchange/binance/index.js';
import { openExchange } from '../exchange/index.js';
import type { UserStreamConfig } from '../ops/config/user-stream.js';
import { createExchangeMetrics, createUserStreamMetrics } from '../ops/metrics.js';
import { openStoreFor } from '../store/index.js';
import type { Store } from '../store/port.js';
import type { Heartbeat } from '../services/heartbeat.js';
import { GOVERNOR_HEARTBEAT_MS, startHeartbeat, withHeartbeat } from './heartbeat.js';
import type { ServiceKit, StartedService } from './util.js';

export interface AuthorityConfig {
  mode: string;
  /** P3.3's snapshot period, its heartbeat's too; the governor has none (GOVERNOR_HEARTBEAT_MS). */
  pollSec?: number;
  redis: { url: string; keyPrefix: string; cluster: boolean };
  binance: { baseUrl: string; apiKey: string | null; apiSecret: string | null };
  userStream: UserStreamConfig;
  permitSecret: string | null;
  signedPlans: { required: boolean; secret: string | null; previousSecret: string | null };
}

export interface AuthorityIo {
  store: Store;
  exchange: BinanceExchange;
  signingKey: PermitKey | null;
  /** Plan-entry verification; null: entries are read unverified, as the fleet's. */
  planSignatures: PlanSignaturePolicy | null;
  /** Started with the I/O (it probes what the I/O reaches); stopped by close(). */
  heartbeat: Heartbeat;
  close(): Promise<void>;
}

/**
 * `withoutCredentials`: what the operator should expect, logged as a warning when keys are unset.
 * `shared.exchange`: an adapter opened by the caller (`all`), used as is and left open on close.
 */
export async function openAuthorityIo(
  name: 'governor' | 'position-brain',
  cfg: AuthorityConfig,
  kit: ServiceKit,
  withoutCredentials: string,
  shared?: { exchange: BinanceExchange; store?: Store },
): Promise<AuthorityIo> {
  const store =
    shared?.store ?? (await openStoreFor(cfg.redis, { logger: kit.logger.child({ component: 'store' }) }));
  const exchange = shared?.exchange ?? openAuthorityExchange(cfg, kit);
  if (cfg.binance.apiKey === null || cfg.binance.apiSecret === null) {
    kit.logger.warn({}, `${name}: no exchange credentials; ${withoutCredentials}`);
  }
  const signingKey = cfg.permitSecret === null ? null : new PermitKey(cfg.permitSecret);
  if (signingKey) kit.logger.info({ permit_key_id: signingKey.keyId }, `${name}: signing permits`);
  const planSignatures = planSignaturesFrom(cfg.signedPlans);
  if (planSignatures) {
    kit.logger.info(
      { plan_key_ids: planSignatures.keys.map((k) => k.keyId), required: planSignatures.required },
      planSignatures.required
        ? `${name}: signed plan entries required`
        : `${name}: verifying signed plan entries (unsigned ones still handled)`,
    );
  }
  const periodMs = cfg.pollSec === undefined ? GOVERNOR_HEARTBEAT_MS : cfg.pollSec * 1000;
  const heartbeat = startHeartbeat(name, cfg, kit, store, exchange, periodMs);
  return {
    store,
    exchange,
    signingKey,
    planSignatures,
    heartbeat,
    close: async () => {
      await heartbeat.stop();
      await Promise.allSettled([
        shared ? Promise.resolve() : exchange.close(),
        shared?.store ? Promise.resolve() : store.close(),
      ]);
    },
  };
}

/** Keys current, then previous; null when there is neither a key nor a requirement. */
function planSignaturesFrom(c: AuthorityConfig['signedPlans']): PlanSignaturePolicy | null {
  const keys = [c.secret, c.previousSecret]
    .filter((x): x is string => x !== null)
    .map((x) => new PermitKey(x));
  return keys.length === 0 && !c.required ? null : { keys, required: c.required };
}

/**
 * A running consumer-group service: stop it, then close its I/O (the heartbeat with it);
 * healthy while its consumer waits on nothing and the heartbeat reaches Redis and the exchange.
 */
export function startedAuthority(
  service: { stop(): Promise<void>; consumer: { waitingFor: string | null } },
  io: AuthorityIo,
): StartedService {
  return withHeartbeat(
    {
      async stop() {
        await service.stop();
        await io.close();
      },
      health() {
        const waiting = service.consumer.waitingFor;
        return {
          ok: waiting === null,
          detail: { waitingFor: waiting, reasons: waiting === null ? [] : ['redis_unreachable'] },
        };
      },
    },
    io.heartbeat,
  );
}

/** The authority's own adapter (not under `all`), with its usage gauges. */
function openAuthorityExchange(cfg: AuthorityConfig, kit: ServiceKit): BinanceExchange {
  const { exchange } = openExchange(cfg.mode, cfg.binance, {
    logger: kit.logger.child({ component: 'exchange' }),
    userStream: cfg.userStream,
    streamMetrics: cfg.userStream.enabled ? createUserStreamMetrics(kit.registry) : undefined,
  });
  createExchangeMetrics(kit.registry, exchange);
  return exchange;
}
