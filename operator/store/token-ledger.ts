/**
 * The TokenLedger port: how many anonymous tokens each komrade obtained in an epoch, and which
 * tokens were spent. Nothing here ties a spent token to whoever obtained it: the issue side counts
 * blinded requests per name, the spend side knows only a token's hash.
 */
import type { DepositOptions, LetterToDeposit } from './mailbox.js';

/** A token being spent on one letter. Hashes only: the token itself is never stored. */
export interface TokenSpend {
  readonly epoch: number;
  /** A hash of the token's input: enough to refuse a second spend. */
  readonly inputHash: Uint8Array;
  /**
   * A hash of the recipient and the sealed letter, so the same letter sent again is recognised
   * as a retry (and the same bytes to someone else are not).
   */
  readonly letterHash: Uint8Array;
}

/** What {@link TokenLedger.spendAndDeposit} stored, or had stored for an identical retry. */
export interface SpentDeposit {
  readonly id: Uint8Array;
  /** Rounded as stored (see `letterTime`). */
  readonly receivedAt: number;
  /** True when this was a retry: the letter was already there and nothing new was stored. */
  readonly repeated: boolean;
}

/** Tokens issued and spent; every row belongs to one epoch and goes when the epoch does. */
export interface TokenLedger {
  /** How many tokens `name` obtained in `epoch` so far. */
  tokensIssued(name: string, epoch: number): Promise<number>;
  /**
   * Counts `count` more tokens for `name` in `epoch` if that stays within `allowance`, else
   * counts nothing (a batch is granted whole or not at all).
   * @returns how many are left after this batch, or `undefined` when it was refused
   */
  recordIssued(
    name: string,
    epoch: number,
    count: number,
    allowance: number,
  ): Promise<number | undefined>;
  /**
   * Spends a token and deposits the letter it pays for, in one transaction: both or neither.
   * A token already spent on the same sealed bytes answers that letter's id again and stores
   * nothing (an idempotent retry).
   * @throws KomradeError `TOKEN_SPENT` when the token paid for another letter, `MAILBOX_FULL`
   */
  spendAndDeposit(
    spend: TokenSpend,
    letter: LetterToDeposit,
    options: DepositOptions,
  ): Promise<SpentDeposit>;
  /**
   * Deletes spent tokens of epochs before `oldestAccepted`, and issue counts of epochs before
   * `current` (tokens are issued for the current epoch only).
   */
  sweepTokenEpochs(
    oldestAccepted: number,
    current: number,
  ): Promise<{ spent: number; allowances: number }>;
}
