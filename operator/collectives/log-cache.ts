/** A least-recently-used map with a bound, which never evicts an entry still in use. */

/** Keeps at most about `capacity` entries, dropping the least recently used idle ones first. */
export class LruCache<V> {
  readonly #capacity: number;
  readonly #inUse: (key: string) => boolean;
  // A Map iterates in insertion order: re-inserting on use keeps the oldest first.
  readonly #entries = new Map<string, V>();

  /**
   * @param capacity - entries kept once idle; busy entries may push the size past it for a while
   * @param inUse - true for a key whose entry must stay (an operation holds it)
   */
  constructor(capacity: number, inUse: (key: string) => boolean) {
    this.#capacity = Math.max(1, capacity);
    this.#inUse = inUse;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `key`, now the most recently used, or undefined. */
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  /** Stores `value` as the most recently used, then evicts idle entries above the capacity. */
  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size <= this.#capacity) return;
    for (const old of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break;
      if (old !== key && !this.#inUse(old)) this.#entries.delete(old);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
