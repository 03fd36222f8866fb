/** The `LocalStore` port: what the engine keeps on the komrade's own machine. */
import type { CollectiveMessage, SignedCollectiveEvent } from '../../common/collectives/index.js';
import type { Letter, Receipt } from '../../common/wire/index.js';

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

/** How the komrade stands with someone: written to or accepted, or blocked. */
export type ContactState = 'accepted' | 'blocked';

/** Where a received letter sits: the inbox, or held as a request from a stranger. */
export type LetterFolder = 'inbox' | 'request';

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
export interface LocalStore {
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

  /** The komrade's own registration receipt. */
  ownReceipt(): Receipt | undefined;
  saveOwnReceipt(receipt: Receipt): void;

  /** A cached receipt of someone (callers verify it before use). */
  cachedReceipt(name: string): Receipt | undefined;
  cacheReceipt(receipt: Receipt): void;

  contactState(name: string): ContactState | undefined;
  setContactState(name: string, state: ContactState, at: number): void;

  /**
   * Stores verified letters in one transaction. A letter whose sender and inner id are already
   * stored is skipped.
   * @returns the letters that were new
   */
  saveLetters(letters: readonly StoredLetter[]): StoredLetter[];
  /** Letters in a folder, oldest first; `from` narrows to one sender. */
  letters(folder: LetterFolder, from?: string): StoredLetter[];
  /** Moves a sender's letters between folders; returns how many moved. */
  moveLetters(from: string, source: LetterFolder, target: LetterFolder): number;
  /** Deletes a sender's letters in a folder (securely: pages are zeroed); returns how many. */
  deleteLetters(from: string, folder: LetterFolder): number;

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
