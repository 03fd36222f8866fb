/** The Mailbox port: sealed letters, held only until their recipient acks them or they expire. */

/**
 * Letters' times are kept (and answered) only to this step, so a copy of the disk cannot order
 * a letter finely against other records (a request's time, a sender's activity).
 */
export const LETTER_TIME_STEP_MS = 600_000;

/** `now` rounded down to {@link LETTER_TIME_STEP_MS}: the only letter time ever stored. */
export const letterTime = (now: number): number =>
  Math.floor(now / LETTER_TIME_STEP_MS) * LETTER_TIME_STEP_MS;

/** A letter to deposit: the recipient's folded name and opaque ciphertext. Nothing else. */
export interface LetterToDeposit {
  readonly to: string;
  readonly sealed: Uint8Array;
}

/** A letter as handed to its recipient. */
export interface StoredLetter {
  readonly id: Uint8Array;
  /** The ciphertext; for a shared letter, this recipient's envelope of the body's key. */
  readonly sealed: Uint8Array;
  readonly receivedAt: number;
  /** Only for a shared letter: the body every recipient shares (see {@link Mailbox.depositShared}). */
  readonly body?: Uint8Array;
}

/**
 * One opaque body for many recipients (a collective message): the body is stored once, and each
 * recipient gets a letter holding only its own small envelope and a reference to the body.
 */
export interface SharedLetterToDeposit {
  readonly body: Uint8Array;
  /** One per recipient: `sealed` is that recipient's envelope. */
  readonly envelopes: readonly LetterToDeposit[];
}

/** Options for {@link Mailbox.deposit}. */
export interface DepositOptions {
  /** Stored rounded down by {@link letterTime}. */
  readonly receivedAt: number;
  readonly expiresAt: number;
  /** Most letters one recipient may hold, counting this batch. */
  readonly quota: number;
}

/**
 * Stores per letter only an id, the recipient, the ciphertext, received-at (rounded) and
 * expires-at: no sender, no address. Deleting is a real delete, never a flag.
 */
export interface Mailbox {
  /**
   * Stores a batch atomically: all letters or none. Recipients must already be registered.
   * @returns the new letters' random 16-byte ids, in batch order
   * @throws KomradeError `MAILBOX_FULL` when a recipient would exceed the quota
   */
  deposit(letters: readonly LetterToDeposit[], options: DepositOptions): Promise<Uint8Array[]>;
  /**
   * Stores a shared body once and one letter per envelope, atomically: all or none. The body is
   * deleted, in the same transaction, with the last letter that refers to it (by ack or expiry).
   * @returns the body's random 16-byte id
   * @throws KomradeError `MAILBOX_FULL` when a recipient would exceed the quota
   */
  depositShared(letter: SharedLetterToDeposit, options: DepositOptions): Promise<Uint8Array>;
  /** The recipient's oldest unexpired letters, up to `limit`, and whether more wait. */
  fetch(
    recipient: string,
    limit: number,
    now: number,
  ): Promise<{ letters: StoredLetter[]; more: boolean }>;
  /**
   * Which of `recipients` hold at least one unexpired letter (a cheap check: no letter is read).
   * @returns those names, in the order given
   */
  hasMail(recipients: readonly string[], now: number): Promise<string[]>;
  /**
   * Deletes those of `ids` that belong to `recipient`; others are silently left alone. A shared
   * body goes with the last letter that refers to it.
   * @returns how many letters were deleted
   */
  ack(recipient: string, ids: readonly Uint8Array[]): Promise<number>;
  /** Deletes letters that expired at or before `now`, and bodies left unreferenced; returns how many letters. */
  sweepExpiredLetters(now: number): Promise<number>;
}
