/**
 * What the client core prepares (sealed, checked, ready for the Operator) and how it triages a
 * fetched letter: the one place where every surface's letters and collective messages are made
 * and judged. Whoever sends (the CLI at once, a bot from its outbox) only hands these over.
 */
import type { CollectiveMessage, SealedCollectiveMessage } from '../../common/collectives/index.js';
import type { KeyHolder, Letter } from '../../common/wire/index.js';
import type {
  FollowOutcome,
  StoredCollectiveMessage,
  StoredLetter,
} from '../local-store/local-store.js';
import type { ReceivedCollectiveMessage } from './collective-views.js';
import type { RecipientFailure } from './views.js';

/** Options of a prepare call: a caller that retries may keep the letter's id and time. */
export interface PrepareOptions {
  /** @defaultValue fresh random bytes */
  readonly id?: Uint8Array;
  /** @defaultValue now (for a follow or unfollow: never before the previous one) */
  readonly sentAt?: number;
}

/** A letter signed and sealed to its recipient's registered key, within the Operator's limit. */
export interface PreparedLetter {
  readonly letter: Letter;
  /** The recipient's canonical name. */
  readonly to: string;
  readonly sealed: Uint8Array;
}

/** A post sealed once per follower, as a `post` letter to each (all with one id and time). */
export interface PreparedPost {
  readonly id: Uint8Array;
  readonly sentAt: number;
  readonly letters: readonly PreparedLetter[];
  /** Followers skipped because they are no longer registered. */
  readonly skipped: readonly string[];
  /** Followers it could not be sealed to (the others still get it). */
  readonly failed: readonly RecipientFailure[];
}

/** A collective message signed once and sealed to the current members but its sender. */
export interface PreparedCollectiveMessage {
  readonly message: CollectiveMessage;
  /** `undefined` when nobody else is a member: there is nothing to send. */
  readonly sealed: SealedCollectiveMessage | undefined;
  /** Members it could not be sealed to (their envelope opens for nobody); the others get it. */
  readonly failed: readonly RecipientFailure[];
  /** Members who can open it: everyone but the sender and those in `failed` (0 with no `sealed`). */
  readonly recipients: number;
}

/** A collective message sealed again for the members of now (same id, time and text). */
export interface ResealedCollectiveMessage {
  readonly sealed: SealedCollectiveMessage;
  readonly failed: readonly RecipientFailure[];
}

/**
 * Why a fetched letter is dropped. The Operator may forget it: nothing would change on a retry.
 * - `rejected`: undecryptable, malformed, a bad signature, an unknown sender, addressed to someone
 *   else, or a collective message from (or to) a non-member
 * - `too-old`: older than the processed ids are kept, so it could be an unrecognisable replay
 * - `blocked`: from a komrade this identity blocked
 * - `duplicate`: processed here before (stored, dropped or applied)
 * - `unsolicited`: a post from someone this identity does not follow
 * - `stale`: a follow or unfollow older than the newest one applied from its sender
 * - `undecryptable`: from a registered komrade, but no session here opens it (see `SessionReset`)
 * - `reset`: a `reset` letter, which only starts a new session (see `SessionReset`)
 */
export type DropReason =
  | 'rejected'
  | 'too-old'
  | 'blocked'
  | 'duplicate'
  | 'unsolicited'
  | 'stale'
  | 'undecryptable'
  | 'reset';

/** A pairwise session with a komrade was replaced: the user is told (see `SessionReset.lost`). */
export interface SessionReset {
  readonly name: string;
  /**
   * `true`: a letter from them could not be opened here (a session lost or restored on this side;
   * that letter is gone: ask them to send it again), and a new session was started. `false`: they
   * started a new session (lost or restored on their side).
   */
  readonly lost: boolean;
}

/**
 * What {@link KomradeClient.triage} decided for one fetched letter. Kept letters are not stored
 * yet (the caller stores them, then acknowledges); drops and follow statements are recorded.
 */
export type Triaged = (
  | {
      readonly action: 'keep-letter';
      /** The verified letter and its folder (`request` from a komrade not accepted yet). */
      readonly stored: StoredLetter;
      /** Who holds the sender's keys, from their verified receipt. */
      readonly senderKeyHolder: KeyHolder | null;
    }
  | {
      readonly action: 'keep-collective';
      readonly message: ReceivedCollectiveMessage;
      /** The same message as {@link LocalStore.saveCollectiveMessages} takes it. */
      readonly stored: StoredCollectiveMessage;
    }
  | {
      readonly action: 'follow';
      readonly from: string;
      /** Already applied, durably (`added` or `removed` changed the followers). */
      readonly outcome: FollowOutcome;
    }
  | {
      readonly action: 'drop';
      readonly reason: DropReason;
      /** The verified sender and letter id (base64url), when the letter got that far. */
      readonly from?: string;
      readonly id?: string;
    }
) & {
  /** Set when this letter came with a session reset the user should hear of. */
  readonly sessionReset?: SessionReset;
};
