/**
 * The `BridgeStore` port: what an adapter that holds identities for chat users keeps on its own
 * disk: the identities (secrets sealed under the master key), the delivery ledger that separates
 * "fetched" from "shown in the chat", the durable outbox (what is still to hand to the Operator),
 * the platform events already handled. Nothing here ever reaches the Operator.
 * Redis only ever holds work that can be rebuilt from this store.
 */
import type { IdentityKeys } from '../../common/crypto/index.js';

/** An identity as held by the adapter, unsealed. */
export interface HeldIdentity {
  /** Opaque random id (base64url, 16 bytes); also the Tor isolation key. */
  readonly id: string;
  readonly keys: IdentityKeys;
  /** Encrypts this identity's local letter store. */
  readonly storageKey: Uint8Array;
  /** The chat surface's address of its user. */
  readonly chat: string;
  /** The registered name, once registered. */
  readonly name: string | null;
}

/** Where a fetched letter stands. */
export type DeliveryState = 'pending' | 'delivered';

/** One fetched letter in the ledger. */
export interface Delivery {
  readonly id: string;
  readonly identity: string;
  readonly sender: string;
  /** The letter's own id (base64url). */
  readonly letterId: string;
  readonly state: DeliveryState;
  /** Operator ids (base64url) of the copies still to acknowledge. */
  readonly operatorIds: readonly string[];
  /** The surface's reference of the message that showed it. */
  readonly surfaceRef: string | null;
  /** The collective it was sent to, for a collective message; `null` for a letter. */
  readonly collective: string | null;
}

/**
 * A fetched collective message. The identity's letter store does not keep these, so the ledger
 * keeps its content (sealed) until it is shown, then forgets it.
 */
export interface FetchedCollectiveMessage {
  /** The collective it was sent to; `null` for a letter (whose content the ledger keeps too). */
  readonly collective: string | null;
  /** The verified message, encoded by the engine; sealed by the store while it waits. */
  readonly content: Uint8Array;
}

/** What the outbox holds for one send: a letter (or statement, post copy) or a collective message. */
export type OutboxKind = 'letter' | 'collective';

/** One send still to hand to the Operator. */
export interface OutboxRow {
  /** Opaque random id (base64url, 16 bytes); the queue job that sends it is named after it. */
  readonly id: string;
  readonly identity: string;
  readonly kind: OutboxKind;
  /** What the envelope codec sealed (never plaintext); a resend carries the same letter id. */
  readonly envelope: string;
  /** The platform event that produced it, if any (e.g. `telegram:<update_id>`). */
  readonly event: string | null;
  readonly createdAt: number;
}

/** A send to write into the outbox. */
export interface NewOutboxRow {
  readonly identity: string;
  readonly kind: OutboxKind;
  readonly envelope: string;
}

/** A platform event already handled as a user action, and what it answered. */
export interface HandledEvent {
  readonly event: string;
  /** What the action returned, as the engine encoded it (sealed by the store at rest). */
  readonly result: string;
  /** Whether the user was given the answer (so a re-delivered event is not answered twice). */
  readonly answered: boolean;
  readonly at: number;
}

/** The outcome of {@link BridgeStore.addOutbox}. */
export type AddOutboxResult =
  | { readonly added: true; readonly rows: readonly OutboxRow[] }
  | { readonly added: false; readonly handled: HandledEvent };

/**
 * Durable when each call returns. Implementations seal secrets and chat addresses; lookups by chat
 * user go through a keyed hash, so the store alone does not list who uses the adapter.
 */
export interface BridgeStore {
  createIdentity(surfaceUser: string, identity: Omit<HeldIdentity, 'name'>): void;
  identityOfUser(surfaceUser: string): HeldIdentity | undefined;
  identity(id: string): HeldIdentity | undefined;
  /** The identity registered as `name` here, if any. */
  identityNamed(name: string): string | undefined;
  setName(id: string, name: string): void;
  /** Ids of every identity with a registered name. */
  registeredIdentities(): string[];
  /** Deletes the identity and everything kept for it. */
  deleteIdentity(id: string): void;

  /**
   * Records a fetched letter or collective message (or one more Operator copy of it).
   * @returns the delivery, new or existing (an existing one keeps its content)
   */
  recordFetched(
    identity: string,
    sender: string,
    letterId: string,
    operatorId: string,
    collective?: FetchedCollectiveMessage,
  ): Delivery;
  delivery(id: string): Delivery | undefined;
  /** A pending collective message's content; `undefined` for letters and once shown. */
  deliveryContent(id: string): Uint8Array | undefined;
  /** Marks it shown and forgets its content. */
  markDelivered(id: string, surfaceRef: string | null): void;
  /** Forgets Operator ids once acknowledged. */
  markAcked(id: string, operatorIds: readonly string[]): void;
  pendingDeliveries(identity?: string): Delivery[];
  /** The delivery a surface message showed (to answer a reply). */
  deliveryByRef(identity: string, surfaceRef: string): Delivery | undefined;

  /**
   * Writes sends into the outbox and, with `handled`, records the platform event that produced
   * them, in one transaction: either both are written or neither.
   * @returns the new rows, or (nothing written) the record of `handled.event` when that event was
   * handled before
   */
  addOutbox(
    rows: readonly NewOutboxRow[],
    handled?: { readonly event: string; readonly result: string },
  ): AddOutboxResult;
  outboxRow(id: string): OutboxRow | undefined;
  /** Every send still to hand to the Operator (one identity's, or everyone's), oldest first. */
  outboxRows(identity?: string): OutboxRow[];
  /** Replaces a row's envelope (a collective message sealed again for the members of now). */
  updateOutboxEnvelope(id: string, envelope: string): void;
  /** Forgets a send once the Operator accepted it (or it failed for good). */
  deleteOutbox(id: string): void;

  /**
   * Records a handled platform event with what it answered.
   * @returns false (nothing changed) when it was recorded before
   */
  recordEvent(event: string, result: string): boolean;
  handledEvent(event: string): HandledEvent | undefined;
  /** Notes that the user was given the event's answer. */
  markEventAnswered(event: string): void;
  /** Forgets events handled before `before` (ms); returns how many. */
  pruneEvents(before: number): number;

  /**
   * Follow lists kept here by versions before each identity's letter store became the one home of
   * following: the engine copies them there once at start, then drops them.
   */
  legacyFollows(): { readonly identity: string; readonly names: readonly string[] }[];
  /** Forgets an identity's legacy follow list (once copied). */
  dropLegacyFollows(identity: string): void;

  close(): void;
}
