/**
 * The apply service's own typed options (the CLI maps ApplyConfig onto them), so the service
 * does not depend on the config module's exact shape.
 */
import type { Logger } from 'pino';
import type { CanaryHandler } from '../../domain/canary.js';
import type { PermitKey, SigningAuthority } from '../../domain/permit-signing.js';
import type { PlanEntrySigner } from '../../domain/plan-signing.js';
import type { ExchangePort } from '../../exchange/port.js';
import type { Clock } from '../../ops/clock.js';
import type { Store } from '../../store/port.js';
import type { ApplyOwnership } from './lease.js';
import type { ApplyMetricsSink } from './metrics.js';

export type ApplyModeOption = 'dry_run' | 'testnet' | 'live';

export interface ApplyOptions {
  mode: ApplyModeOption;
  symbols: readonly string[];
  allowlist: readonly string[];
  /** Sweep period (fractions allowed); the fallback when change notifications are missed. */
  pollSec: number;
  /**
   * Replicas that must acknowledge the order intent before the order leaves (Redis WAIT), so
   * a failover cannot lose it; fewer within `timeoutMs`: not sent (intent_not_replicated).
   * Absent or null: no WAIT.
   */
  intentWait?: { replicas: number; timeoutMs: number } | null;
  dedupeTtlSec: number;
  /** APPLY_MAX_PROPOSAL_AGE_SEC: a proposal whose computed_at_utc is older never executes. */
  maxProposalAgeSec: number;
  kBlockCritical: number;
  kBlockWarning: number;
  /** APPLY_KILL_SWITCH; the live arm state in Redis is read for every plan on top of it. */
  killSwitch: boolean;
  /**
   * How long a notified-unchanged copy of the arm state may serve (ArmStateCache; default 250
   * ms); 0 reads Redis for every check.
   */
  armCacheMaxAgeMs?: number;
  permitWaitMs: number;
  permitStepMs: number;
  /** Authorities whose permits every EXECUTE plan needs (the fleet: governor, p33). */
  requiredAuthorities: readonly string[];
  /** True when API key and secret are both configured. */
  hasCredentials: boolean;
  /**
   * APPLY_REQUIRE_SIGNED_PERMITS (SECURITY.md): when set, every consumed permit must carry a
   * valid signature by one of its authority's keys (current and previous secret).
   */
  signedPermits?: {
    keys: Partial<Record<SigningAuthority, readonly PermitKey[]>>;
    maxSkewSec: number;
    /** Permit TTL (s) by authority (governor: the contract's; P3.3: P33_PERMIT_TTL). */
    permitTtlSec: Readonly<Record<SigningAuthority, number>>;
  } | null;
  /**
   * PLAN_SECRET_APPLY (SECURITY.md "Signed plan entries"): adds `sig` to every plan entry before
   * it is published. Absent: the entry is the fleet's, field for field.
   */
  signPlanEntry?: PlanEntrySigner | null;
  /** Subscribe to proposal change notifications (false: sweep-only intake, a bench baseline). */
  notifications?: boolean;
  /**
   * With notifications, a sweep re-reads every proposal only when its probe shows that a
   * notification may have been missed, and every this many sweeps regardless (default 12).
   */
  fullSweepEvery?: number;
  /** How many of the newest plan-stream entries the start-up recovery looks at (default 1000). */
  recoveryScan?: number;
  /** Backoff after a failed run (Redis outage): doubles from min to max. */
  retryMinMs?: number;
  /** APPLY_MAX_IN_FLIGHT: plans handled at once over all symbols (unbounded when unset here; the config's default is 64). */
  maxInFlight?: number;
  retryMaxMs?: number;
  /** How often orders left order_status_unknown are looked up again (default 30 s; 0: never). */
  reconcileEveryMs?: number;
  /**
   * Answer canary requests (PROTOCOL.md "Canary plans"): the rate limit as this process reads it
   * (APPLY_CANARY_*) and who it is in the reports. Absent or null: requests are not read.
   */
  canary?: {
    minIntervalSec: number;
    maxCount: number;
    handler: CanaryHandler;
    /** How long stop() may wait for the group read in progress (default 1000 ms). */
    blockMs?: number;
  } | null;
  /**
   * APPLY_FAILOVER_LOOKBACK_SEC in ms: the failover reconciliation's window (failover-reconciler.ts);
   * absent or 0: no reconciliation.
   */
  failoverLookbackMs?: number;
  /** The reconciliation's backstop period (default FAILOVER_EVERY_MS) and its settle time (tests). */
  failoverEveryMs?: number;
  failoverSettleMs?: number;
}

export interface ApplyDeps {
  store: Store;
  /**
   * The exchange. In dry_run without credentials the CLI may still pass a public-only adapter:
   * the service then does not read positions (signed) and treats the position as unknown.
   */
  exchange: ExchangePort;
  clock: Clock;
  logger: Logger;
  metrics?: ApplyMetricsSink;
  /**
   * Replicas (several apply processes on one Redis): symbol ownership with leases and the fenced
   * intent write (see lease.ts and RELIABILITY.md). Absent: a single apply process.
   */
  ownership?: ApplyOwnership;
}

export const PLAN_STREAM_MAXLEN = 10_000;
export const STREAM_PUBLISHED_TTL_SEC = 300;
