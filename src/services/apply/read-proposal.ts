/**
 * The read of one symbol's proposal hash. A key the server says holds another type (`SET` or a
 * list where the hash belongs) is bad input at that key, not an outage: it is rejected like a
 * proposal that does not parse (`proposal_wrong_type`, counted and logged once per key and error,
 * both named) and read as no proposal. So the symbol is not retried as if Redis were down, other
 * symbols and the health check are not affected, and a hash written there later is handled as usual.
 */
import type { BoundedSet } from '../bounded.js';
import { wrongTypeError } from '../wrong-type.js';
import type { ApplyMetricsSink } from './metrics.js';
import type { ApplyDeps } from './options.js';

export const PROPOSAL_WRONG_TYPE = 'proposal_wrong_type';

/** The proposal's fields ({} when absent or of another type); other failures are thrown. */
export async function readProposal(
  deps: Pick<ApplyDeps, 'store' | 'logger'>,
  metrics: ApplyMetricsSink,
  logged: BoundedSet,
  symbol: string,
): Promise<Record<string, string>> {
  const key = deps.store.keys.proposal(symbol);
  try {
    return await deps.store.hgetall(key);
  } catch (err) {
    const error = wrongTypeError(err);
    if (error === null) throw err; // Redis down or slow: the scheduler retries, as before
    const once = `${key}|${error}`;
    if (!logged.has(once)) {
      logged.add(once);
      metrics.inputRejected(PROPOSAL_WRONG_TYPE);
      deps.logger.warn(
        { symbol, key, reason: PROPOSAL_WRONG_TYPE, error },
        `apply: proposal for ${symbol} yields no plan: ${key} is not a hash (${error})`,
      );
    }
    return {};
  }
}
