/** Held waits for mail, indexed by mailbox, so a deposit wakes exactly the waits on its recipients. */

/** How a held wait ends: the mailboxes that got mail (empty when it ended for another reason). */
type Settle = (ready: readonly string[]) => void;

/** One held wait: its mailboxes and how to answer it. Nothing else is kept per waiter. */
interface Waiter {
  readonly names: readonly string[];
  readonly settle: Settle;
  readonly timer: NodeJS.Timeout;
}

/** What {@link MailWaiters.wait} gives back. */
export interface HeldWait {
  /** Resolves with the mailboxes that got mail, or `[]` on time-out, cancel or close. */
  readonly ready: Promise<readonly string[]>;
  /** Ends the wait at once with `[]` and drops it from the index (the client went away). */
  cancel(): void;
}

/**
 * The waits of one Operator process. Waiting costs an index entry per mailbox and a timer; the
 * letters themselves stay in the store, which the caller asks first.
 */
export class MailWaiters {
  readonly #byName = new Map<string, Set<Waiter>>();
  #size = 0;
  #closed = false;

  /** Waits held now (for tests and metrics). */
  get size(): number {
    return this.#size;
  }

  /** Mailboxes with at least one held wait. */
  get mailboxes(): number {
    return this.#byName.size;
  }

  /**
   * Holds a wait on `names` for up to `waitMs`. After {@link MailWaiters.close} it answers `[]`
   * at once, so shutdown is never held up by a wait.
   */
  wait(names: readonly string[], waitMs: number): HeldWait {
    if (this.#closed || waitMs <= 0) return { ready: Promise.resolve([]), cancel: () => undefined };
    let resolve!: Settle;
    const ready = new Promise<readonly string[]>((res) => {
      resolve = res;
    });
    const waiter: Waiter = {
      names,
      settle: (found) => {
        this.#drop(waiter);
        resolve(found);
      },
      timer: setTimeout(() => {
        waiter.settle([]);
      }, waitMs),
    };
    for (const name of names) {
      let set = this.#byName.get(name);
      if (set === undefined) {
        set = new Set();
        this.#byName.set(name, set);
      }
      set.add(waiter);
    }
    this.#size++;
    return {
      ready,
      cancel: () => {
        waiter.settle([]);
      },
    };
  }

  /** The mailboxes held waits are on now (what a re-check after another Operator's deposit asks). */
  heldMailboxes(): string[] {
    return [...this.#byName.keys()];
  }

  /** Wakes every wait on any of `names`; call only once the deposit is durable. */
  notify(names: Iterable<string>): void {
    const woken = new Map<Waiter, string[]>();
    for (const name of names) {
      const set = this.#byName.get(name);
      if (set === undefined) continue;
      for (const waiter of set) {
        const found = woken.get(waiter);
        if (found === undefined) woken.set(waiter, [name]);
        else if (!found.includes(name)) found.push(name);
      }
    }
    for (const [waiter, found] of woken) waiter.settle(found);
  }

  /** Answers every held wait with `[]`, and every later one at once. */
  close(): void {
    this.#closed = true;
    const all = new Set<Waiter>();
    for (const set of this.#byName.values()) for (const waiter of set) all.add(waiter);
    for (const waiter of all) waiter.settle([]);
  }

  /** Removes `waiter` from the index; a second call (timer after notify, say) does nothing. */
  #drop(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    let removed = false;
    for (const name of waiter.names) {
      const set = this.#byName.get(name);
      if (set?.delete(waiter) !== true) continue;
      removed = true;
      if (set.size === 0) this.#byName.delete(name);
    }
    if (removed) this.#size--;
  }
}
