/**
 * The `BridgeStore` port: what an adapter that holds identities for chat users keeps on its own
 * disk: the identities (secrets sealed under the master key), the delivery ledger that separates
 * "fetched" from "shown in the chat", and follow lists. Nothing here ever reaches the Operator.
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
  readonly collective: string;
  /** The verified message, encoded by the engine; sealed by the store while it waits. */
  readonly content: Uint8Array;
}

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

  follow(identity: string, name: string): boolean;
  unfollow(identity: string, name: string): boolean;
  following(identity: string): string[];

  close(): void;
}
