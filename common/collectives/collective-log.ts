/**
 * The rule engine: folds a collective's signed, hash-chained event log into its state, checking
 * every signature against the registered key, the chain, and every rule of the constitution.
 */
import { isValidBoxKey, isValidSignKey, verifyDetached } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { bytesEqual, type KeyHolder } from '../wire/index.js';
import { CollectiveRuleError, type CollectiveRule } from './collective-error.js';
import { quorumFor, votesRequired, type Constitution, type Threshold } from './constitution.js';
import {
  GENESIS_PREV,
  decodeCollectiveEvent,
  eventHash,
  type CollectiveEvent,
  type CollectiveEventKind,
  type CollectiveEventOf,
  type ProposalChange,
  type SignedCollectiveEvent,
} from './event.js';

/** What the engine needs from the registry: keys and key-holder labels **as registered**. */
export interface CollectiveLookups {
  /** The Ed25519 public key registered for `name`, or undefined for an unregistered name. */
  keyOf(name: string): Uint8Array | undefined;
  /** Who holds `name`'s keys, from its signed registration; undefined is never allowed to act. */
  keyHolderOf(name: string): KeyHolder | undefined;
  /**
   * The X25519 key registered for `name`, when the registry has it: then a name whose box key is
   * of low order cannot enter the collective (nothing could be sealed to it).
   */
  boxKeyOf?(name: string): Uint8Array | undefined;
}

/** A candidate with a pending join request, as members see it. */
export interface PendingCandidate {
  readonly candidate: string;
  readonly requestedAt: number;
  /** Current members whose vouch counts, sorted. */
  readonly vouchers: readonly string[];
  /** Vouches needed to admit at the current size. */
  readonly quorum: number;
}

/** A proposal not yet enacted whose voting window had not closed at the last event. */
export interface OpenProposal {
  /** The proposal's id: the `seq` of its proposal event. */
  readonly seq: number;
  readonly proposer: string;
  readonly change: ProposalChange;
  readonly openedAt: number;
  /** Last instant (ms) at which a vote or the enactment is accepted. */
  readonly closesAt: number;
  /** Current members who voted yes / no, sorted. */
  readonly yes: readonly string[];
  readonly no: readonly string[];
  /** Yes votes needed to enact at the current size. */
  readonly required: number;
}

/** A verified collective, as of its last event. Plain data, frozen. */
export interface CollectiveState {
  readonly collective: string;
  /** Number of events; also the `seq` the next event must carry. */
  readonly length: number;
  /** Hash of the last event's signed bytes: the `prev` the next event must carry. */
  readonly head: Uint8Array;
  /** `at` of the last event. */
  readonly lastAt: number;
  readonly constitution: Constitution;
  /** Current members, sorted. */
  readonly members: readonly string[];
  /** Pending candidates, by name. */
  readonly pending: readonly PendingCandidate[];
  /** Open proposals, oldest first. */
  readonly proposals: readonly OpenProposal[];
}

interface PendingEntry {
  readonly requestedAt: number;
  /** Voucher → seq of their vouch. */
  readonly vouches: Map<string, number>;
}

interface ProposalEntry {
  readonly seq: number;
  readonly proposer: string;
  readonly change: ProposalChange;
  readonly openedAt: number;
  readonly closesAt: number;
  /** The threshold of the constitution in force when the proposal was made. */
  readonly threshold: Threshold;
  /** Voter → their vote and its seq. */
  readonly votes: Map<string, { readonly yes: boolean; readonly seq: number }>;
}

/** The parts of the state that exist once a genesis has been applied. */
interface Live {
  readonly collective: string;
  constitution: Constitution;
  /** Member → seq at which their current membership began. */
  readonly members: Map<string, number>;
  readonly pending: Map<string, PendingEntry>;
  readonly proposals: Map<number, ProposalEntry>;
}

/**
 * A collective's log being verified or extended, one event at a time: {@link CollectiveLog.canAppend}
 * checks the next event without changing anything (what the Operator calls before storing it), and
 * {@link CollectiveLog.append} checks and applies it. Each step costs one signature check, one
 * hash, and work proportional to the event (an admit or enactment counts its vouches or votes
 * once), so verifying a log of N events is O(N).
 *
 * @example
 * ```ts
 * const log = new CollectiveLog({ keyOf, keyHolderOf });
 * for (const event of events) {
 *   const appended = log.append(event);
 *   if (!appended.ok) throw appended.error; // COLLECTIVE_INVALID, naming the event and rule
 * }
 * log.state().members;
 * ```
 */
export class CollectiveLog {
  readonly #lookups: CollectiveLookups;
  #live: Live | undefined;
  #length = 0;
  #head: Uint8Array = GENESIS_PREV;
  #lastAt = 0;

