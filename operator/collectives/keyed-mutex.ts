/** One queue per key: tasks on the same key run one at a time, in arrival order. */

const settle = (): undefined => undefined;

/**
 * Serialises async tasks per key with a promise chain (no polling, no timers). A key's chain is
 * dropped as soon as it drains, so idle keys cost nothing.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** True while a task on `key` runs or waits. */
  isBusy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Runs `task` once every task queued before it on `key` has settled; resolves with its result. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(settle, settle);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
