/**
 * The order intent record of a plan (`keys.orderIntent`): written with state=sending before an
 * order leaves (through the replica fence when there is one), updated with the answer, read by
 * recovery. orders.ts is the one place that sends; this is where its record lives.
 */
import type { CreateIntentOutcome } from '../../store/lease-port.js';
import type { ApplyDeps } from './options.js';

export type IntentState = 'sending' | 'filled' | 'accepted' | 'rejected' | 'unknown' | 'placed' | 'cancelled';

export interface IntentWriter {
  /** The first write (state=sending): through the replica fence when there is one. */
  create(planId: string, symbol: string, fields: Record<string, string>): Promise<CreateIntentOutcome>;
  write(planId: string, symbol: string, fields: Record<string, string>): Promise<void>;
  read(planId: string, symbol: string): Promise<Record<string, string>>;
}

export function storeIntents(deps: ApplyDeps, ttlSec: number): IntentWriter {
  const { store } = deps;
  const { ownership } = deps;
  return {
    create: async (planId, symbol, fields) => {
      if (ownership) return ownership.createIntent(symbol, planId, fields, ttlSec);
      await store.hset(store.keys.orderIntent(planId, symbol), fields, ttlSec);
      return 'written';
    },
    // The intent was created with its TTL; an update keeps it (one command, not HSET + EXPIRE).
    write: (planId, symbol, fields) => store.hupdate(store.keys.orderIntent(planId, symbol), fields, ttlSec),
    read: (planId, symbol) => store.hgetall(store.keys.orderIntent(planId, symbol)),
  };
}
