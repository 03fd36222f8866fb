/**
 * `RatchetStore`: where an identity keeps its Double Ratchet state (libsignal session records),
 * its own prekeys' secret halves, and what it needs to refuse a replayed first message. Every
 * value is encrypted at rest by the implementation. Reads are of committed state; every change
 * of one ratchet step is applied by {@link RatchetStore.commitRatchet} in one transaction, with
 * the letter it opened, so a crash never leaves a session ahead of (or behind) its letters.
 */

/** The three kinds of prekey an identity keeps the secret halves of. */
export type OwnPrekeyKind = 'one-time' | 'signed' | 'kyber';

/** A first message's use of a last-resort Kyber prekey: seen once, refused after. */
export interface KyberUse {
  readonly kyberId: number;
  readonly signedId: number;
  readonly baseKey: Uint8Array;
}

/**
 * A letter the ratchet opened, kept (encrypted) until the Operator deleted it: fetched again
 * before that (a crash before the ack), it is answered from here, since its message keys are
 * spent.
 */
export interface OpenedRatchetLetter {
  /** The Operator's id of the waiting letter. */
  readonly operatorId: Uint8Array;
  /** BLAKE2b of the sealed bytes: a different letter under a reused id is not this one. */
  readonly digest: Uint8Array;
  /** The ratchet's plaintext: the signed letter, not yet verified. */
  readonly plaintext: Uint8Array;
  /** Whether opening it replaced a session the sender had before (see `RatchetOpened.reset`). */
  readonly reset: boolean;
}

/** What one ratchet step changed, applied at once by {@link RatchetStore.commitRatchet}. */
export interface RatchetChanges {
  /** Serialized libsignal session records by peer name. */
  readonly sessions: ReadonlyMap<string, Uint8Array>;
  /** One-time prekeys spent by a first message: deleted, and their ids remembered. */
  readonly spentOneTime: readonly number[];
  readonly kyberUses: readonly KyberUse[];
  readonly opened?: OpenedRatchetLetter;
  /** BLAKE2b of a first message opened in this step (see `firstMessageSeen`). */
  readonly firstSeen?: Uint8Array;
}

/** The ratchet's part of the local store. */
export interface RatchetStore {
  /** The serialized session record with `peer`. */
  ratchetSession(peer: string): Uint8Array | undefined;
  /** Peers with a session record. */
  ratchetPeers(): string[];

  /** The serialized libsignal record of an own prekey. */
  ownPrekey(kind: OwnPrekeyKind, id: number): Uint8Array | undefined;
  /** The newest own prekey of a kind (highest id). */
  newestOwnPrekey(
    kind: OwnPrekeyKind,
  ): { readonly id: number; readonly record: Uint8Array } | undefined;
  /** Saves own prekeys (new ids only) in one transaction. */
  saveOwnPrekeys(kind: OwnPrekeyKind, records: readonly { id: number; record: Uint8Array }[]): void;
  /** Every own signed or Kyber prekey (a handful: they are replaced weekly). */
  ownLastResortPrekeys(
    kind: 'signed' | 'kyber',
  ): { readonly id: number; readonly record: Uint8Array }[];
  /** Deletes own prekeys (retired signed or Kyber prekeys). */
  deleteOwnPrekeys(kind: OwnPrekeyKind, ids: readonly number[]): number;
  /** Deletes every own one-time prekey (after a restore, before new ones replace them). */
  deleteOwnOneTimePrekeys(): number;
  /** Reserves `count` fresh ids of a kind (never handed out twice, across restarts). */
  reservePrekeyIds(kind: OwnPrekeyKind, count: number): number;
  /** Whether a first message already spent this one-time prekey. */
  oneTimePrekeySpent(id: number): boolean;
  /** Whether a first message with exactly these bytes (their BLAKE2b) was opened before. */
  firstMessageSeen(digest: Uint8Array): boolean;
  /** Whether a first message already used this (last-resort) Kyber prekey with this base key. */
  kyberUsed(use: KyberUse): boolean;

  /** A letter opened before and not yet forgotten (see {@link OpenedRatchetLetter}). */
  openedRatchetLetter(operatorId: Uint8Array): OpenedRatchetLetter | undefined;
  /** Forgets opened letters once the Operator deleted them. */
  forgetOpenedRatchetLetters(operatorIds: readonly Uint8Array[]): number;

  /** When a reset letter last went to `peer` (rate limit: a forger must not make us spend). */
  lastRatchetReset(peer: string): number | undefined;
  markRatchetReset(peer: string, at: number): void;

  /** Whether the Operator's one-time prekeys must all be replaced (after a restore). */
  oneTimeReplaceDue(): boolean;
  setOneTimeReplaceDue(due: boolean): void;
  /** When prekeys were last checked and published at the Operator. */
  prekeysPublishedAt(): number | undefined;
  setPrekeysPublishedAt(at: number): void;

  /**
   * Applies one step's changes in one transaction. A step that opened nothing (a send, a restart)
   * superseded key material: the implementation must leave none of it in any file (e.g. scrub a
   * write-ahead log), as {@link RatchetStore.forgetOpenedRatchetLetters} must for the opened letters.
   */
  commitRatchet(changes: RatchetChanges): void;
}
