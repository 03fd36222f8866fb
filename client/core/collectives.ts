/**
 * `Collectives`: the collective half of the client engine. It keeps a verified copy of each log,
 * syncs it incrementally, drafts and signs this komrade's events, and retries on conflicts.
 * `KomradeClient` is its only user and the public entry point.
 */
import {
  DEFAULT_CONSTITUTION,
  MAX_FOUNDERS,
  MAX_JOIN_NOTE_BYTES,
  checkCollectiveEvent,
  checkCollectiveMessage,
  collectivePowBytes,
  genesisDraft,
  namesInSigned,
  openCollectiveBody,
  openKeyEnvelope,
  signCollectiveEvent,
  verifyCollectiveMessage,
  type CollectiveEvent,
  type CollectiveMessage,
  type Constitution,
  type OpenProposal,
  type ProposalChange,
  type SealedCollectiveMessage,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import type { IdentityKeys } from '../../common/crypto/index.js';
import { KomradeError, err, isKomradeError, ok, type Result } from '../../common/errors/index.js';
import {
  ID_BYTES,
  MAX_LETTER_TEXT_BYTES,
  bytesEqual,
  parseNewName,
  solveProofOfWork,
  toBase64url,
  verifyReceipt,
  type OperatorInfo,
  type PowProgress,
  type Receipt,
} from '../../common/wire/index.js';
import type { LocalStore, StoredCollectiveMessage } from '../local-store/local-store.js';
import type { OperatorClient, RequestSigner } from '../operator-client/operator-client.js';
import type { Ratchet } from '../ratchet/index.js';
import { CollectiveReplica, seqOf } from './collective-replica.js';
import { KeyedLock } from './keyed-lock.js';
import { checkMessageText } from './message-text.js';
import { nameOrThrow } from './names.js';
import type {
  PrepareOptions,
  PreparedCollectiveMessage,
  ResealedCollectiveMessage,
  SessionReset,
} from './prepared.js';
import { isRecipientFault } from './recipient-failure.js';
import { sealToMembers, type MemberKey } from './seal-to-members.js';
import type {
  AdmissionNotice,
  CollectiveChange,
  CollectiveView,
  JoinRequested,
  ProposalView,
  ReceivedCollectiveMessage,
  SentCollectiveMessage,
  VoteOutcome,
  VouchOutcome,
} from './collective-views.js';

/** Options for creating a collective: its founders besides you, its rules, and PoW progress. */
export interface CreateCollectiveOptions {
  /** The other founders (registered komrades); you are always the first. */
  readonly founders?: readonly string[];
  /** @defaultValue {@link DEFAULT_CONSTITUTION} */
  readonly constitution?: Constitution;
  /** Called once the genesis is checked and the proof of work starts (2^bits hashes expected). */
  readonly onSolving?: (work: { readonly bits: number; readonly expected: number }) => void;
  /** Called while the proof of work runs, about every 64k hashes. */
  readonly onProgress?: (progress: PowProgress) => void;
  readonly signal?: AbortSignal;
}

/** What {@link Collectives} needs from the client engine. */
export interface CollectivesHost {
  readonly operator: OperatorClient;
  readonly store: LocalStore;
  readonly keys: IdentityKeys;
  readonly now: () => number;
  readonly random: (length: number) => Uint8Array;
  /** Waits between retries after a conflict. */
  readonly sleep: (ms: number) => Promise<void>;
  /** @throws `NOT_REGISTERED` */
  signer(): RequestSigner;
  /** The Operator's info, its keys pinned. */
  operatorInfo(): Promise<OperatorInfo>;
  /** A receipt checked against the pinned Operator key (cached), or `NAME_UNKNOWN`. */
  receiptOf(name: string): Promise<Receipt>;
  /**
   * Checks a receipt (verified against the pinned key) is in the Operator's registry log, as the
   * client's auditor does. @throws `OPERATOR_ERROR` (no or a malformed proof), `LOG_INCONSISTENT`
   */
  checkReceipt(receipt: Receipt): Promise<void>;
  /** The identity's one ratchet: each member's content key goes through their session. */
  readonly ratchet: Pick<Ratchet, 'encryptMany' | 'decrypt'>;
  /**
   * After a message from `sender` that no session opens: a new session with them, as for a
   * letter (rate-limited; nothing for a blocked komrade).
   */
  resetSession(sender: Receipt): Promise<void>;
}

/**
 * What opening a collective message gave: the message to keep or why not, and a session reset
 * the user should hear of (the sender started a new session, or none here opened theirs).
 */
export type CollectiveOpening = Result<StoredCollectiveMessage> & {
  readonly sessionReset?: SessionReset;
};

/** A step of an action: the next event to append, or the answer. */
type Step<T> =
  | { readonly done: T }
  | {
      readonly draft: CollectiveEvent;
      /** When set, a draft the local rules refuse ends the action with this answer instead. */
      readonly otherwise?: T;
    };

/** Events this call tried to append, so a plan recognises its own event after a conflict. */
interface Attempts {
  readonly tried: SignedCollectiveEvent[];
}

/** What an action answered, with the collective before and after it. */
type Acted<T> = { readonly value: T } & CollectiveChange;

/** Conflicts (someone appended first) tolerated per action before giving up. */
const MAX_CONFLICTS = 20;
/** Events asked for per log page: keeps answers well under the client's size limit. */
const LOG_PAGE = 250;
// A misbehaving Operator could claim more events forever; stop after this many pages.
const MAX_LOG_PAGES = 100_000;

/** Why a message's collective cannot be checked, for good (anything else may pass). */
const PERMANENT = ['NAME_UNKNOWN', 'NAME_INVALID', 'NOT_FOUND', 'BAD_REQUEST'] as const;

/** A random pause that grows with each conflict, so racing members spread out (≤ 1 s). */
const conflictPause = (conflict: number): number =>
  Math.floor(Math.random() * Math.min(1_000, 40 * 2 ** Math.min(conflict, 5)));

// Told admissions are kept in the processed-letters ledger under a sender no komrade can have
// (names have no `:`), so telling survives restarts without a table of its own.
const toldSender = (collective: string) => `admitted:${collective}`;
const toldId = (seq: number) => new TextEncoder().encode(`admit#${seq}`);

/** Bytes of the send request's JSON: base64url grows each envelope by a third. */
const requestBytesOf = (collective: string, sealed: SealedCollectiveMessage): number =>
  128 +
  collective.length +
  Math.ceil((sealed.body.length * 4) / 3) +
  sealed.keys.reduce((sum, k) => sum + 24 + k.to.length + Math.ceil((k.sealed.length * 4) / 3), 0);

const notMember = (collective: string) =>
  new KomradeError('NOT_MEMBER', `You are not a member of @${collective}.`);

const sameKeys = (a: Receipt, b: Receipt) =>
  bytesEqual(a.signKey, b.signKey) && bytesEqual(a.boxKey, b.boxKey) && a.keyHolder === b.keyHolder;

const proposalView = (p: OpenProposal): ProposalView => ({
  id: p.seq,
  proposer: p.proposer,
  change: p.change,
  openedAt: p.openedAt,
  closesAt: p.closesAt,
  yes: p.yes,
  no: p.no,
  required: p.required,
});

const withChange = <T extends object>({
  value,
  before,
  after,
}: Acted<T>): T & CollectiveChange => ({
  ...value,
  before,
  after,
});

/**
 * The collective operations of `KomradeClient`. Every log the Operator serves is verified
 * by the same rule engine the Operator runs, each receipt against the pinned Operator key, and
 * nothing from a log that fails is stored. Operations on one collective run one at a time.
 */
export class Collectives {
  readonly #host: CollectivesHost;
  readonly #replicas = new Map<string, CollectiveReplica>();
  readonly #lock = new KeyedLock();

  constructor(host: CollectivesHost) {
    this.#host = host;
  }

  // ── Creating and joining ────────────────────────────────────────────────────────────────────

  async create(input: string, options: CreateCollectiveOptions = {}): Promise<CollectiveView> {
    const parsed = parseNewName(input);
    if (!parsed.ok) throw parsed.error;
    const name = parsed.value;
    const signer = this.#host.signer();
    const founders = [signer.name];
    for (const founder of options.founders ?? []) {
      const f = nameOrThrow(founder);
      if (!founders.includes(f)) founders.push(f);
    }
    if (founders.length > MAX_FOUNDERS) {
      throw new KomradeError('USAGE', `A collective may have at most ${MAX_FOUNDERS} founders.`);
    }
    return this.#lock.run(name, async () => {
      const info = await this.#host.operatorInfo();
      const replica = new CollectiveReplica(name);
      for (const founder of founders) replica.addReceipt(await this.#host.receiptOf(founder));
      const draft = genesisDraft(name, signer.name, this.#now(), {
        founders,
        constitution: options.constitution ?? DEFAULT_CONSTITUTION,
      });
      const genesis = this.#sign(replica, draft);
      options.onSolving?.({ bits: info.powBits, expected: 2 ** info.powBits });
      const pow = await solveProofOfWork(collectivePowBytes(genesis.signed), info.powBits, {
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      try {
        await this.#host.operator.createCollective(signer, genesis, pow);
      } catch (error) {
        // An earlier attempt may have created it before its answer was lost: adopt our own log.
        if (!(await this.#isOurGenesis(signer, name, genesis))) throw error;
      }
      this.#replicas.set(name, replica);
      this.#applyOwn(replica, genesis);
      this.#host.store.addCollective(name, this.#now());
      return this.#view(await this.#sync(name), signer.name);
    });
  }

  async #isOurGenesis(
    signer: RequestSigner,
    name: string,
    genesis: SignedCollectiveEvent,
  ): Promise<boolean> {
    try {
      const page = await this.#host.operator.collectiveLog(signer, name, 0, 1);
      const first = page.from === 0 ? page.events[0] : undefined;
      return first !== undefined && bytesEqual(first.signed, genesis.signed);
    } catch {
      return false;
    }
  }

  async requestToJoin(input: string, note = ''): Promise<JoinRequested> {
    const name = nameOrThrow(input);
    const signer = this.#host.signer();
    const size = Buffer.byteLength(note, 'utf8');
    if (size > MAX_JOIN_NOTE_BYTES) {
      throw new KomradeError(
        'USAGE',
        `The note is ${size} bytes; a join request's note may have at most ${MAX_JOIN_NOTE_BYTES}.`,
      );
    }
    return this.#lock.run(name, async (): Promise<JoinRequested> => {
      // What was verified here before (a copy kept from an earlier membership), if anything.
      const kept = await this.#load(name).catch(() => undefined);
      const before =
        kept !== undefined && kept.length > 0 ? this.#view(kept, signer.name) : undefined;
      const answer = (replica: CollectiveReplica): JoinRequested => {
        const after = this.#view(replica, signer.name);
        return { ...after, before, after };
      };
      for (let conflict = 0; ; conflict++) {
        // An outsider cannot read the log: draft from the head the Operator states. A wrong head
        // only makes the append fail, and the log is verified once we may read it.
        const head = await this.#host.operator.collectiveHead(signer, name);
        const event = {
          v: 1,
          collective: name,
          seq: head.length,
          prev: head.head,
          at: Math.max(this.#host.now(), head.lastAt),
          actor: signer.name,
          kind: 'join-request',
          body: { note },
        };
        const checked = checkCollectiveEvent(event);
        if (!checked.ok) throw new KomradeError('USAGE', checked.error.message);
        const signed = signCollectiveEvent(checked.value, this.#host.keys.signSecret);
        try {
          await this.#host.operator.appendEvent(signer, signed);
          break;
        } catch (error) {
          if (isKomradeError(error, 'COLLECTIVE_CONFLICT') && conflict < MAX_CONFLICTS) {
            await this.#host.sleep(conflictPause(conflict + 1));
            continue;
          }
          // Already a member or candidate (e.g. an earlier attempt went through): say so.
          if (isKomradeError(error, 'COLLECTIVE_RULE')) {
            const replica = await this.#sync(name).catch(() => undefined);
            if (replica?.isIn(signer.name) === true) return answer(replica);
          }
          throw error;
        }
      }
      this.#host.store.addCollective(name, this.#now());
      return answer(await this.#sync(name));
    });
  }

  // ── Reading ─────────────────────────────────────────────────────────────────────────────────

  /** Syncs and verifies the log; an outsider sees the last verified copy, if any. */
  async collective(input: string): Promise<CollectiveView> {
    const name = nameOrThrow(input);
    const me = this.#host.signer().name;
    return this.#lock.run(name, async () => {
      try {
        return this.#view(await this.#sync(name), me);
      } catch (error) {
        if (!isKomradeError(error, 'NOT_MEMBER')) throw error;
        // The Operator no longer lets us read it (we left or were removed): what we verified.
        const replica = await this.#load(name);
        if (replica.length === 0) throw error;
        return { ...this.#view(replica, me), standing: 'outsider' };
      }
    });
  }

  /** Collectives this identity created, joined or asked to join. Local only. */
  names(): string[] {
    return this.#host.store.collectives();
  }

  /** Stored messages of a collective, oldest first. Local only. */
  messages(input: string): ReceivedCollectiveMessage[] {
    const name = nameOrThrow(input);
    return this.#host.store.collectiveMessages(name).map((stored) => this.#messageView(stored));
  }

  /**
   * Admissions of this komrade that were not told yet, from the verified logs of the collectives
   * it asked to join; a log whose stored copy still shows the request pending is synced first.
   * Found in the log itself, so it does not matter who vouched, from which client, nor that the
   * Operator could forge a notice: it cannot forge the members' signed admit event. A log that
   * cannot be synced now is skipped until the next check.
   */
  async admissions(): Promise<AdmissionNotice[]> {
    const me = this.#host.signer().name;
    const found: AdmissionNotice[] = [];
    for (const name of this.#host.store.collectives()) {
      const notice = await this.#lock.run(name, async () => {
        try {
          let replica = await this.#load(name);
          if (replica.length === 0 || replica.state().pending.some((p) => p.candidate === me)) {
            replica = await this.#sync(name);
          }
          const admission = replica.isMember(me) ? replica.admission(me) : undefined;
          if (admission === undefined) return undefined;
          if (this.#host.store.wasProcessed(toldSender(name), toldId(admission.seq))) {
            return undefined;
          }
          const { admittedBy, vouchers, quorum, seq, at } = admission;
          return { collective: name, admittedBy, vouchers, quorum, seq, at };
        } catch (error) {
          // Withdrawn, refused, or the Operator unreachable: not admitted as far as we can tell.
          if (isKomradeError(error)) return undefined;
          throw error;
        }
      });
      if (notice !== undefined) found.push(notice);
    }
    return found;
  }

  /** Remembers that `notice` was shown, so {@link admissions} never reports it again. */
  told(notice: AdmissionNotice): void {
    this.#host.store.markProcessed(toldSender(notice.collective), toldId(notice.seq), this.#now());
  }

  // ── Acting ──────────────────────────────────────────────────────────────────────────────────

  async vouch(input: string, candidateInput: string): Promise<VouchOutcome & CollectiveChange> {
    const name = nameOrThrow(input);
    const candidate = nameOrThrow(candidateInput);
    const acted = await this.#act(name, { tried: [] }, (replica, me, at): Step<VouchOutcome> => {
      if (!replica.isMember(me)) throw notMember(name);
      const state = replica.state();
      if (state.members.includes(candidate)) {
        const admission = replica.admission(candidate);
        if (admission === undefined) {
          throw new KomradeError('COLLECTIVE_RULE', `@${candidate} is a founder of @${name}.`);
        }
        const { vouchers, quorum } = admission;
        return { done: { collective: name, candidate, vouchers, quorum, admitted: true } };
      }
      const pending = state.pending.find((p) => p.candidate === candidate);
      if (pending === undefined) {
        throw new KomradeError(
          'COLLECTIVE_RULE',
          `@${candidate} has no pending request to join @${name}.`,
        );
      }
      if (!pending.vouchers.includes(me)) {
        return { draft: replica.draft('vouch', me, at, { candidate }) };
      }
      const outcome = {
        collective: name,
        candidate,
        vouchers: pending.vouchers,
        quorum: pending.quorum,
        admitted: false,
      };
      if (pending.vouchers.length < pending.quorum) return { done: outcome };
      // Quorum met: admit now rather than leave it to the candidate.
      return { draft: replica.draft('admit', me, at, { candidate }), otherwise: outcome };
    });
    return withChange(acted);
  }

  async propose(input: string, change: ProposalChange): Promise<ProposalView & CollectiveChange> {
    const name = nameOrThrow(input);
    const attempts: Attempts = { tried: [] };
    const acted = await this.#act(name, attempts, (replica, me, at): Step<ProposalView> => {
      const landed = attempts.tried.find((t) => replica.contains(t));
      const proposal = landed === undefined ? undefined : replica.proposal(seqOf(landed));
      if (proposal !== undefined) return { done: proposalView(proposal) };
      if (!replica.isMember(me)) throw notMember(name);
      if (change.action === 'remove' && change.member === me) {
        throw new KomradeError('USAGE', 'To stop being a member, leave the collective.');
      }
      return { draft: replica.draft('proposal', me, at, change) };
    });
    return withChange(acted);
  }

  async vote(
    input: string,
    proposal: number,
    yes: boolean,
  ): Promise<VoteOutcome & CollectiveChange> {
    const name = nameOrThrow(input);
    const attempts: Attempts = { tried: [] };
    const acted = await this.#act(name, attempts, (replica, me, at): Step<VoteOutcome> => {
      if (!replica.isMember(me)) throw notMember(name);
      const enacted = this.#enacted(replica, proposal, attempts);
      if (enacted !== undefined) return { done: enacted };
      const open = this.#openProposal(replica, proposal, at);
      const mine = open.yes.includes(me) ? true : open.no.includes(me) ? false : undefined;
      if (mine === undefined) {
        return { draft: replica.draft('vote', me, at, { proposal, yes }) };
      }
      if (mine !== yes && attempts.tried.length === 0) {
        throw new KomradeError(
          'COLLECTIVE_RULE',
          `You already voted ${mine ? 'yes' : 'no'} on proposal #${proposal}; a vote cannot be changed.`,
        );
      }
      return this.#enactStep(replica, me, at, open, false);
    });
    return withChange(acted);
  }

  async enact(input: string, proposal: number): Promise<VoteOutcome & CollectiveChange> {
    const name = nameOrThrow(input);
    const attempts: Attempts = { tried: [] };
    const acted = await this.#act(name, attempts, (replica, me, at): Step<VoteOutcome> => {
      if (!replica.isMember(me)) throw notMember(name);
      const enacted = this.#enacted(replica, proposal, attempts);
      if (enacted !== undefined) return { done: enacted };
      return this.#enactStep(replica, me, at, this.#openProposal(replica, proposal, at), true);
    });
    return withChange(acted);
  }

  /**
   * The outcome when proposal `id` is already enacted: `alreadyPassed` unless an event this call
   * appended (its vote, or the enactment itself) is in the log.
   */
  #enacted(replica: CollectiveReplica, id: number, attempts: Attempts): VoteOutcome | undefined {
    const tally = replica.enactment(id);
    if (tally === undefined) return undefined;
    const alreadyPassed = !attempts.tried.some((t) => replica.contains(t));
    return { collective: replica.name, proposal: id, ...tally, enacted: true, alreadyPassed };
  }

  /** Enacts `open` when its yes votes meet the threshold; `strict` refuses when they do not. */
  #enactStep(
    replica: CollectiveReplica,
    me: string,
    at: number,
    open: OpenProposal,
    strict: boolean,
  ): Step<VoteOutcome> {
    const outcome = {
      collective: replica.name,
      proposal: open.seq,
      yes: open.yes.length,
      no: open.no.length,
      required: open.required,
      enacted: false,
      alreadyPassed: false,
    };
    if (open.yes.length < open.required) {
      if (!strict) return { done: outcome };
      throw new KomradeError(
        'COLLECTIVE_RULE',
        `Proposal #${open.seq} has ${open.yes.length} yes vote(s); ${open.required} are needed.`,
      );
    }
    const draft = replica.draft('enactment', me, at, { proposal: open.seq });
    return strict ? { draft } : { draft, otherwise: outcome };
  }

  #openProposal(replica: CollectiveReplica, id: number, at: number): OpenProposal {
    const open = replica.state().proposals.find((p) => p.seq === id);
    if (open === undefined) {
      throw new KomradeError('COLLECTIVE_RULE', `@${replica.name} has no open proposal #${id}.`);
    }
    if (at > open.closesAt) {
      throw new KomradeError('COLLECTIVE_RULE', `The vote on proposal #${id} has closed.`);
    }
    return open;
  }

  async leave(input: string): Promise<void> {
    const name = nameOrThrow(input);
    const attempts: Attempts = { tried: [] };
    try {
      await this.#act(name, attempts, (replica, me, at) => {
        if (replica.isIn(me)) return { draft: replica.draft('leave', me, at, {}) };
        if (attempts.tried.length > 0) return { done: undefined };
        throw notMember(name);
      });
    } catch (error) {
      // Our leave went through before a conflict: the Operator no longer lets us read the log.
      if (isKomradeError(error, 'NOT_MEMBER') && attempts.tried.length > 0) return;
      throw error;
    }
  }

  /**
   * Runs an action under the collective's lock: sync, then repeatedly ask `plan` for the next
   * event and append it, until the plan is done. A `COLLECTIVE_CONFLICT` (someone appended first)
   * means a short random pause, a re-sync and a new plan: plans read the verified state, so an
   * event of ours that did land is seen there rather than sent twice.
   * @returns the plan's answer, with the verified views the action was decided on (`before`: the
   * last sync before an event of ours landed) and left (`after`), so callers need no sync of their
   * own
   */
  async #act<T>(
    name: string,
    attempts: Attempts,
    plan: (replica: CollectiveReplica, me: string, at: number) => Step<T>,
  ): Promise<Acted<T>> {
    const signer = this.#host.signer();
    const me = signer.name;
    return this.#lock.run(name, async () => {
      let replica = await this.#sync(name);
      let before = this.#view(replica, me);
      let landed = false;
      const answer = (value: T): Acted<T> => ({
        value,
        before,
        after: landed ? this.#view(replica, me) : before,
      });
      for (let conflicts = 0; ;) {
        const at = Math.max(this.#host.now(), replica.length > 0 ? replica.state().lastAt : 0);
        const step = plan(replica, me, at);
        if ('done' in step) return answer(step.done);
        if (step.otherwise !== undefined && !this.#allowed(replica, step.draft)) {
          return answer(step.otherwise);
        }
        const signed = this.#sign(replica, step.draft);
        attempts.tried.push(signed);
        try {
          await this.#host.operator.appendEvent(signer, signed);
          this.#applyOwn(replica, signed);
          landed = true;
          continue;
        } catch (error) {
          if (!isKomradeError(error, 'COLLECTIVE_CONFLICT') || ++conflicts > MAX_CONFLICTS) {
            throw error;
          }
        }
        await this.#host.sleep(conflictPause(conflicts));
        replica = await this.#sync(name);
        if (!landed) before = this.#view(replica, me);
      }
    });
  }

  #allowed(replica: CollectiveReplica, draft: CollectiveEvent): boolean {
    const checked = checkCollectiveEvent(draft);
    if (!checked.ok) return false;
    return replica.canAppend(signCollectiveEvent(checked.value, this.#host.keys.signSecret)).ok;
  }

  /**
   * Signs a draft after checking its shape and that the verified log would take it, so the
   * Operator is only asked to append what the rules allow.
   * @throws `USAGE` for a malformed draft (e.g. a bad constitution), `COLLECTIVE_RULE`
   */
  #sign(replica: CollectiveReplica, draft: CollectiveEvent): SignedCollectiveEvent {
    const checked = checkCollectiveEvent(draft);
    if (!checked.ok) {
      throw new KomradeError('USAGE', checked.error.message, { cause: checked.error });
    }
    const signed = signCollectiveEvent(checked.value, this.#host.keys.signSecret);
    const allowed = replica.canAppend(signed);
    if (!allowed.ok) {
      throw new KomradeError(
        'COLLECTIVE_RULE',
        `@${replica.name}'s rules refuse this ${draft.kind}: ${allowed.error.message}`,
        { cause: allowed.error },
      );
    }
    return signed;
  }

  /** Appends our own event, which the Operator accepted, to the verified copy and the store. */
  #applyOwn(replica: CollectiveReplica, signed: SignedCollectiveEvent): void {
    const seq = replica.length;
    if (!replica.append(signed).ok) {
      // Checked just before sending, so unreachable; reload from the store to be safe.
      this.#replicas.delete(replica.name);
      return;
    }
    this.#host.store.appendCollectiveEvents(replica.name, seq, [signed]);
  }

  // ── Messages ────────────────────────────────────────────────────────────────────────────────

  /**
   * Signs a message once and seals it to every current member but its sender, from the synced,
   * verified log; see {@link PreparedCollectiveMessage}.
   * @throws `NAME_INVALID`, `NOT_REGISTERED`, `EMPTY_MESSAGE`, `LETTER_TOO_LARGE` (the text, or the
   * sealed message over the Operator's limit), `NOT_MEMBER`
   */
  async prepare(
    input: string,
    text: string,
    options: PrepareOptions = {},
  ): Promise<PreparedCollectiveMessage> {
    const name = nameOrThrow(input);
    const signer = this.#host.signer();
    checkMessageText(text, 'message', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
    const info = await this.#host.operatorInfo();
    const checked = checkCollectiveMessage({
      v: 1,
      collective: name,
      from: signer.name,
      sentAt: options.sentAt ?? this.#host.now(),
      id: options.id ?? this.#host.random(ID_BYTES),
      text,
    });
    if (!checked.ok) throw checked.error;
    const message = checked.value;
    const sealing = await this.#lock.run(name, async () =>
      this.#sealFor(await this.#sync(name), message, info),
    );
    if (sealing === undefined) return { message, sealed: undefined, failed: [], recipients: 0 };
    const { sealed, failed } = sealing;
    return { message, sealed, failed, recipients: sealed.keys.length - failed.length };
  }

  /**
   * Seals `message` (this komrade's) again for the members of now, after a re-sync: for a
   * membership that changed before the Operator took it (`COLLECTIVE_CONFLICT`).
   * @returns `undefined` when nobody else is a member any more
   * @throws `USAGE` for a message of someone else, `NOT_MEMBER`, `LETTER_TOO_LARGE`
   */
  async reseal(message: CollectiveMessage): Promise<ResealedCollectiveMessage | undefined> {
    const signer = this.#host.signer();
    if (message.from !== signer.name) {
      throw new KomradeError('USAGE', 'Only its sender can seal a collective message again.');
    }
    const info = await this.#host.operatorInfo();
    const name = message.collective;
    return this.#lock.run(name, async () => this.#sealFor(await this.#sync(name), message, info));
  }

  async #sealFor(
    replica: CollectiveReplica,
    message: CollectiveMessage,
    info: OperatorInfo,
  ): Promise<ResealedCollectiveMessage | undefined> {
    const name = replica.name;
    if (!replica.isMember(message.from)) throw notMember(name);
    const others = replica.state().members.filter((m) => m !== message.from);
    if (others.length === 0) return undefined;
    const recipients: MemberKey[] = [];
    for (const member of others) {
      try {
        let receipt = replica.receipt(member) ?? (await this.#host.receiptOf(member));
        // A log's receipt may predate the member's ratchet key: the registry's current one.
        if (receipt.ratchetKey === null) receipt = await this.#host.receiptOf(member);
        recipients.push({ name: member, boxKey: receipt.boxKey, ratchetKey: receipt.ratchetKey });
      } catch (error) {
        // One member's unusable record must not keep the message from the others.
        if (!isRecipientFault(error)) throw error;
        recipients.push({ name: member, error });
      }
    }
    const limit = info.limits.sealedLetterBytes;
    // Refused before any session moves: a body too large must not spend message keys.
    const checkBody = (body: Uint8Array) => {
      if (body.length > limit) {
        throw new KomradeError(
          'LETTER_TOO_LARGE',
          `The sealed message is ${body.length} bytes; this Operator accepts at most ${limit}.`,
        );
      }
    };
    const sealing = await sealToMembers(
      message,
      this.#host.keys.signSecret,
      recipients,
      this.#host.ratchet,
      checkBody,
    );
    const request = requestBytesOf(name, sealing.sealed);
    if (request > info.limits.requestBytes) {
      throw new KomradeError(
        'LETTER_TOO_LARGE',
        `The message to ${others.length} members is a ${request}-byte request; this Operator ` +
          `accepts at most ${info.limits.requestBytes} (first messages to members without a ` +
          `session are ~2 KB each: it fits once more of them have answered).`,
      );
    }
    return sealing;
  }

  /**
   * Prepares a message and hands it to the Operator, sealing it again when membership changed
   * meanwhile; kept locally once sent, so the conversation reads complete.
   * @returns `recipients: 0` and nothing sent when nobody else is a member
   */
  async send(input: string, text: string): Promise<SentCollectiveMessage> {
    const signer = this.#host.signer();
    const prepared = await this.prepare(input, text);
    const { message } = prepared;
    const name = message.collective;
    const sent = { collective: name, id: toBase64url(message.id), sentAt: message.sentAt };
    if (prepared.sealed === undefined) return { ...sent, recipients: 0, failed: [] };
    let { sealed, failed } = prepared;
    for (let conflicts = 0; ;) {
      try {
        const answer = await this.#host.operator.sendToCollective(signer, name, sealed);
        // Kept here too, so the conversation reads complete.
        this.#host.store.saveCollectiveMessages([{ message, receivedAt: answer.receivedAt }]);
        return { ...sent, recipients: sealed.keys.length - failed.length, failed };
      } catch (error) {
        // Membership changed meanwhile: re-sync and seal to the members as they are now.
        if (!isKomradeError(error, 'COLLECTIVE_CONFLICT') || ++conflicts > MAX_CONFLICTS) {
          throw error;
        }
      }
      await this.#host.sleep(conflictPause(conflicts));
      const again = await this.reseal(message);
      if (again === undefined) return { ...sent, recipients: 0, failed: [] };
      ({ sealed, failed } = again);
    }
  }

  /**
   * Opens a collective message: the key envelope's seal, then the content key in the ratchet
   * session with the sender it names (their registered ratchet key), then the body, verified
   * against the sender's registered key; and checks in the verified log (synced when it does not
   * already show it) that the sender and this komrade are both current members. Does not store it.
   * A message the ratchet opened before (a replay) is refused; one no session opens is refused
   * and starts a new session with its sender, as a letter does.
   * @param letter - the waiting letter: its Operator id, key envelope and shared body
   * @returns the message, or `LETTER_INVALID` / `NOT_MEMBER` / `COLLECTIVE_INVALID` when it must
   * not be shown; throws only what may be temporary (e.g. the Operator unreachable)
   */
  async open(
    letter: { readonly id: Uint8Array; readonly sealed: Uint8Array; readonly body: Uint8Array },
    receivedAt: number,
  ): Promise<CollectiveOpening> {
    const me = this.#host.signer().name;
    const envelope = openKeyEnvelope(letter.sealed, this.#host.keys);
    if (!envelope.ok) return envelope;
    const { from, type, msg, renewed } = envelope.value;
    let sender: Receipt;
    try {
      sender = await this.#host.receiptOf(from);
    } catch (error) {
      if (!isKomradeError(error, 'NAME_UNKNOWN') && !isKomradeError(error, 'NAME_INVALID')) {
        throw error;
      }
      return err(new KomradeError('LETTER_INVALID', `Collective message from unknown @${from}.`));
    }
    const decrypted = await this.#host.ratchet.decrypt(
      sender,
      { type, msg, ...(renewed === true ? { renewed } : {}) },
      letter.id,
      letter.sealed,
    );
    if (decrypted.status === 'undecryptable') {
      await this.#host.resetSession(sender);
      return {
        ...err(
          new KomradeError(
            'LETTER_INVALID',
            `A collective message from @${from} could not be decrypted here (a lost or restored session): a new session was started.`,
          ),
        ),
        sessionReset: { name: from, lost: true },
      };
    }
    if (decrypted.status !== 'opened') {
      return err(
        new KomradeError(
          'LETTER_INVALID',
          decrypted.status === 'duplicate'
            ? `A collective message from @${from} was opened here before: a replay.`
            : `A collective message claiming to be from @${from} was not made with their registered key.`,
        ),
      );
    }
    const reset = decrypted.reset ? { sessionReset: { name: from, lost: false } } : {};
    const opened = openCollectiveBody(decrypted.plaintext, letter.body, from);
    if (!opened.ok) return { ...opened, ...reset };
    const { message } = opened.value;
    const verified = verifyCollectiveMessage(opened.value, sender.signKey);
    if (!verified.ok) return { ...verified, ...reset };
    const members = await this.#membersCheck(message, me);
    if (!members.ok) return { ...members, ...reset };
    return { ...ok({ message: verified.value, receivedAt }), ...reset };
  }

  async #membersCheck(message: CollectiveMessage, me: string): Promise<Result<true>> {
    const name = message.collective;
    return this.#lock.run(name, async () => {
      let replica: CollectiveReplica;
      try {
        replica = await this.#load(name);
        if (replica.length > 0 && replica.isMember(me) && replica.isMember(message.from)) {
          return ok(true);
        }
        replica = await this.#sync(name);
      } catch (error) {
        if (isKomradeError(error, 'NOT_MEMBER')) return err(notMember(name));
        if (isKomradeError(error, 'COLLECTIVE_INVALID')) return err(error);
        // Answers that will not change on a retry: refuse the message rather than keep it.
        if (PERMANENT.some((code) => isKomradeError(error, code))) {
          return err(
            new KomradeError(
              'LETTER_INVALID',
              `A message for @${name} cannot be checked: ${(error as Error).message}`,
              { cause: error },
            ),
          );
        }
        throw error;
      }
      if (!replica.isMember(me)) return err(notMember(name));
      if (!replica.isMember(message.from)) {
        return err(
          new KomradeError(
            'LETTER_INVALID',
            `@${message.from} is not a member of @${name}: their message is refused.`,
          ),
        );
      }
      return ok(true);
    });
  }

  /** The view of a stored message. */
  view(stored: StoredCollectiveMessage): ReceivedCollectiveMessage {
    return this.#messageView(stored);
  }

  #messageView(stored: StoredCollectiveMessage): ReceivedCollectiveMessage {
    const { message } = stored;
    return {
      collective: message.collective,
      id: toBase64url(message.id),
      from: message.from,
      // The sender's receipt was verified before the message was kept.
      fromKeyHolder: this.#host.store.cachedReceipt(message.from)?.keyHolder ?? null,
      sentAt: message.sentAt,
      receivedAt: stored.receivedAt,
      text: message.text,
    };
  }

  // ── The verified copy ───────────────────────────────────────────────────────────────────────

  /** The verified copy in memory, else rebuilt (and re-verified) from the store. */
  async #load(name: string): Promise<CollectiveReplica> {
    const cached = this.#replicas.get(name);
    if (cached !== undefined) return cached;
    const replica = new CollectiveReplica(name);
    const events = this.#host.store.collectiveEvents(name);
    await this.#addReceipts(replica, events, []);
    for (const event of events) {
      const appended = replica.append(event);
      if (!appended.ok) {
        throw new KomradeError(
          'COLLECTIVE_INVALID',
          `The locally stored log of @${name} no longer verifies: ${appended.error.message}`,
          { cause: appended.error },
        );
      }
    }
    this.#replicas.set(name, replica);
    return replica;
  }

  /**
   * Fetches the events after the verified copy, verifies every receipt against the pinned Operator
   * key and every event with the rule engine, and only then stores them, all or nothing. The
   * first new event must chain onto the last verified one, so a log that differs from the stored
   * prefix is refused like any other broken rule.
   * @throws `COLLECTIVE_INVALID`, `NOT_MEMBER` (the Operator will not serve it to us)
   */
  async #sync(name: string): Promise<CollectiveReplica> {
    const replica = await this.#load(name);
    const signer = this.#host.signer();
    const start = replica.length;
    const fetched: SignedCollectiveEvent[] = [];
    const receipts: Receipt[] = [];
    try {
      for (let pages = 0; pages < MAX_LOG_PAGES; pages++) {
        const from = start + fetched.length;
        const page = await this.#host.operator.collectiveLog(signer, name, from, LOG_PAGE);
        const invalid = (detail: string) =>
          new KomradeError('COLLECTIVE_INVALID', `The Operator's log of @${name} ${detail}.`);
        if (page.collective !== name || page.from !== from) {
          throw invalid(`answered for another collective or position`);
        }
        if (page.length < from) {
          throw invalid(`has ${page.length} events, but ${from} were already verified here`);
        }
        if (page.events.length > page.length - from) {
          throw invalid(
            `serves ${page.events.length} events from #${from} of a log it says has ${page.length}`,
          );
        }
        if (page.events.length === 0) {
          if (page.length > from) throw invalid('withholds the events it says it has');
          break;
        }
        receipts.push(...(await this.#addReceipts(replica, page.events, page.receipts)));
        for (const event of page.events) {
          const appended = replica.append(event);
          if (!appended.ok) throw appended.error;
          fetched.push(event);
        }
        if (from + page.events.length >= page.length) break;
      }
      if (replica.length === 0) {
        throw new KomradeError(
          'COLLECTIVE_INVALID',
          `The Operator served @${name} without its genesis.`,
        );
      }
      if (fetched.length > 0) this.#host.store.appendCollectiveEvents(name, start, fetched);
    } catch (error) {
      // The copy in memory may hold part of what was refused: rebuild it from the store.
      this.#replicas.delete(name);
      throw error;
    }
    for (const receipt of receipts) this.#host.store.cacheReceipt(receipt);
    if (replica.length > 0 && replica.isIn(signer.name)) {
      this.#host.store.addCollective(name, this.#now());
    }
    return replica;
  }

  /**
   * Gives `replica` the receipts `events` need: the page's own (each must verify against the
   * pinned Operator key and agree with any receipt already known), else cached or looked up.
   * @returns the receipts that were new
   */
  async #addReceipts(
    replica: CollectiveReplica,
    events: readonly SignedCollectiveEvent[],
    offered: readonly Receipt[],
  ): Promise<Receipt[]> {
    const pinned = (await this.#host.operatorInfo()).signKey;
    const added: Receipt[] = [];
    for (const receipt of offered) {
      if (!verifyReceipt(receipt, pinned)) {
        throw new KomradeError(
          'COLLECTIVE_INVALID',
          `The Operator's receipt for @${receipt.name} is not signed by its pinned key.`,
        );
      }
      // A member the log does not hold (invented for this client) is refused with the page.
      await this.#host.checkReceipt(receipt);
      const cached = this.#host.store.cachedReceipt(receipt.name);
      const known =
        replica.receipt(receipt.name) ??
        (cached !== undefined && verifyReceipt(cached, pinned) ? cached : undefined);
      if (known !== undefined && !sameKeys(known, receipt)) {
        throw new KomradeError(
          'COLLECTIVE_INVALID',
          `The Operator signed two different receipts for @${receipt.name}.`,
        );
      }
      if (replica.receipt(receipt.name) === undefined) {
        replica.addReceipt(receipt);
        added.push(receipt);
      }
    }
    const needed = new Set(events.flatMap(namesInSigned));
    for (const name of needed) {
      if (replica.receipt(name) !== undefined) continue;
      try {
        replica.addReceipt(await this.#host.receiptOf(name));
      } catch (error) {
        // An unregistered name: the engine refuses the event that needs it.
        if (!isKomradeError(error, 'NAME_UNKNOWN')) throw error;
      }
    }
    return added;
  }

  #view(replica: CollectiveReplica, me: string): CollectiveView {
    const state = replica.state();
    const standing = replica.isMember(me)
      ? 'member'
      : state.pending.some((p) => p.candidate === me)
        ? 'candidate'
        : 'outsider';
    return {
      name: state.collective,
      length: state.length,
      standing,
      constitution: state.constitution,
      members: state.members.map((name) => ({ name, keyHolder: replica.keyHolderOf(name) })),
      pending: state.pending.map((p) => ({
        candidate: p.candidate,
        keyHolder: replica.keyHolderOf(p.candidate),
        requestedAt: p.requestedAt,
        note: replica.noteOf(p.candidate),
        vouchers: p.vouchers,
        quorum: p.quorum,
      })),
      proposals: state.proposals.map(proposalView),
    };
  }

  #now(): number {
    return this.#host.now();
  }
}
