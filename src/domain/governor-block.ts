/**
 * The governor's block record (`quantum:governor:block:<id>`, PROTOCOL.md "Governor permit") as
 * apply reads it after a permit wait that found no governor permit, and the wait reason that
 * names it. A block writes no permit, so without this the result could only say
 * `missing_governor`, which reads as "governor down or lagging" when the governor in fact decided.
 */
import { parseObject } from './permits.js';

/** A reason as the governors write them (snake_case): anything else is not named in a result. */
const REASON = /^[a-z0-9_]{1,64}$/;

/**
 * The block reason the record gives for a plan of `symbol`; null when there is no record, or it
 * is not a JSON object with a snake_case `reason`, or it names another symbol (not this plan's).
 */
export function governorBlockReason(record: string | null, symbol: string): string | null {
  const o = parseObject(record);
  if (o === null) return null;
  if (o.symbol !== undefined && o.symbol !== symbol) return null;
  return typeof o.reason === 'string' && REASON.test(o.reason) ? o.reason : null;
}

/**
 * The permit wait's reason with the governor's block reason after a `:`
 * (`missing_governor:daily_limit_exceeded`, `missing_both:hourly_limit_exceeded`), so the
 * result still starts `permit_timeout_or_missing:missing_<...>` for the fleet's greps. Only the
 * governor records a block without a permit (P3.3's deny is a permit), so a third part is always
 * the governor's.
 */
export function permitWaitReason(waitReason: string, governorReason: string | null): string {
  return governorReason === null ? waitReason : `${waitReason}:${governorReason}`;
}
