/** Polling helpers for tests that wait on another process, a stream or a server. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with f()'s first truthy value; throws after `ms`, naming what it waited for. */
export async function until<T>(
  f: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  ms = 8000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(20);
  }
}