  /** @param lookups - the registry: keys and key holders as registered */
  constructor(lookups: CollectiveLookups) {
    this.#lookups = lookups;
  }

  /** Number of events appended: the `seq` of the next event. */
  get length(): number {
    return this.#length;
  }

  /** The `prev` the next event must carry (32 zero bytes before the genesis). */
  get head(): Uint8Array {
    return this.#head;
  }

  /** True when `name` is a current member. */
  isMember(name: string): boolean {
    return this.#live?.members.has(name) ?? false;
  }

  /**
   * Checks that `signed` may be the next event, without changing the log.
   * @returns the decoded event, or a `COLLECTIVE_INVALID` {@link CollectiveRuleError} naming the
   * rule and this event's index
   */
  canAppend(signed: SignedCollectiveEvent): Result<CollectiveEvent, CollectiveRuleError> {
    const decoded = decodeCollectiveEvent(signed.signed);
    if (!decoded.ok) {
      return err(
        new CollectiveRuleError(this.#length, 'malformed', decoded.error.message, {
          cause: decoded.error,
        }),
      );
    }
    const event = decoded.value;
    const broken = this.#check(event, signed);
    return broken === undefined ? ok(event) : err(broken);
  }

  /**
   * Checks `signed` like {@link CollectiveLog.canAppend} and, if it passes, appends it.
   * @returns the event appended, or the error; a refused event leaves the log unchanged
   */
  append(signed: SignedCollectiveEvent): Result<CollectiveEvent, CollectiveRuleError> {
    const checked = this.canAppend(signed);
    if (checked.ok) this.#apply(checked.value, eventHash(signed.signed));
    return checked;
  }

  /**
   * The unsigned next event for `actor`, with `v`, `collective`, `seq` and `prev` filled in.
   * @throws `USAGE` before the genesis (use {@link genesisDraft})
   */
  draft<K extends Exclude<CollectiveEventKind, 'genesis'>>(
    kind: K,
    actor: string,
    at: number,
    body: CollectiveEventOf<K>['body'],
  ): CollectiveEventOf<K> {
    const live = this.#live;
    if (live === undefined)
      throw new KomradeError('USAGE', 'No event can follow before the genesis.');
    const event = {
      v: 1,
      collective: live.collective,
      seq: this.#length,
      prev: this.#head,
      at,
      actor,
      kind,
      body,
    } as const;
    return event as unknown as CollectiveEventOf<K>;
  }

  /**
   * A frozen snapshot of the state. Costs O(state).
   * @throws `USAGE` before the genesis
   */
  state(): CollectiveState {
    const live = this.#live;
    if (live === undefined)
      throw new KomradeError('USAGE', 'A collective has no state before its genesis.');
    const size = live.members.size;
    const pending = [...live.pending]
      .sort(([a], [b]) => compare(a, b))
      .map(([candidate, entry]) =>
        Object.freeze({
          candidate,
          requestedAt: entry.requestedAt,
          vouchers: Object.freeze(
            [...entry.vouches]
              .filter(([v, s]) => this.#counts(v, s))
              .map(([v]) => v)
              .sort(compare),
          ),
          quorum: quorumFor(live.constitution.quorum, size),
        }),
      );
    const proposals = [...live.proposals.values()]
      .filter((p) => p.closesAt >= this.#lastAt)
      .sort((a, b) => a.seq - b.seq)
      .map((p) => {
        const counted = [...p.votes].filter(([voter, vote]) => this.#counts(voter, vote.seq));
        return Object.freeze({
          seq: p.seq,
          proposer: p.proposer,
          change: p.change,
          openedAt: p.openedAt,
          closesAt: p.closesAt,
          yes: Object.freeze(
            counted
              .filter(([, v]) => v.yes)
              .map(([n]) => n)
              .sort(compare),
          ),
          no: Object.freeze(
            counted
              .filter(([, v]) => !v.yes)
              .map(([n]) => n)
              .sort(compare),
          ),
          required: votesRequired(p.threshold, size),
        });
      });
    return Object.freeze({
      collective: live.collective,
      length: this.#length,
      head: this.#head,
      lastAt: this.#lastAt,
      constitution: live.constitution,
      members: Object.freeze([...live.members.keys()].sort(compare)),
      pending: Object.freeze(pending),
      proposals: Object.freeze(proposals),
    });
  }

  /** Whether a vouch or vote made at `seq` by `name` still counts: made in their current membership. */
  #counts(name: string, seq: number): boolean {
    const since = this.#live?.members.get(name);
    return since !== undefined && since < seq;
  }

  /**
   * Whether `name`'s registered keys are unusable (malformed or small-order; see common/crypto
   * `checkPublicKeys`). Checked where a name enters, so no member is one nobody can write to.
   */
  #badKeys(name: string): boolean {
    const sign = this.#lookups.keyOf(name);
    if (sign !== undefined && !isValidSignKey(sign)) return true;
    const box = this.#lookups.boxKeyOf?.(name);
    return box !== undefined && !isValidBoxKey(box);
  }

  #allowed(name: string, constitution: Constitution): boolean {
    const holder = this.#lookups.keyHolderOf(name);
    return holder !== undefined && constitution.allowedKeyHolders.includes(holder);
  }

  /** The first rule `event` breaks as the next event, or undefined. Never mutates. */
  #check(event: CollectiveEvent, signed: SignedCollectiveEvent): CollectiveRuleError | undefined {
    const index = this.#length;
    const fail = (rule: CollectiveRule, detail: string) =>
      new CollectiveRuleError(index, rule, `${event.kind} by @${event.actor}: ${detail}`);

    if (event.seq !== index) return fail('seq', `carries seq ${event.seq}, expected ${index}`);
    if (!bytesEqual(event.prev, this.#head)) {
      return fail('chain', 'prev is not the hash of the previous event');
    }
    const key = this.#lookups.keyOf(event.actor);
    if (key === undefined) return fail('signature', 'the actor is not registered');
    if (!verifyDetached(signed.sig, signed.signed, key)) {
      return fail('signature', "the signature does not match the actor's registered key");
    }
    if (index > 0 && event.at < this.#lastAt)
      return fail('time', 'earlier than the previous event');

    const live = this.#live;
    if (event.kind === 'genesis' || live === undefined) {
      if (event.kind !== 'genesis' || live !== undefined) {
        return fail('genesis', 'a log starts with exactly one genesis');
      }
      const { founders, constitution } = event.body;
      if (!founders.includes(event.actor)) return fail('genesis', 'the actor is not a founder');
      const unregistered = founders.find((f) => this.#lookups.keyOf(f) === undefined);
      if (unregistered !== undefined) {
        return fail('genesis', `founder @${unregistered} is not registered`);
      }
      const unusable = founders.find((f) => this.#badKeys(f));
      if (unusable !== undefined) {
        return fail('key-invalid', `founder @${unusable}'s registered keys are not valid`);
      }
      const refused = founders.find((f) => !this.#allowed(f, constitution));
      if (refused !== undefined) {
        return fail('key-holder', `the constitution does not let @${refused}'s key holder act`);
      }
      return undefined;
    }

    if (event.collective !== live.collective) {
      return fail('collective', `names @${event.collective}, not @${live.collective}`);
    }
    // Anyone may always leave; every other act needs an allowed key holder.
    if (event.kind !== 'leave' && !this.#allowed(event.actor, live.constitution)) {
      return fail('key-holder', "the constitution does not let the actor's key holder act");
    }
    const isMember = live.members.has(event.actor);

    switch (event.kind) {
      case 'join-request':
        if (isMember) return fail('already-member', 'the actor is already a member');
        if (live.pending.has(event.actor)) return fail('already-pending', 'already requested');
        if (this.#badKeys(event.actor)) {
          return fail('key-invalid', "the actor's registered keys are not valid");
        }
        return undefined;

      case 'vouch': {
        if (!isMember) return fail('not-member', 'only members vouch');
        const entry = live.pending.get(event.body.candidate);
        if (entry === undefined) return fail('not-pending', 'no pending request to vouch for');
        const earlier = entry.vouches.get(event.actor);
        if (earlier !== undefined && this.#counts(event.actor, earlier)) {
          return fail('double-vouch', 'this member already vouched for this candidate');
        }
        return undefined;
      }

      case 'admit': {
        const { candidate } = event.body;
        if (!isMember && event.actor !== candidate) {
          return fail('not-member', 'only members or the candidate admit');
        }
        const entry = live.pending.get(candidate);
        if (entry === undefined) return fail('not-pending', 'no pending request to admit');
        if (this.#badKeys(candidate)) {
          return fail('key-invalid', "the candidate's registered keys are not valid");
        }
        if (!this.#allowed(candidate, live.constitution)) {
          return fail('key-holder', "the constitution does not admit the candidate's key holder");
        }
        let vouches = 0;
        for (const [voucher, seq] of entry.vouches) if (this.#counts(voucher, seq)) vouches++;
        const quorum = quorumFor(live.constitution.quorum, live.members.size);
        if (vouches < quorum) {
          return fail('quorum', `${vouches} valid vouches, quorum is ${quorum}`);
        }
        return undefined;
      }

      case 'leave':
        if (!isMember && !live.pending.has(event.actor)) {
          return fail('not-member', 'only members and candidates leave');
        }
        return undefined;

      case 'proposal':
        if (!isMember) return fail('not-member', 'only members propose');
        if (event.body.action === 'remove') {
          if (!live.members.has(event.body.member)) {
            return fail('not-member', 'the member to remove is not a member');
          }
          if (event.body.member === event.actor) {
            return fail('not-member', 'a member leaves rather than proposing their own removal');
          }
        }
        return undefined;

      case 'vote': {
        if (!isMember) return fail('not-member', 'only members vote');
        const proposal = live.proposals.get(event.body.proposal);
        if (proposal === undefined) return fail('no-proposal', 'no open proposal with that seq');
        if (event.at > proposal.closesAt) return fail('window-closed', 'the voting window closed');
        const earlier = proposal.votes.get(event.actor);
        if (earlier !== undefined && this.#counts(event.actor, earlier.seq)) {
          return fail('double-vote', 'this member already voted on this proposal');
        }
        return undefined;
      }

      case 'enactment': {
        if (!isMember) return fail('not-member', 'only members enact');
        const proposal = live.proposals.get(event.body.proposal);
        if (proposal === undefined) return fail('no-proposal', 'no open proposal with that seq');
        if (event.at > proposal.closesAt) return fail('window-closed', 'the voting window closed');
        if (proposal.change.action === 'remove' && !live.members.has(proposal.change.member)) {
          return fail('not-member', 'the member to remove is no longer a member');
        }
        let yes = 0;
        for (const [voter, vote] of proposal.votes)
          if (vote.yes && this.#counts(voter, vote.seq)) yes++;
        const required = votesRequired(proposal.threshold, live.members.size);
        if (yes < required) return fail('threshold', `${yes} yes votes, ${required} needed`);
        return undefined;
      }
    }
  }

  /** Applies an event that {@link CollectiveLog.#check} accepted. */
  #apply(event: CollectiveEvent, hash: Uint8Array): void {
    this.#length++;
    this.#head = hash;
    this.#lastAt = event.at;
    if (event.kind === 'genesis') {
      this.#live = {
        collective: event.collective,
        constitution: event.body.constitution,
        members: new Map(event.body.founders.map((f) => [f, event.seq])),
        pending: new Map(),
        proposals: new Map(),
      };
      return;
    }
    const live = this.#live;
    if (live === undefined) throw new Error('unreachable: checked events follow a genesis');
    switch (event.kind) {
      case 'join-request':
        live.pending.set(event.actor, { requestedAt: event.at, vouches: new Map() });
        return;
      case 'vouch':
        live.pending.get(event.body.candidate)?.vouches.set(event.actor, event.seq);
        return;
      case 'admit':
        live.pending.delete(event.body.candidate);
        live.members.set(event.body.candidate, event.seq);
        return;
      case 'leave':
        // Their vouches and votes stop counting: #counts needs a current membership.
        live.members.delete(event.actor);
        live.pending.delete(event.actor);
        return;
      case 'proposal': {
        const { amendment, removal, votingWindowMs } = live.constitution;
        live.proposals.set(event.seq, {
          seq: event.seq,
          proposer: event.actor,
          change: event.body,
          openedAt: event.at,
          closesAt: event.at + votingWindowMs,
          threshold: event.body.action === 'amend' ? amendment : removal,
          votes: new Map(),
        });
        return;
      }
      case 'vote':
        live.proposals
          .get(event.body.proposal)
          ?.votes.set(event.actor, { yes: event.body.yes, seq: event.seq });
        return;
      case 'enactment': {
        const proposal = live.proposals.get(event.body.proposal);
        live.proposals.delete(event.body.proposal);
        if (proposal?.change.action === 'amend') live.constitution = proposal.change.constitution;
        if (proposal?.change.action === 'remove') live.members.delete(proposal.change.member);
        return;
      }
    }
  }
}

/**
 * Verifies a whole log (in order, from its genesis) and returns the collective's state. What every
 * member's client runs on the log the Operator serves.
 * @param events - the log, genesis first
 * @param lookups - keys and key holders as registered
 * @returns the state, or a `COLLECTIVE_INVALID` {@link CollectiveRuleError} naming the first bad
 * event's index and the rule it breaks (an empty log is refused as `genesis` at index 0)
 */
export function foldLog(
  events: readonly SignedCollectiveEvent[],
  lookups: CollectiveLookups,
): Result<CollectiveState, CollectiveRuleError> {
  if (events.length === 0) {
    return err(new CollectiveRuleError(0, 'genesis', 'the log is empty'));
  }
  const log = new CollectiveLog(lookups);
  for (const event of events) {
    const appended = log.append(event);
    if (!appended.ok) return appended;
  }
  return ok(log.state());
}

/** Draft of a genesis event (seq 0, `prev` = 32 zero bytes) for `actor`, one of the founders. */
export function genesisDraft(
  collective: string,
  actor: string,
  at: number,
  body: CollectiveEventOf<'genesis'>['body'],
): CollectiveEventOf<'genesis'> {
  return { v: 1, collective, seq: 0, prev: GENESIS_PREV, at, actor, kind: 'genesis', body };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
