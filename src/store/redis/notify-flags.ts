/**
 * notify-keyspace-events flags: what we need and how to merge them into what the server has.
 * Pure; the adapter does the CONFIG GET/SET.
 */

/** K: keyspace channel; $: strings; h: hashes; g: generic (del, expire, rename); x: expired. */
export const REQUIRED_FLAGS = ['K', '$', 'h', 'g', 'x'] as const;

/** Classes the server folds into 'A' when reporting the current value. */
const ALIAS_A = new Set(['g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't', 'd']);

function hasFlag(current: string, flag: string): boolean {
  return current.includes(flag) || (current.includes('A') && ALIAS_A.has(flag));
}

export function missingFlags(current: string): string[] {
  return REQUIRED_FLAGS.filter((f) => !hasFlag(current, f));
}

/** The union of the server's flags and ours, or null when nothing is missing. */
export function mergedFlags(current: string): string | null {
  const missing = missingFlags(current);
  return missing.length === 0 ? null : current + missing.join('');
}

/** Glob-escape a literal key for PSUBSCRIBE / pattern matching. */
export function globEscape(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
