/** The `LocalStore` port: what the engine keeps on the komrade's own machine. */
import type { RatchetStore } from '../ratchet/index.js';
import type { CollectiveMessage, SignedCollectiveEvent } from '../../common/collectives/index.js';
import type { Letter, Receipt, Token } from '../../common/wire/index.js';
import type { LogAuditStore } from '../transparency/registry-auditor.js';

/** The Operator keys pinned on first use. */
export interface PinnedOperator {
  readonly signKey: Uint8Array;
  readonly feedKey: Uint8Array;
}

/**
 * A Tor SOCKS port the komrade chose at `init` (`--tor-socks`). Always on this machine: the
 * onion name goes to it in the clear.
 */
export interface SocksAddress {
  readonly host: string;
  readonly port: number;
}

/** A token kept in the local store, with its row id. */
export interface StoredToken {
  readonly id: number;
  readonly token: Token;
}

/** How the komrade stands with someone: written to or accepted, or blocked. */
export type ContactState = 'accepted' | 'blocked';

/** Someone the komrade wrote to, accepted or blocked, and since when. */
export interface Contact {
  readonly name: string;
  readonly state: ContactState;
  /** When the state was last set (ms since the epoch). */
  readonly since: number;
}

/** Where a received letter sits: the inbox, or held as a request from a stranger. */
export type LetterFolder = 'inbox' | 'request';

/**
 * How long the ids of processed letters are kept: letters sent within the last 3650 days, the
 * longest any Operator may hold a letter (its `mail.expireDays` is at most 3650). Older letters
 * are refused on arrival, so an id dropped from the store can never be replayed.
 */
export const PROCESSED_LETTER_RETENTION_MS = 3_650 * 86_400_000;

/**
 * A komrade's statement that they follow (or no longer follow) this identity: from a verified
 * `follow` or `unfollow` letter, or `id: null` for a local decision (a block ends a following).
 */
export interface FollowStatement {
  readonly from: string;
  readonly follows: boolean;
  /** The letter's signed `sentAt` (for a local decision, the local clock). */
  readonly sentAt: number;
  readonly id: Uint8Array | null;
}

/**
 * What {@link LocalStore.applyFollowStatement} did: `added`/`removed` changed the followers,
 * `unchanged` was already so, `stale` lost to a newer statement, `duplicate` was processed before.
 */
export type FollowOutcome = 'added' | 'removed' | 'unchanged' | 'stale' | 'duplicate';

/** A verified letter kept locally. */
export interface StoredLetter {
  readonly letter: Letter;
  readonly folder: LetterFolder;
  /** When this machine downloaded it (ms since the epoch). */
  readonly receivedAt: number;
}

/** A collective message verified against its sender's key and the verified log, kept locally. */
export interface StoredCollectiveMessage {
  readonly message: CollectiveMessage;
  /** When this machine downloaded it; for one's own message, when the Operator accepted it. */
  readonly receivedAt: number;
}

/**
 * Local, durable state. Writes are durable when they return, so the engine may acknowledge
 * letters at the Operator right after {@link LocalStore.saveLetters}. Letters, collective messages
 * and collective logs (who vouched for whom) are encrypted at rest by the implementation;
 * everything else here is public or not secret.
 */
export interface LocalStore extends RatchetStore, LogAuditStore {
  /** The Operator's URL, set once at `init`. */
  operatorUrl(): string | undefined;
  setOperatorUrl(url: string): void;

  /** The Tor SOCKS port to reach an onion Operator through; `undefined`: launch our own tor. */
  torSocks(): SocksAddress | undefined;
  setTorSocks(address: SocksAddress | undefined): void;

  /**
   * This identity's circuit isolation key: a random secret sent to the local tor as SOCKS
   * credentials so no other identity shares its circuits. Not the name, and never logged.
   */
  circuitIsolationKey(): string | undefined;
  setCircuitIsolationKey(key: string): void;

  pinnedOperator(): PinnedOperator | undefined;
  pinOperator(pin: PinnedOperator): void;

  /**
   * The Operator's token key (RFC 9497 POPRF public key), pinned on first use apart from its other
   * keys: the wallet checks every issued batch against it.
   */
  pinnedTokenKey(): Uint8Array | undefined;
  pinTokenKey(key: Uint8Array): void;

  /** Keeps issued tokens (encrypted at rest: they are bearer credentials). */
  saveTokens(tokens: readonly Token[]): void;
  /**
   * Reserves a token to pay for the letter `letterKey` names: the one reserved for it before, if
   * any and still of an accepted epoch; else an unreserved one of the oldest epoch in `epochs`.
   * @returns `undefined` when there is none
   */
  reserveToken(letterKey: Uint8Array, epochs: readonly number[]): StoredToken | undefined;
  /** Makes a reserved token free again (the Operator refused the letter, not the token). */
  releaseToken(id: number): void;
  /** Deletes a token: spent, or refused by the Operator. */
  deleteToken(id: number): void;
  /**
   * Deletes every token of an epoch not in `epochs` (no longer accepted).
   * @returns how many
   */
  pruneTokens(epochs: readonly number[]): number;
  /** Unreserved tokens of `epochs`. */
  tokenCount(epochs: readonly number[]): number;
  /** What the Operator last said is left of an epoch's allowance, if it said so. */
  tokensLeft(epoch: number): number | undefined;
  setTokensLeft(epoch: number, left: number): void;

