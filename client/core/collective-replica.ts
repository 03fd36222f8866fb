/**
 * `CollectiveReplica`: this client's verified copy of one collective's log, with the receipts it
 * was verified against and the few facts the rule engine's state forgets (admissions, enactments).
 */
import {
  CollectiveLog,
  decodeCollectiveEvent,
  type CollectiveEvent,
  type CollectiveRuleError,
  type CollectiveState,
  type OpenProposal,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import type { Result } from '../../common/errors/index.js';
import { bytesEqual, type KeyHolder, type Receipt } from '../../common/wire/index.js';

/** Who vouched when a candidate was admitted, and the quorum then. */
export interface Admission {
  readonly vouchers: readonly string[];
  readonly quorum: number;
  /** The `seq` of the admit event, and the member who appended it. */
  readonly seq: number;
  readonly admittedBy: string;
  readonly at: number;
}

/** A proposal's votes when it was enacted. */
export interface Tally {
  readonly yes: number;
  readonly no: number;
  readonly required: number;
}

/** The `seq` an event claims (-1 when it does not decode). */
export function seqOf(signed: SignedCollectiveEvent): number {
  const decoded = decodeCollectiveEvent(signed.signed);
  return decoded.ok ? decoded.value.seq : -1;
}

/**
 * One collective's log as verified here, event by event, with the same {@link CollectiveLog} the
 * Operator runs. Receipts must be added (already checked against the pinned Operator key) before
 * the events that need them. A refused event leaves the replica as it was; a caller that appended
 * part of a batch and then hit a refusal throws the replica away and reloads it from the store.
 */
export class CollectiveReplica {
  readonly name: string;
  readonly #log: CollectiveLog;
  readonly #events: SignedCollectiveEvent[] = [];
  readonly #receipts = new Map<string, Receipt>();
  readonly #admissions = new Map<string, Admission>();
  // The state forgets a join request's note; members read it before they vouch.
  readonly #notes = new Map<string, string>();
  readonly #enacted = new Map<number, Tally>();
  readonly #proposals = new Map<number, OpenProposal>();
  #state: CollectiveState | undefined;
  /** The next event for an actor, see {@link CollectiveLog.draft}. */
  readonly draft: CollectiveLog['draft'];

  constructor(name: string) {
    this.name = name;
    this.#log = new CollectiveLog({
      keyOf: (n) => this.#receipts.get(n)?.signKey,
      keyHolderOf: (n) => this.#receipts.get(n)?.keyHolder,
    });
    this.draft = this.#log.draft.bind(this.#log);
  }

  /** Events verified: the `seq` of the next one. */
  get length(): number {
    return this.#log.length;
  }

  /** The verified events, genesis first. */
  get events(): readonly SignedCollectiveEvent[] {
    return this.#events;
  }

  /** True when `signed` is, byte for byte, one of the verified events. */
  contains(signed: SignedCollectiveEvent): boolean {
    const found = this.#events[seqOf(signed)];
    return found !== undefined && bytesEqual(found.signed, signed.signed);
  }

  /** The receipt `name` was verified with, if any. */
  receipt(name: string): Receipt | undefined {
    return this.#receipts.get(name);
  }

  /** Adds a receipt the caller checked against the pinned Operator key. */
  addReceipt(receipt: Receipt): void {
    this.#receipts.set(receipt.name, receipt);
  }

  /** Who holds `name`'s keys, from their verified receipt (`null` when unknown). */
  keyHolderOf(name: string): KeyHolder | null {
    return this.#receipts.get(name)?.keyHolder ?? null;
  }

  isMember(name: string): boolean {
    return this.#log.isMember(name);
  }

  /** True when `name` is a member or has a pending join request. */
  isIn(name: string): boolean {
    return this.isMember(name) || this.state().pending.some((p) => p.candidate === name);
  }

  /** The state after the last verified event; cached until the next append. */
  state(): CollectiveState {
    this.#state ??= this.#log.state();
    return this.#state;
  }

  /** How `candidate` was last admitted, if they ever were (founders never were). */
  admission(candidate: string): Admission | undefined {
    return this.#admissions.get(candidate);
  }

  /** The note of `candidate`'s latest join request ('' when none): untrusted text. */
  noteOf(candidate: string): string {
    return this.#notes.get(candidate) ?? '';
  }

  /** The votes on proposal `id` when it was enacted, or undefined while it is not. */
  enactment(id: number): Tally | undefined {
    return this.#enacted.get(id);
  }

  /** Proposal `id` as it is now if open, else as it was made (undefined if there is none). */
  proposal(id: number): OpenProposal | undefined {
    return this.state().proposals.find((p) => p.seq === id) ?? this.#proposals.get(id);
  }

  /** Checks `signed` as the next event without changing anything. */
  canAppend(signed: SignedCollectiveEvent): Result<CollectiveEvent, CollectiveRuleError> {
    return this.#log.canAppend(signed);
  }

  /** Verifies and appends the next event; a refused one changes nothing. */
  append(signed: SignedCollectiveEvent): Result<CollectiveEvent, CollectiveRuleError> {
    const checked = this.#log.canAppend(signed);
    if (!checked.ok) return checked;
    const event = checked.value;
    // Snapshot what the state is about to forget.
    if (event.kind === 'join-request') this.#notes.set(event.actor, event.body.note);
    if (event.kind === 'admit') {
      const pending = this.state().pending.find((p) => p.candidate === event.body.candidate);
      if (pending !== undefined) {
        this.#admissions.set(event.body.candidate, {
          vouchers: pending.vouchers,
          quorum: pending.quorum,
          seq: event.seq,
          admittedBy: event.actor,
          at: event.at,
        });
      }
    }
    if (event.kind === 'enactment') {
      const open = this.state().proposals.find((p) => p.seq === event.body.proposal);
      if (open !== undefined) {
        this.#enacted.set(open.seq, {
          yes: open.yes.length,
          no: open.no.length,
          required: open.required,
        });
        this.#proposals.set(open.seq, open);
      }
    }
    const appended = this.#log.append(signed);
    if (!appended.ok) return appended;
    this.#events.push(signed);
    this.#state = undefined;
    return appended;
  }
}
