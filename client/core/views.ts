/** What the engine hands to adapters: plain, display-ready views with no secrets in them. */

import type { ErrorCode } from '../../common/errors/index.js';
import type { KeyHolder } from '../../common/wire/index.js';
import type { SessionReset } from './prepared.js';

/** The komrade using this client. */
export interface WhoAmI {
  /** The registered name, or `null` before `register`. */
  readonly name: string | null;
  readonly registeredAt: number | null;
  /**
   * Who holds this identity's keys: from the receipt once registered, else what `register` will
   * claim.
   */
  readonly keyHolder: KeyHolder;
  /** Public keys, base64url (safe to show and compare out of band). */
  readonly signKey: string;
  readonly boxKey: string;
}

/** A registered komrade, as vouched for by the pinned Operator key. */
export interface KomradeProfile {
  readonly name: string;
  readonly registeredAt: number;
  /** Who holds the komrade's keys (`self`, or an adapter), as signed in the receipt. */
  readonly keyHolder: KeyHolder;
  readonly signKey: string;
  readonly boxKey: string;
}

/** What a received letter is: a letter to answer, or a post from someone the komrade follows. */
export type ReceivedKind = 'letter' | 'post';

/** A letter the komrade received, verified against its sender's registered key. */
export interface ReceivedLetter {
  /** `post` for a post its author sent to their followers. */
  readonly kind: ReceivedKind;
  /** The letter's own id (base64url), chosen by its sender. */
  readonly id: string;
  readonly from: string;
  /**
   * Who holds the sender's keys, from their verified receipt; `undefined` when the receipt is no
   * longer at hand (a sender whose name vanished).
   */
  readonly fromKeyHolder: KeyHolder | undefined;
  readonly to: string;
  /** When the sender says they sent it (ms since the epoch). */
  readonly sentAt: number;
  /** When this machine downloaded it. */
  readonly receivedAt: number;
  readonly text: string;
}

/** Letters held from someone the komrade has not accepted yet. */
export interface LetterRequest {
  readonly from: string;
  readonly letters: readonly ReceivedLetter[];
}

/** The outcome of one {@link KomradeClient.checkInbox} run. */
export interface InboxCheck {
  /** New letters put in the inbox. */
  readonly received: number;
  /** New letters held as requests. */
  readonly requested: number;
  /** Letters dropped because their sender is blocked. */
  readonly blocked: number;
  /** Letters refused: undecryptable, malformed, bad signature, unknown sender or re-addressed. */
  readonly rejected: number;
  /**
   * Letters processed before: already stored (a previous run could not acknowledge them), or
   * delivered again (the same letter id is never processed twice).
   */
  readonly duplicates: number;
  /** New posts from komrades you follow (in the inbox, marked as posts). */
  readonly posts: number;
  /** Follow and unfollow letters applied to your followers. */
  readonly follows: number;
  /**
   * Follow and unfollow letters not applied because a newer one from the same komrade (or your
   * block) was applied already: an old letter never undoes a newer choice.
   */
  readonly stale: number;
  /**
   * Komrades who started following you in this run (and still do), for "now follows you" notices.
   */
  readonly newFollowers: readonly string[];
  /** Collectives that admitted you since you were last told (see docs/collectives.md). */
  readonly admitted: readonly string[];
  /**
   * Sessions replaced in this run, for "bob's session was reset" notices: `lost` when a letter
   * from them could not be opened here (ask them to send it again).
   */
  readonly sessionResets: readonly SessionReset[];
  /** Posts dropped because you do not follow their author. */
  readonly unsolicited: number;
  /**
   * New collective messages stored (sender and you both current members of the verified log).
   * Those refused are counted in `rejected`.
   */
  readonly collective: number;
}

/** A sent letter. */
export interface SentLetter {
  readonly id: string;
  readonly to: string;
  readonly sentAt: number;
}

/** A recipient a letter could not be sealed or sent to, and why (no key, no text). */
export interface RecipientFailure {
  readonly name: string;
  /** `KEY_INVALID` for a registered key nothing can be sealed to; else the error's code. */
  readonly code: ErrorCode;
  readonly reason: string;
}

/** A post sealed and sent to each follower as a letter. */
export interface FollowersPost {
  /** The letters' shared id (base64url). */
  readonly id: string;
  readonly sentAt: number;
  /** Followers it was sent to. */
  readonly followers: readonly string[];
  /** Followers skipped because they are no longer registered. */
  readonly skipped: readonly string[];
  /** Followers it could not be sealed to (the others still got it). */
  readonly failed: readonly RecipientFailure[];
}

/** A post accepted by the Operator. */
export interface PublishedPost {
  readonly id: string;
  readonly postedAt: number;
  readonly expiresAt: number;
}

/** A world-feed post whose signature checked out against its author's registered key. */
export interface FeedPost {
  readonly id: string;
  readonly from: string;
  readonly postedAt: number;
  readonly days: number;
  /** When the post leaves the feed, by its author's choice. */
  readonly expiresAt: number;
  readonly text: string;
}

/** One page of the world feed. */
export interface FeedView {
  readonly posts: readonly FeedPost[];
  /** Cursor for the next (older) page, or `null` at the end. */
  readonly next: string | null;
  /** Posts dropped because they did not verify. */
  readonly dropped: number;
}
