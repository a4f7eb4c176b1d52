/** Polling helpers for tests that wait on another process, a stream or a server. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Resolves with f()'s first truthy value, asking every `everyMs`; throws after `ms`, naming what
 * it waited for. Loops that run many times (fuzz runs) ask more often so they stay quick.
 */
export async function until<T>(
  f: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  ms = 8000,
  what = 'condition',
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(everyMs);
  }
}
