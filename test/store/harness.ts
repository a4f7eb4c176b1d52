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
