/** Shared plumbing for the store suites: a store under test and a way to move its time. */
import type { Store } from '../../src/store/port.js';

export interface StoreUnderTest {
  store: Store;
  /** Move the store's time forward: real sleep for Redis, the manual clock in memory. */
  advance(ms: number): Promise<void>;
  /** Extra clean-up beyond store.close(). */
  cleanup?(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; fails with `what` after timeoutMs (a liveness bound only). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
