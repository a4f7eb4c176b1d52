/**
 * Size bound for stream entries the authorities parse (plan entries, result entries). Their
 * known fields have their own limits; this one stops a single huge field (e.g. a result's
 * steps_results JSON) from being parsed at all. Redis itself caps one value at
 * proto-max-bulk-len (512 MB by default): what is read is already in memory, only parsing is saved.
 */
export const MAX_ENTRY_CHARS = 65_536;

/** Field names and values together, in UTF-16 units; stops counting once over the limit. */
export function entryTooLarge(fields: Record<string, string>, max = MAX_ENTRY_CHARS): boolean {
  let total = 0;
  for (const k of Object.keys(fields)) {
    const v = fields[k];
    total += k.length + (typeof v === 'string' ? v.length : 0);
    if (total > max) return true;
  }
  return false;
}
