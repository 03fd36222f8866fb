/**
 * Display-ready views of collectives, verified by the client's own copy of the rule engine, and the
 * one way to show the untrusted text in them.
 */
import type { Constitution, ProposalChange } from '../../common/collectives/index.js';
import type { KeyHolder } from '../../common/wire/index.js';
import type { RecipientFailure } from './views.js';

/** How the komrade using the client stands in a collective. */
export type Standing = 'member' | 'candidate' | 'outsider';

/** A member, with the trust label of whoever holds their keys. */
export interface MemberView {
  readonly name: string;
  /** From the member's verified receipt: `self`, or the adapter that holds their keys. */
  readonly keyHolder: KeyHolder | null;
}

/** A candidate waiting for vouches. */
export interface CandidateView {
  readonly candidate: string;
  readonly keyHolder: KeyHolder | null;
  readonly requestedAt: number;
  /**
   * The note the candidate wrote with their request ('' for none), at most 1 KiB. The candidate's
   * own words: show it through {@link untrustedLine}, never as markup.
   */
  readonly note: string;
  /** Current members whose vouch counts. */
  readonly vouchers: readonly string[];
  /** Vouches needed at the current size. */
  readonly quorum: number;
}

/** You were admitted to a collective: found in its verified log, told once. */
export interface AdmissionNotice {
  readonly collective: string;
  /** The member whose admit event let you in (the one whose vouch met the quorum). */
  readonly admittedBy: string;
  /** Members whose vouches counted, and the quorum then. */
  readonly vouchers: readonly string[];
  readonly quorum: number;
  /** The `seq` of the admit event in the log. */
  readonly seq: number;
  readonly at: number;
}

// C0/C1 controls, and the bidi and invisible marks that can reorder or hide what a line says
// (not the joiners inside emoji and the words of some scripts).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]+/g;
// Cut between characters as a reader sees them, never inside an emoji or an accented letter.
const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Untrusted text (a join note) as one bounded line: controls and invisible marks become one
 * space, and more than `max` characters end in `…`. A chat that renders markdown escapes it too.
 */
export function untrustedLine(text: string, max = 200): string {
  const line = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(GRAPHEMES.segment(line), (part) => part.segment);
  return chars.length <= max
    ? line
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/** An open proposal. `id` is the seq of its proposal event (what `vote` takes). */
export interface ProposalView {
  readonly id: number;
  readonly proposer: string;
  readonly change: ProposalChange;
  readonly openedAt: number;
  readonly closesAt: number;
  readonly yes: readonly string[];
  readonly no: readonly string[];
  /** Yes votes needed to enact at the current size. */
  readonly required: number;
}

/** A collective as of its last verified event. */
export interface CollectiveView {
  readonly name: string;
  /** Events in the verified log. */
  readonly length: number;
  readonly standing: Standing;
  readonly constitution: Constitution;
  readonly members: readonly MemberView[];
  readonly pending: readonly CandidateView[];
  readonly proposals: readonly ProposalView[];
}

/**
 * A collective as verified here just before an action (the last sync it was decided on) and just
 * after it (with the action's own events), so callers never sync again "to be sure".
 */
export interface CollectiveChange {
  readonly before: CollectiveView;
  readonly after: CollectiveView;
}

/**
 * A join request's answer: the collective as the candidate now sees it (the fields of `after`),
 * and before it, the copy kept from an earlier membership (`undefined` when there is none: an
 * outsider cannot read the log).
 */
export interface JoinRequested extends CollectiveView {
  readonly before: CollectiveView | undefined;
  readonly after: CollectiveView;
}

/** What a vouch did. */
export interface VouchOutcome {
  readonly collective: string;
  readonly candidate: string;
  /** Members whose vouch counts now, this one included. */
  readonly vouchers: readonly string[];
  readonly quorum: number;
  /** True when this vouch met the quorum and the candidate was admitted. */
  readonly admitted: boolean;
}

/** What a vote did. */
export interface VoteOutcome {
  readonly collective: string;
  readonly proposal: number;
  readonly yes: number;
  readonly no: number;
  readonly required: number;
  /** True when the proposal is enacted (by this call, or before it). */
  readonly enacted: boolean;
  /**
   * True when the proposal had been enacted before this call added anything to the log: the vote
   * was not cast (it would not have counted).
   */
  readonly alreadyPassed: boolean;
}

/** A message sent to every member. */
export interface SentCollectiveMessage {
  readonly collective: string;
  readonly id: string;
  readonly sentAt: number;
  /** Members it was sealed to (everyone but the sender and those in `failed`). */
  readonly recipients: number;
  /** Members it could not be sealed to (e.g. an unsafe registered key); the others got it. */
  readonly failed: readonly RecipientFailure[];
}

/** A collective message verified against its sender's key and the verified log. */
export interface ReceivedCollectiveMessage {
  readonly collective: string;
  /** The message's own id (base64url), chosen by its sender. */
  readonly id: string;
  readonly from: string;
  readonly fromKeyHolder: KeyHolder | null;
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly text: string;
}
