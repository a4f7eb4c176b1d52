/**
 * The exposure invariant, judged from the exchange's own books (the paper exchange's fills):
 * - no close is larger than its plan asked of the position as it stood when it filled (the plan
 *   step is in the client order id: CLOSE_PARTIAL_50 may take half, CLOSE_FULL all of it);
 * - no client order id fills twice.
 */
import { abs, cmp, mul, parseDec } from '../../src/domain/decimal.js';
import type { PaperFill } from '../../src/exchange/paper/state.js';

const STEP_FRACTION: Record<string, string> = {
  CLOSE_FULL: '1',
  CLOSE_PARTIAL_75: '0.75',
  CLOSE_PARTIAL_50: '0.5',
};

/** `qa-<16 hex plan id>-<step>` → the step, or null for a client id that is not ours. */
export function stepOfClientId(clientOrderId: string): string | null {
  const m = /^qa-[0-9a-f]{16}-(.+)$/.exec(clientOrderId);
  return m ? m[1]! : null;
}

export interface Exposure {
  /** Fills larger than their step's share of the position just before them: `<client id> <qty>/<before>`. */
  overclosed: string[];
  /** Client order ids with more than one fill. */
  doubleFilled: string[];
}

export function exposureOf(fills: readonly PaperFill[]): Exposure {
  const overclosed: string[] = [];
  const count = new Map<string, number>();
  for (const f of fills) {
    const qty = parseDec(f.qty);
    if (!qty || qty.m === 0n) continue;
    count.set(f.clientOrderId, (count.get(f.clientOrderId) ?? 0) + 1);
    const step = stepOfClientId(f.clientOrderId);
    const fraction = step === null ? undefined : STEP_FRACTION[step];
    const before = parseDec(f.positionBefore);
    if (fraction === undefined || !before) continue;
    if (cmp(qty, mul(abs(before), parseDec(fraction)!)) > 0) {
      overclosed.push(`${f.clientOrderId} ${f.qty}/${f.positionBefore}`);
    }
  }
  return {
    overclosed,
    doubleFilled: [...count].filter(([, n]) => n > 1).map(([id]) => id),
  };
}
