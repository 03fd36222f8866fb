/** The error a collective log gives when an event breaks a rule: which event, and which rule. */
import { KomradeError } from '../errors/index.js';

/**
 * Every rule an event can break, as a stable string (tests and the Operator branch on it):
 * - `malformed`: not canonical CBOR, wrong tag, or fails the event schema;
 * - `signature`: the actor is unregistered, or the signature does not match its registered key;
 * - `collective`: the event names another collective;
 * - `seq`: not the next sequence number (a second event at a seq, i.e. a fork, lands here);
 * - `chain`: `prev` is not the hash of the previous event's signed bytes;
 * - `time`: `at` is earlier than the previous event's;
 * - `genesis`: the first event is not a genesis by a founder, or a later one is;
 * - `key-holder`: the constitution does not let this key holder act;
 * - `key-invalid`: a founder, a join-request's actor or an admitted candidate has registered keys
 *   that are malformed or of small order;
 * - `not-member`: the actor (or a proposal's target) must be a current member;
 * - `already-member`, `already-pending`, `not-pending`: join-request, vouch and admit order;
 * - `double-vouch`, `double-vote`: a member's second vouch for a candidate, or vote on a proposal;
 * - `quorum`: an admit without enough distinct current members' vouches;
 * - `no-proposal`: a vote or enactment on a proposal that is not open (unknown or enacted);
 * - `window-closed`: a vote or enactment after the proposal's voting window;
 * - `threshold`: an enactment without enough yes votes.
 */
export const COLLECTIVE_RULES = [
  'malformed',
  'signature',
  'collective',
  'seq',
  'chain',
  'time',
  'genesis',
  'key-holder',
  'key-invalid',
  'not-member',
  'already-member',
  'already-pending',
  'not-pending',
  'double-vouch',
  'double-vote',
  'quorum',
  'no-proposal',
  'window-closed',
  'threshold',
] as const;

/** One of {@link COLLECTIVE_RULES}. */
export type CollectiveRule = (typeof COLLECTIVE_RULES)[number];

/**
 * `COLLECTIVE_INVALID`: event number `index` (0-based position in the log, equal to its `seq`
 * when well-formed) breaks `rule`. Carries no event content beyond names already public to members.
 */
export class CollectiveRuleError extends KomradeError {
  readonly index: number;
  readonly rule: CollectiveRule;

  constructor(index: number, rule: CollectiveRule, detail: string, options?: { cause?: unknown }) {
    super('COLLECTIVE_INVALID', `Collective event #${index} breaks rule "${rule}": ${detail}`, {
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.index = index;
    this.rule = rule;
  }
}
