/**
 * How an Operator learns that mail may have arrived through another Operator on the same
 * database, so its held waits re-check. A signal carries no names: a listener learns only that
 * something was deposited somewhere, and asks the store which of its held mailboxes have mail.
 */

/** Told when mail may have arrived elsewhere (or when that cannot be known: re-check everything). */
export type OnMailSignal = () => void;

/** The cross-Operator wake-up port. */
export interface MailSignal {
  /** Starts listening; `onMail` may be called many times, and at least once after a lost link. */
  start(onMail: OnMailSignal): Promise<void>;
  /** Stops listening; no `onMail` after it resolves. */
  close(): Promise<void>;
}

/**
 * One Operator on its own database (SQLite): every deposit happens in this process, whose routes
 * wake the waits directly, so there is nothing to listen to.
 */
export class InProcessMailSignal implements MailSignal {
  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
