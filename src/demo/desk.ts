/**
 * The demo's third authority, a simulated trading desk. It shows that a required authority is a
 * configuration entry (APPLY_REQUIRED_AUTHORITIES=governor,p33,desk), not code in the apply
 * layer: it reads EXECUTE plans from its own consumer group and, after a scripted delay, writes
 * `quantum:permit:desk:<plan_id>` with a plain SET EX, exactly like the fleet's authorities.
 */
import type { Clock } from '../ops/clock.js';
import type { Store } from '../store/port.js';
import { PLAN_ID_PATTERN } from '../domain/plan.js';

export const DESK_GROUP = 'desk';

export class DeskAuthority {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Permit write times (ms) by plan id, for the hand-off measurement. */
  readonly writtenAt = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Delay per plan id; null never answers; plans not listed get `defaultDelayMs`. */
    private readonly delays: Map<string, number | null>,
    private readonly defaultDelayMs = 50,
  ) {}

  async start(): Promise<void> {
    await this.store.createGroup(this.store.keys.planStream(), DESK_GROUP, '$');
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const stream = this.store.keys.planStream();
    while (this.running) {
      let entries;
      try {
        entries = await this.store.readGroup(stream, DESK_GROUP, 'desk-1', { count: 50, blockMs: 100 });
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const e of entries) {
        const planId = e.fields.plan_id ?? '';
        if (e.fields.decision === 'EXECUTE' && PLAN_ID_PATTERN.test(planId))
          this.schedule(planId, e.fields.symbol ?? '');
      }
      if (entries.length > 0)
        await this.store.ack(
          stream,
          DESK_GROUP,
          entries.map((e) => e.id),
        );
    }
  }

  private schedule(planId: string, symbol: string): void {
    const delay = this.delays.has(planId) ? this.delays.get(planId)! : this.defaultDelayMs;
    if (delay === null) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      const now = this.clock.now();
      const body = JSON.stringify({ granted: true, authority: 'desk', created_at: now / 1000 });
      this.writtenAt.set(planId, now);
      void this.store
        .set(this.store.keys.permit('desk', planId, symbol), body, { ttlSec: 60 })
        .catch(() => {});
    }, delay);
    this.timers.add(t);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.loop;
  }
}
