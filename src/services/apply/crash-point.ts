/**
 * Test-only crash points for the fault suite (test/reliability). With
 * QUANTUM_TEST_CRASH_AT=<boundary> in the environment at start-up, the process SIGKILLs itself
 * the first time it reaches that boundary; without it (production) every call is a no-op.
 * Boundaries: after_consume (permits consumed), after_send (order answered, nothing recorded),
 * after_fill (intent records the fill), before_result (result not yet published).
 */
export const CRASH_BOUNDARIES = ['after_consume', 'after_send', 'after_fill', 'before_result'] as const;
export type CrashBoundary = (typeof CRASH_BOUNDARIES)[number];

const armed: string | undefined = process.env.QUANTUM_TEST_CRASH_AT;

export function crashPoint(boundary: CrashBoundary): void {
  if (armed === boundary) process.kill(process.pid, 'SIGKILL');
}
