/**
 * Auto-disarm: flips the live arm state (read by the apply layer for every plan) to disarmed on a
 * burst breach or on repeated evaluation errors, at most once per UTC day (SET NX on the
 * contract's disarm key), with an AUTO_DISARM entry on the fleet's governor events stream, in
 * the fleet's fields, and `quantum_govern_disarm_total{reason}`.
 */
import { utcDay } from '../../domain/governor/gates.js';
import { pyStr } from '../../domain/pyfloat.js';
import type { Clock } from '../../ops/clock.js';
import type { Store } from '../../store/port.js';
import { ArmKeyWrongTypeError, setArmState } from '../arm-state.js';
import { disarmFleetApply, type FleetApplyDisarm, type FleetDisarmStep } from './fleet-disarm.js';

export type DisarmReason = 'burst_limit_breach' | 'repeated_errors';

export interface AutoDisarmOptions {
  store: Store;
  clock: Clock;
  /** GOV_ENABLE_AUTO_DISARM: false, neither a burst nor errors disarm. */
  enabled: boolean;
  /** GOV_DISARM_ON_BURST_BREACH. */
  onBurst: boolean;
  /**
   * GOV_DISARM_ON_ERROR_COUNT: evaluation errors that disarm, counted as the fleet counts them,
   * since start or since the count last reached this, with no time window (0: never).
   */
  errorThreshold: number;
  /**
   * GOV_DISARM_FLEET_APPLY: also disarm a fleet apply layer the fleet's way (its env file, then
   * a restart), after our own disarm; null or absent: ours only.
   */
  fleetApply?: FleetApplyDisarm | null;
  onDisarm?: (reason: DisarmReason) => void;
  onFleetFailure?: (step: FleetDisarmStep) => void;
  logger: {
    error(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    info(obj: object, msg?: string): void;
  };
}

const DAY_SEC = 86_400;
const EVENTS_MAXLEN = 10_000;

/** `json.dumps(context)` of a flat dict as the fleet writes it (", " and ": "; ints stay ints). */
function pyContext(context: Record<string, unknown>): string {
  const parts = Object.entries(context)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v) ?? 'null'}`);
  return `{${parts.join(', ')}}`;
}

/**
 * The fleet's AUTO_DISARM entry: event, reason, context (JSON), timestamp (a Python float's text),
 * action_taken (what was done to stop the apply layer).
 */
export function autoDisarmEventFields(
  reason: DisarmReason,
  context: Record<string, unknown>,
  atMs: number,
  actionTaken: string,
): Record<string, string> {
  return {
    event: 'AUTO_DISARM',
    reason,
    context: pyContext(context),
    timestamp: pyStr(atMs / 1000),
    action_taken: actionTaken,
  };
}

export class AutoDisarm {
  private errors = 0;

  constructor(private readonly o: AutoDisarmOptions) {}

  /** Returns true when this call disarmed (false: disabled, or already fired today). */
  async burstBreach(context: Record<string, unknown>): Promise<boolean> {
    if (!this.o.enabled || !this.o.onBurst) return false;
    return this.fire('burst_limit_breach', context);
  }

  /** Records one evaluation error; disarms when the count reaches the threshold. */
  async evaluationError(context: Record<string, unknown>): Promise<boolean> {
    if (!this.o.enabled || this.o.errorThreshold <= 0) return false;
    this.errors++;
    if (this.errors < this.o.errorThreshold) return false;
    const count = this.errors;
    // As the fleet: the count starts again after reaching the threshold, fired or not.
    this.errors = 0;
    return this.fire('repeated_errors', { error_count: count, threshold: this.o.errorThreshold, ...context });
  }

  private async fire(reason: DisarmReason, context: Record<string, unknown>): Promise<boolean> {
    const { store, clock } = this.o;
    const now = clock.now();
    const body = JSON.stringify({ reason, context, timestamp: now / 1000 });
    const first = await store.set(store.keys.governorDisarm(utcDay(now)), body, {
      nx: true,
      ttlSec: DAY_SEC,
    });
    if (!first) {
      this.o.logger.info({ reason }, 'auto-disarm already fired today: not repeating');
      return false;
    }
    try {
      await setArmState(store, { armed: false, reason, by: 'governor', atMs: now });
    } catch (err) {
      if (!(err instanceof ArmKeyWrongTypeError)) throw err;
      // The apply layer reads an arm key of another type as disarmed: the disarm holds without
      // the write. Name the key instead of retrying the plan as if Redis were down.
      this.o.logger.error(
        { reason, key: err.key, error: err.error },
        `auto-disarm not recorded: ${err.message}`,
      );
    }
    this.o.onDisarm?.(reason);
    this.o.logger.error({ reason, context }, `AUTO-DISARM TRIGGERED: ${reason}`);
    const action = this.o.fleetApply ? await this.disarmFleet(this.o.fleetApply, now) : 'disarmed';
    // After the fleet's way, as the fleet's governor writes it after its own: action_taken says
    // what was done.
    await store.xadd(
      store.keys.governorEvents(),
      autoDisarmEventFields(reason, context, now, action),
      EVENTS_MAXLEN,
    );
    return true;
  }

  /** The fleet's way, after ours: its outcome for action_taken. Never throws, never re-arms. */
  private async disarmFleet(target: FleetApplyDisarm, nowMs: number): Promise<string> {
    try {
      const r = await disarmFleetApply(target, {
        nowMs,
        logger: this.o.logger,
        onFailure: (step) => this.o.onFleetFailure?.(step),
      });
      return r.done
        ? 'disarmed + APPLY_MODE=dry_run + restart'
        : `disarmed; fleet apply layer not disarmed (${r.failed.join(', ')} failed)`;
    } catch (err) {
      // disarmFleetApply catches its own failures; this guards the governor against a bug there.
      this.o.onFleetFailure?.('env_file');
      this.o.logger.error({ err: (err as Error).message }, 'fleet apply disarm failed');
      return 'disarmed; fleet apply layer not disarmed (error)';
    }
  }
}
