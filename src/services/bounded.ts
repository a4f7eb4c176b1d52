/**
 * Map and Set that forget their oldest entries beyond `max` (plan ids, symbols: only useful
 * while recent). Setting an entry again makes it the newest.
 */
export class BoundedMap<K, V> {
  private readonly items = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    return this.items.get(k);
  }
  set(k: K, v: V): void {
    this.items.delete(k); // re-inserted last, so the first key is the oldest
    this.items.set(k, v);
    if (this.items.size > this.max) {
      const oldest = this.items.keys().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
  }
  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.items.entries();
  }
}

export class BoundedSet {
  private readonly items: BoundedMap<string, true>;
  constructor(max: number) {
    this.items = new BoundedMap(max);
  }
  has(v: string): boolean {
    return this.items.get(v) === true;
  }
  add(v: string): void {
    this.items.set(v, true);
  }
}
