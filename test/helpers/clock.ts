/**
 * T0: the instant test clocks start at (2026-01-25 12:00 UTC). One for every suite, so
 * fixtures built in one harness line up with another's.
 */
export const T0 = Date.UTC(2026, 0, 25, 12, 0, 0);
