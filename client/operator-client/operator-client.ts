/** The `OperatorClient` port: the operations the engine needs from an Operator, and nothing else. */
import type {
  SealedCollectiveMessage,
  SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import type {
  CollectiveHead,
  OperatorInfo,
  PrekeyBundle,
  PrekeyBundleRequest,
  PrekeyUpload,
  PrekeyUploadAnswer,
  RatchetKeyRequest,
  Receipt,
  RegisterRequest,
  Token,
  TokenIssueResponse,
} from '../../common/wire/index.js';

/**
 * Who signs a request. The secret stays in memory and is used only to sign; implementations must
 * never log or send it.
 */
export interface RequestSigner {
  /** The signer's canonical registered name. */
  readonly name: string;
  /** Ed25519 secret key (64-byte libsodium form). */
  readonly signSecret: Uint8Array;
}

/** One letter to hand to the Operator: the recipient's name and the letter sealed to them. */
export interface OutgoingLetter {
  readonly to: string;
  readonly sealed: Uint8Array;
}

/** One letter waiting at the Operator. `id` is the Operator's id, used to acknowledge it. */
export interface WaitingLetter {
  readonly id: Uint8Array;
  readonly sealed: Uint8Array;
  readonly receivedAt: number;
  /**
   * Only for a collective message: the body sealed once for every member (`sealed` is then this
   * member's envelope of its content key).
   */
  readonly body?: Uint8Array | undefined;
}

/** One page of a collective's log, with the Operator-signed receipts of every name it mentions. */
export interface CollectiveLogPage {
  readonly collective: string;
  readonly from: number;
  readonly events: readonly SignedCollectiveEvent[];
  /** Events in the whole log now. */
  readonly length: number;
  /** Not yet verified: check each against the pinned Operator key. */
  readonly receipts: readonly Receipt[];
}

/** What the Operator says after accepting a collective message. */
export interface SentToCollective {
  readonly id: Uint8Array;
  readonly receivedAt: number;
  readonly recipients: number;
}

/** The answer to a fetch: some waiting letters, and whether more are waiting. */
export interface FetchedLetters {
  readonly letters: readonly WaitingLetter[];
  readonly more: boolean;
  /** Only when the fetch carried `ack`: how many of those letters the Operator deleted. */
  readonly deleted?: number;
}

/** What a fetch asks for besides the signer. */
export interface FetchOptions {
  /** At most this many letters (the Operator caps it at its own limit). */
  readonly limit?: number;
  /**
   * Ids of letters already stored durably here, to delete before the letters are read: the
   * deletion is durable and scrubbed before the answer, exactly as {@link OperatorClient.ack}'s.
   * Empty is the same as absent; at most `MAX_ACK_IDS`.
   */
  readonly ack?: readonly Uint8Array[];
}

/**
 * One letter sent anonymously: the recipient, the letter sealed to them (padded to a size class)
 * and the token that pays for it. Nothing in it names the sender.
 */
export interface AnonymousLetter {
  readonly to: string;
  readonly sealed: Uint8Array;
  readonly token: Token;
}

/** What the Operator says after accepting an anonymous letter. */
export interface SentAnonymously {
  readonly id: Uint8Array;
  readonly receivedAt: number;
}

/** What the Operator says after accepting a post. */
export interface PostedToFeed {
  readonly id: Uint8Array;
  readonly expiresAt: number;
}

/** Options of a feed page request. */
export interface FeedPageRequest {
  /** The cursor a previous page returned as `next`. */
  readonly before?: string;
  readonly limit?: number;
}

/** Options of {@link OperatorClient.waitForMail}. */
export interface MailWaitOptions {
  /** How long the Operator may hold the request open when nothing is waiting (it may cap it). */
  readonly waitMs: number;
  /** Aborts the wait (e.g. on shutdown); the promise then rejects. */
  readonly signal?: AbortSignal;
}

/** The answer to a wait: which of the mailboxes waited on have mail (empty when time ran out). */
export interface MailWaitResult {
  readonly ready: readonly string[];
}

/**
 * The Operator as the engine sees it. Every answer is already validated against the wire schemas;
 * verifying signatures (receipts, letters, posts) is the caller's job. Transport details (HTTP,
 * Tor, headers, JSON) stay behind this contract.
 *
 * Every operation throws `KomradeError`: the Operator's own codes (e.g. `NAME_TAKEN`,
 * `NAME_UNKNOWN`), `OPERATOR_UNREACHABLE` when it cannot be reached, `OPERATOR_ERROR` for any
 * answer that does not match the protocol, and `KEY_INVALID` for an answer (receipt, or the
 * Operator's own keys) carrying a malformed or small-order public key: never passed on to be used.
 */
export interface OperatorClient {
  /** The Operator's public keys and limits (not yet pinned: the engine does that). */
  info(): Promise<OperatorInfo>;
  /** Registers a name; resolves to the Operator's receipt (not yet verified). */
  register(request: RegisterRequest): Promise<Receipt>;
  /** The receipt of a registered name (not yet verified); `NAME_UNKNOWN` when there is none. */
  lookup(name: string): Promise<Receipt>;
  /**
   * The registry log's newest checkpoint note (C2SP signed note), not yet verified: the engine
   * checks it against the pinned Operator key and the checkpoint it remembers.
   */
  logCheckpoint(): Promise<string>;
  /**
   * The consistency proof from tree size `from` to `to` (`0 < from ≤ to ≤` the log's size), not yet
   * verified. `BAD_REQUEST` for sizes the log cannot prove.
   */
  logConsistency(from: number, to: number): Promise<readonly Uint8Array[]>;
  /**
   * The receipts of log leaves `start` to `end − 1` in log order (at most `MAX_LOG_ENTRIES`), not
   * yet verified and without proofs: a monitor rebuilds the tree from them.
   */
  logEntries(start: number, end: number): Promise<readonly Receipt[]>;
  /**
   * Adds the ratchet key to the signer's name, registered before ratchet keys (signed; `pop` is
   * `proveClaim` over the registered claim with `ratchetKey` in it). Resolves to the new receipt
   * (not yet verified), or the stored one when the name has this key already. `RATCHET_KEY_SET`
   * when it has another (keys never change), `BAD_SIGNATURE` for a proof that does not verify.
   */
  setRatchetKey(signer: RequestSigner, request: RatchetKeyRequest): Promise<Receipt>;
  /**
   * Publishes the signer's prekeys (signed): a signed or Kyber prekey replaces the one held,
   * one-time prekeys are added (at most 100 per call). An empty upload only asks what is held.
   * `PREKEY_ID_USED` for an id held already, `PREKEYS_FULL` beyond the Operator's limit.
   */
  uploadPrekeys(signer: RequestSigner, upload: PrekeyUpload): Promise<PrekeyUploadAnswer>;
  /**
   * Someone's prekey bundle, paid for with one token: unsigned, on a circuit of its own, exactly
   * as {@link OperatorClient.sendAnonymously} travels. The same token for the same name again is
   * answered again, without a one-time prekey. Not yet verified: the caller checks the prekeys'
   * signatures against the receipt's ratchet key. `PREKEYS_MISSING` when the name has published
   * none, `NAME_UNKNOWN`, `TOKEN_SPENT`, `TOKEN_INVALID`.
   */
  fetchPrekeyBundle(request: PrekeyBundleRequest): Promise<PrekeyBundle>;
  /**
   * Obtains token evaluations for this epoch (signed: the allowance is per komrade). The answer is
   * not yet checked: the wallet verifies its proof against the pinned token key.
   * `TOKENS_EXHAUSTED` (with when more come) once the day's allowance is spent; `TOKEN_INVALID`
   * for an epoch other than the Operator's current one.
   */
  issueTokens(
    signer: RequestSigner,
    blinded: readonly Uint8Array[],
    epoch: number,
  ): Promise<TokenIssueResponse>;
  /**
   * Hands one letter to the Operator, paid with one token: unsigned, and on a circuit of its own
   * (never the one the identity's signed requests use). Sending the very same letter with the
   * same token again is answered with the same id (no second copy). `TOKEN_SPENT`,
   * `TOKEN_INVALID`, `LETTER_SIZE_CLASS`, `NAME_UNKNOWN`.
   */
  sendAnonymously(letter: AnonymousLetter): Promise<SentAnonymously>;
  /**
   * The signer's oldest waiting letters (they stay until acked), after deleting `options.ack`:
   * one request both acks the previous batch and fetches the next.
   */
  fetch(signer: RequestSigner, options?: FetchOptions): Promise<FetchedLetters>;
  /**
   * Waits until any of the signers' mailboxes has mail (answers at once if one already has), or
   * `waitMs` passes. One request covers all `signers`, each proving ownership of its mailbox, so
   * the Operator learns that they wait together. `NOT_FOUND` when the Operator predates waiting.
   */
  waitForMail(signers: readonly RequestSigner[], options: MailWaitOptions): Promise<MailWaitResult>;
  /** Deletes downloaded letters at the Operator; resolves to how many it deleted. */
  ack(signer: RequestSigner, ids: readonly Uint8Array[]): Promise<number>;
  /** Posts to the world feed; `sealed` is a post sealed to the Operator's feed key. */
  post(signer: RequestSigner, sealed: Uint8Array): Promise<PostedToFeed>;
  /** A feed page sealed to the signer's box key (opened by the engine). */
  feedPage(signer: RequestSigner, request?: FeedPageRequest): Promise<Uint8Array>;

  /** Creates a collective from its genesis (signed by `signer`, a founder) and proof of work. */
  createCollective(
    signer: RequestSigner,
    genesis: SignedCollectiveEvent,
    pow: Uint8Array,
  ): Promise<CollectiveHead>;
  /**
   * Appends the next event (signed by `signer`, its actor). `COLLECTIVE_CONFLICT` when the log
   * moved on; `COLLECTIVE_RULE` when the rules refuse it.
   */
  appendEvent(signer: RequestSigner, event: SignedCollectiveEvent): Promise<CollectiveHead>;
  /** Where a collective's log ends; any registered komrade may ask. */
  collectiveHead(signer: RequestSigner, collective: string): Promise<CollectiveHead>;
  /** Events from `from` on; members and pending candidates only (`NOT_MEMBER`). */
  collectiveLog(
    signer: RequestSigner,
    collective: string,
    from: number,
    limit?: number,
  ): Promise<CollectiveLogPage>;
  /** Sends one message to every current member but the sender. */
  sendToCollective(
    signer: RequestSigner,
    collective: string,
    sealed: SealedCollectiveMessage,
  ): Promise<SentToCollective>;
}
