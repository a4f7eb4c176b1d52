/**
 * Decision settings for tests that call decide() directly: the contract's kill-score
 * thresholds, and a clock that makes proposals stamped FIXED_AT fresh.
 */
export const FIXED_AT = '2026-01-25T00:00:00Z';

export const DECISION_DEFAULTS = {
  kBlockCritical: 0.8,
  kBlockWarning: 0.6,
  nowSec: Date.UTC(2026, 0, 25) / 1000 + 1,
  maxProposalAgeSec: 300,
} as const;

let calls = 0;

/**
 * A computed_at_utc that is fresh now (system clock, milliseconds), made unique within the
 * millisecond by three more digits (`seq`, by default a per-process count): never in the future
 * by more than a millisecond, so timelines sort as they happened.
 */
export function freshComputedAt(seq: number = ++calls): string {
  return `${new Date().toISOString().slice(0, 23)}${String(seq % 1000).padStart(3, '0')}Z`;
}