  /** The komrade's own registration receipt. */
  ownReceipt(): Receipt | undefined;
  saveOwnReceipt(receipt: Receipt): void;

  /** A cached receipt of someone (callers verify it before use). */
  cachedReceipt(name: string): Receipt | undefined;
  cacheReceipt(receipt: Receipt): void;

  contactState(name: string): ContactState | undefined;
  setContactState(name: string, state: ContactState, at: number): void;
  /** @returns true when `name` had a state (they are a stranger again) */
  clearContactState(name: string): boolean;
  /** Everyone with a state, by name. */
  contacts(): Contact[];

  /**
   * Stores verified letters in one transaction and marks them processed. A letter whose sender
   * and inner id are already stored or were processed before (even if deleted since) is skipped.
   * @returns the letters that were new
   */
  saveLetters(letters: readonly StoredLetter[]): StoredLetter[];
  /** Letters in a folder, oldest first; `from` narrows to one sender. */
  letters(folder: LetterFolder, from?: string): StoredLetter[];
  /** Moves a sender's letters between folders; returns how many moved. */
  moveLetters(from: string, source: LetterFolder, target: LetterFolder): number;
  /** Deletes a sender's letters in a folder (securely: pages are zeroed); returns how many. */
  deleteLetters(from: string, folder: LetterFolder): number;

  /** True when the letter `id` from `sender` was processed before (and is still remembered). */
  wasProcessed(sender: string, id: Uint8Array): boolean;
  /**
   * Remembers a letter as processed, for letters dropped rather than stored (from a blocked
   * komrade, an unsolicited post), so a second delivery is not processed again.
   * @returns true when it was not processed yet
   */
  markProcessed(sender: string, id: Uint8Array, sentAt: number): boolean;
  /**
   * Forgets processed ids of letters sent before `sentBefore`; callers refuse letters that old
   * (see {@link PROCESSED_LETTER_RETENTION_MS}). @returns how many were forgotten
   */
  pruneProcessed(sentBefore: number): number;

  /**
   * Applies a follow statement in one transaction: only when it is newer (by `sentAt`, ties by
   * letter id) than every statement applied before for the same komrade, so a re-delivered or
   * delayed old letter cannot undo a newer choice; a letter id is marked processed and never
   * applied twice.
   * @param at - when it is applied (the follower's `since`)
   */
  applyFollowStatement(statement: FollowStatement, at: number): FollowOutcome;

  /**
   * Reserves the signed time of this identity's next follow or unfollow: `now`, or 1 ms after the
   * previous one when `now` is not later. Kept durably, so neither a restart nor a clock set back
   * can date a later statement before an earlier one (the recipient keeps only the newest).
   */
  reserveStatementTime(now: number): number;

  /** Komrades who follow this identity (their follow letter verified), by name. */
  followers(): string[];
  /** @returns true when `name` was not a follower yet */
  addFollower(name: string, at: number): boolean;
  /** @returns true when `name` was a follower */
  removeFollower(name: string): boolean;

  /** Komrades this identity follows, by name. */
  following(): string[];
  /** @returns true when `name` was not followed yet */
  addFollowing(name: string, at: number): boolean;
  /** @returns true when `name` was followed */
  removeFollowing(name: string): boolean;

  /** Collectives this identity created, joined or asked to join, by name. */
  collectives(): string[];
  /** @returns true when `name` was not listed yet */
  addCollective(name: string, at: number): boolean;

  /** A collective's cached log, genesis first: only events the rule engine verified. */
  collectiveEvents(collective: string): SignedCollectiveEvent[];
  /**
   * Appends verified events to a collective's cached log, in one transaction; `from` is the seq of
   * the first. Events already cached (another process saved them first) must be byte-identical.
   * @throws `COLLECTIVE_INVALID` when a cached event differs (the Operator served two histories),
   * `USAGE` when `from` leaves a gap
   */
  appendCollectiveEvents(
    collective: string,
    from: number,
    events: readonly SignedCollectiveEvent[],
  ): void;

  /**
   * Stores verified collective messages in one transaction. A message whose collective, sender
   * and inner id are already stored is skipped.
   * @returns the messages that were new
   */
  saveCollectiveMessages(messages: readonly StoredCollectiveMessage[]): StoredCollectiveMessage[];
  /** A collective's messages, oldest (first received) first. */
  collectiveMessages(collective: string): StoredCollectiveMessage[];

  close(): void;
}
