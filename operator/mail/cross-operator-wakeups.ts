/**
 * Wakes this Operator's held waits for mail deposited through another Operator: on each signal,
 * one store query asks which held mailboxes have mail, and those waits are answered. Signals that
 * arrive during a re-check cause one more re-check after it, never one per signal.
 *
 * No wake-up is lost: the wait route holds a wait before it asks the store, and another
 * Operator's signal is sent when its deposit commits, so either the route's own query sees the
 * letter or the wait is already held when the signal's re-check runs.
 */
import type { Logger } from '../../common/logging/index.js';
import type { Clock } from '../clock.js';
import type { Mailbox } from '../store/mailbox.js';
import type { MailSignal } from './mail-signal.js';
import type { MailWaiters } from './mail-waiters.js';

/** Options for {@link CrossOperatorWakeups}. */
export interface CrossOperatorWakeupsOptions {
  readonly signal: MailSignal;
  readonly waiters: Pick<MailWaiters, 'heldMailboxes' | 'notify'>;
  readonly store: Pick<Mailbox, 'hasMail'>;
  readonly logger: Logger;
  /** @defaultValue `Date.now` */
  readonly now?: Clock;
}

/** Connects a {@link MailSignal} to the held waits. */
export class CrossOperatorWakeups {
  readonly #options: CrossOperatorWakeupsOptions;
  readonly #now: Clock;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** Re-checks run so far (tests and metrics). */
  rechecks = 0;

  constructor(options: CrossOperatorWakeupsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts listening to the signal. */
  async start(): Promise<void> {
    await this.#options.signal.start(() => {
      this.#signalled();
    });
  }

  /** Stops listening and waits for a re-check in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#options.signal.close();
    await this.#running;
  }

  #signalled(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#recheckUntilQuiet().finally(() => {
      this.#running = undefined;
    });
  }

  async #recheckUntilQuiet(): Promise<void> {
    do {
      this.#again = false;
      const held = this.#options.waiters.heldMailboxes();
      if (held.length === 0) continue;
      this.rechecks++;
      try {
        const ready = await this.#options.store.hasMail(held, this.#now());
        if (ready.length > 0) this.#options.waiters.notify(ready);
      } catch {
        // The waits still end at their time-out, and the client then asks again.
        this.#options.logger.warn('mail.recheck_failed');
      }
    } while (this.#signalledSince());
  }

  /** Whether a signal came during the last re-check (read after its await, not narrowed). */
  #signalledSince(): boolean {
    return this.#again && !this.#closed;
  }
}
