/**
 * The arm state as apply reads it for every plan (twice: with the proposal, and again right
 * before an order), kept in memory while change notifications prove it unchanged.
 *
 * Invalidation, not expiry, is what keeps it right: a listener on the arm key drops the copy on
 * any event of that key (an operator's `disarm`, the governor's auto-disarm, a DEL), and a read
 * that was in flight when an event arrived is not kept. A copy is served only while
 * - the listener is subscribed and the server sends notifications,
 * - the connection that delivers them is the one that was up when the copy was read
 *   (`notificationEpoch()` unchanged: no event can have been lost in between), and
 * - the copy is younger than `maxAgeMs` (a backstop for a subscriber that stalls without
 *   dropping its connection).
 * Otherwise every call reads Redis, as it did before. A disarm is therefore honoured once its
 * notification arrives, the same window a read racing the write had; in the worst case (a
 * stalled subscriber) after `maxAgeMs`.
 *
 * Measured: 2 of apply's ~10 commands per plan (HGETALL of the arm hash) at any rate where a
 * copy lives longer than the gap between two plans.
 *
 * An arm key that the server answers for but that holds no readable arm hash (another type:
 * WRONGTYPE; a hash that does not parse) reads as disarmed, so every plan and every pre-order
 * check blocks `kill_switch_active` without retrying as if Redis were down. That episode is
 * reported once (the key and the error) and while it lasts (`unreadable`, a gauge for the
 * alerts). A stand-in for another type is never kept, so the next read sees the key fixed.
 */
import type { Clock } from '../../ops/clock.js';
import type { Store, Unsubscribe } from '../../store/port.js';
import { ARM_STATE_INVALID, ARM_STATE_WRONG_TYPE, parseArmState, readArmHash } from '../arm-state.js';

export const ARM_CACHE_MAX_AGE_MS = 250;

/** Where an unreadable arm key is reported (the service binds its logger and metrics). */
export interface ArmStateReport {
  logger: {
    error(obj: object, msg: string): void;
    info(obj: object, msg: string): void;
  };
  /** true when an episode starts, false when the key reads as an arm hash again. */
  unreadable(on: boolean): void;
  /** Every read from Redis: the state as the plans see it (unreadable: disarmed, at 0). */
  state?(armed: boolean, changedAtMs: number): void;
}

const quoted = (v: string | undefined) => (v === undefined ? 'absent' : JSON.stringify(v.slice(0, 32)));

export class ArmStateCache {
  private copy: Record<string, string> | null = null;
  private readAtMs = 0;
  private epoch = -1;
  /** Bumped by every event on the arm key: a read that spans one is not kept. */
  private generation = 0;
  private off: Unsubscribe | null = null;
  private readonly key: string;
  /** The current unreadable episode (`reason|error`), or null while the key reads as an arm hash. */
  private trouble: string | null = null;
  private reporter: ArmStateReport | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly maxAgeMs = ARM_CACHE_MAX_AGE_MS,
  ) {
    this.key = store.keys.armState();
  }

  /** Subscribes the arm key; without notifications (or on failure) every read goes to Redis. */
  async start(): Promise<void> {
    if (this.off || !this.store.notificationsActive() || this.maxAgeMs <= 0) return;
    try {
      this.off = await this.store.onKeyChange(this.key, () => this.invalidate(), { keys: [this.key] });
    } catch {
      this.off = null; // reads stay uncached
    }
  }

  report(to: ArmStateReport): void {
    this.reporter = to;
  }

  /** The last read from Redis found no readable arm hash (plans are blocked meanwhile). */
  unreadable(): boolean {
    return this.trouble !== null;
  }

  async stop(): Promise<void> {
    const off = this.off;
    this.off = null;
    this.invalidate();
    await off?.();
  }

  /** The arm hash (raw fields, parsed by the caller), from the copy when it is provably current. */
  async read(): Promise<Record<string, string>> {
    const { store } = this;
    const live = this.off !== null && store.notificationsActive();
    if (
      live &&
      this.copy !== null &&
      store.notificationEpoch() === this.epoch &&
      this.clock.now() - this.readAtMs < this.maxAgeMs
    ) {
      return this.copy;
    }
    const generation = this.generation;
    const epoch = store.notificationEpoch();
    const at = this.clock.now();
    // Redis down or slow throws: the caller waits for it, as before.
    const { hash, wrongType } = await readArmHash(store);
    const state = parseArmState(hash);
    this.reporter?.state?.(state.armed, state.at);
    if (wrongType !== null) {
      this.episode(ARM_STATE_WRONG_TYPE, wrongType);
      return hash;
    }
    if (state.reason === ARM_STATE_INVALID) {
      this.episode(ARM_STATE_INVALID, `armed=${quoted(hash.armed)} at=${quoted(hash.at)} do not parse`);
    } else if (this.trouble !== null) {
      this.trouble = null;
      this.reporter?.unreadable(false);
      this.reporter?.logger.info(
        { key: this.key, armed: state.armed },
        `apply: arm state ${this.key} readable again (${state.armed ? 'armed' : 'disarmed'})`,
      );
    }
    if (live && this.off !== null && generation === this.generation && epoch === store.notificationEpoch()) {
      this.copy = hash;
      this.readAtMs = at;
      this.epoch = epoch;
    }
    return hash;
  }

  /** Logs an unreadable arm key once per (reason, error), not once per plan. */
  private episode(reason: string, error: string): void {
    const id = `${reason}|${error}`;
    if (this.trouble === id) return;
    this.trouble = id;
    this.reporter?.unreadable(true);
    this.reporter?.logger.error(
      { key: this.key, reason, error },
      `apply: arm state ${this.key} unreadable (${error}): read as disarmed, every plan BLOCKED kill_switch_active until it holds an arm hash`,
    );
  }

  private invalidate(): void {
    this.generation++;
    this.copy = null;
  }
}
