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
 */
import type { Clock } from '../../ops/clock.js';
import type { Store, Unsubscribe } from '../../store/port.js';

export const ARM_CACHE_MAX_AGE_MS = 250;

export class ArmStateCache {
  private copy: Record<string, string> | null = null;
  private readAtMs = 0;
  private epoch = -1;
  /** Bumped by every event on the arm key: a read that spans one is not kept. */
  private generation = 0;
  private off: Unsubscribe | null = null;
  private readonly key: string;

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
    const hash = await store.hgetall(this.key);
    if (live && this.off !== null && generation === this.generation && epoch === store.notificationEpoch()) {
      this.copy = hash;
      this.readAtMs = at;
      this.epoch = epoch;
    }
    return hash;
  }

  private invalidate(): void {
    this.generation++;
    this.copy = null;
  }
}
