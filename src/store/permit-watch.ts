/**
 * Change notifications for one plan's permit keys, opened before its entry is published, so a
 * permit wait (permit-chain.ts) knows whether a permit can exist yet. Apply opens one per
 * EXECUTE plan (src/services/apply/handle-proposal.ts) and hands it to the wait.
 */
import type { Store } from './port.js';

export type Change = 'write' | 'remove';

export interface PermitWatch {
  readonly keys: readonly string[];
  /** notificationEpoch() when it opened: a different one later means events may have been lost. */
  readonly epoch: number;
  /** Hands further changes to `handler`; returns the last change per key seen until now. */
  take(handler: (key: string, kind: Change) => void): ReadonlyMap<string, Change>;
  close(): Promise<void>;
}

/** Key events that take a permit away; 'expire' (a TTL set) changes nothing we wait for. */
const REMOVALS = new Set(['del', 'expired', 'evicted', 'rename_from']);

function changeOf(event: string): Change | null {
  if (event === 'expire') return null;
  return REMOVALS.has(event) ? 'remove' : 'write';
}

/**
 * Opens a watch on a plan's permit keys (null without notifications or when the subscription
 * fails, which `onError` hears: the wait then polls). A wait given none opens its own. Measured: with the watch opened before the
 * plan is published, the wait's first consume, which at any rate found the permits missing
 * (the authorities had not read the entry yet), is skipped: a script call per plan.
 */
export async function watchPermits(
  store: Store,
  planId: string,
  authorities: readonly string[],
  symbol?: string,
  onError?: (err: unknown) => void,
): Promise<PermitWatch | null> {
  if (!store.notificationsActive()) return null;
  const keys = authorities.map((a) => store.keys.permit(a, planId, symbol));
  const ours = new Set(keys);
  const seen = new Map<string, Change>();
  let handler: ((key: string, kind: Change) => void) | null = null;
  const epoch = store.notificationEpoch();
  let off: () => Promise<void>;
  try {
    off = await store.onKeyChange(
      store.keys.permitPattern(),
      (change) => {
        const kind = ours.has(change.key) ? changeOf(change.event) : null;
        if (kind === null) return;
        if (handler) handler(change.key, kind);
        else seen.set(change.key, kind);
      },
      { keys },
    );
  } catch (err) {
    onError?.(err);
    return null;
  }
  let closed = false;
  return {
    keys,
    epoch,
    take(h) {
      handler = h;
      return seen;
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      return off();
    },
  };
}
