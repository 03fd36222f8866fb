/**
 * `KomradeClient`: the engine every adapter drives (register, letters, requests, feed,
 * collectives).
 */
import type { CollectiveMessage, ProposalChange } from '../../common/collectives/index.js';
import { isValidBoxKey, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { KomradeError, isKomradeError, ok, type Result } from '../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  ID_BYTES,
  MAX_LETTER_TEXT_BYTES,
  MAX_POST_BODY_BYTES,
  LETTER_RATCHET_FRAME_MAX_BYTES,
  bytesEqual,
  claimBytesForPow,
  decodeSignedPost,
  openFeedPage,
  openRatchetLetter,
  openSignedLetter,
  parseNewName,
  proveClaim,
  sealPost,
  sealRatchetLetter,
  signLetter,
  sizeClassFor,
  solveProofOfWork,
  toBase64url,
  verifyLetter,
  verifyPost,
  verifyReceipt,
  type KeyHolder,
  type Letter,
  type OperatorInfo,
  type PowProgress,
  type PrekeyBundle,
  type Receipt,
  type Token,
} from '../../common/wire/index.js';
import {
  PROCESSED_LETTER_RETENTION_MS,
  type Contact,
  type LetterFolder,
  type LocalStore,
  type PinnedOperator,
  type StoredCollectiveMessage,
  type StoredLetter,
} from '../local-store/local-store.js';
import type {
  MailWaitOptions,
  OperatorClient,
  OutgoingLetter,
  RequestSigner,
  SentAnonymously,
  WaitingLetter,
} from '../operator-client/operator-client.js';
import { Ratchet, ratchetKeyOf } from '../ratchet/index.js';
import { TokenWallet, letterKey } from '../tokens/token-wallet.js';
import {
  RegistryAuditor,
  logInconsistentError,
  stoppableOperator,
  type LogEvidence,
} from '../transparency/index.js';
import { DEFAULT_FAN_OUT_WINDOW, fanOutDelays, type FanOutWindow } from './fan-out.js';
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
import { Collectives, type CreateCollectiveOptions } from './collectives.js';
import { isLetterTooOld } from './letter-age.js';
import { nameOrThrow } from './names.js';
import { checkMessageText, refuseSelfLetter } from './message-text.js';
import type {
  DropReason,
  PrepareOptions,
  PreparedCollectiveMessage,
  PreparedLetter,
  PreparedPost,
  ResealedCollectiveMessage,
  SessionReset,
  Triaged,
} from './prepared.js';
import { isRecipientFault, recipientFailure } from './recipient-failure.js';
import type {
  FeedPost,
  FeedView,
  FollowersPost,
  InboxCheck,
  KomradeProfile,
  LetterRequest,
  PublishedPost,
  ReceivedLetter,
  RecipientFailure,
  SentLetter,
  WhoAmI,
} from './views.js';

/** What {@link KomradeClient} is built from; the composition root supplies each. */
export interface KomradeClientDeps {
  readonly operator: OperatorClient;
  readonly store: LocalStore;
  /** The komrade's identity, unlocked from the keystore. */
  readonly keys: IdentityKeys;
  /** The clock (ms since the epoch). */
  readonly now: () => number;
  /**
   * Who holds `keys`: `self` on the komrade's own device (the CLI), or the adapter that keeps them
   * (`telegram`, `discord`). Signed into the registration, so peers see it.
   */
  readonly keyHolder: KeyHolder;
  /** Source of letter and post ids. @defaultValue common/crypto `randomBytes` */
  readonly random?: (length: number) => Uint8Array;
  /** How retries after a collective conflict wait. @defaultValue a `setTimeout` */
  readonly sleep?: (ms: number) => Promise<void>;
  /** How a fan-out waits between copies. @defaultValue `sleep` */
  readonly pause?: (ms: number) => Promise<void>;
  /** How a post to followers is spread over time. @defaultValue `DEFAULT_FAN_OUT_WINDOW` */
  readonly fanOut?: FanOutWindow;
  /** Tokens asked for per refill. @defaultValue `TOKEN_REFILL_BATCH` */
  readonly tokenBatch?: number;
}

/** Options for {@link KomradeClient.postToFollowers}. */
export interface PostToFollowersOptions {
  /** Called after each copy went (e.g. a "sent 3 of 12" line). */
  readonly onProgress?: (sent: number, total: number) => void;
}

/** Tries of one letter when the Operator refuses its token (spent elsewhere, epoch just ended). */
const TOKEN_TRIES = 3;

/**
 * Operator answers that settle a send or a bundle fetch without spending its token (the spend and
 * the deposit, or the hand-out, are one transaction): the token is free for another request.
 * Anything else (a transport failure, `INTERNAL`) may have landed, so the token stays reserved for
 * a retry of the same letter.
 */
const REFUSED_UNSPENT = new Set<string>([
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'LETTER_TOO_LARGE',
  'LETTER_SIZE_CLASS',
  'MAILBOX_FULL',
  'PREKEYS_MISSING',
]);

export type { CreateCollectiveOptions } from './collectives.js';

/** Options for {@link KomradeClient.register}. */
export interface RegisterOptions {
  /** Called once the name is checked and the proof of work starts (2^bits hashes expected). */
  readonly onSolving?: (work: { readonly bits: number; readonly expected: number }) => void;
  /** Called while the proof of work runs, about every 64k hashes. */
  readonly onProgress?: (progress: PowProgress) => void;
  readonly signal?: AbortSignal;
}

/** Options for {@link KomradeClient.feed}. */
export interface FeedOptions {
  /** The `next` cursor of a previous page. */
  readonly before?: string;
  readonly limit?: number;
}

const DAY_MS = 86_400_000;
/** How often prekeys are checked at the Operator (one-time ones are handed out at most 20 an hour). */
const PREKEY_CHECK_MS = 3_600_000;
/** A reset letter goes to one komrade at most this often (a forger could otherwise make us spend). */
const RESET_INTERVAL_MS = 3_600_000;
// A misbehaving Operator could answer `more: true` forever; stop after this many rounds.
const MAX_FETCH_ROUNDS = 1_000;

const profileOf = (receipt: Receipt): KomradeProfile => ({
  name: receipt.name,
  registeredAt: receipt.registeredAt,
  keyHolder: receipt.keyHolder,
  signKey: toBase64url(receipt.signKey),
  boxKey: toBase64url(receipt.boxKey),
});

const viewOf = (stored: StoredLetter, fromKeyHolder: KeyHolder | undefined): ReceivedLetter => ({
  kind: stored.letter.kind === 'post' ? 'post' : 'letter',
  id: toBase64url(stored.letter.id),
  from: stored.letter.from,
  fromKeyHolder,
  to: stored.letter.to,
  sentAt: stored.letter.sentAt,
  receivedAt: stored.receivedAt,
  text: stored.letter.body,
});

/** `items` in a random order (Fisher–Yates on `random`). */
function shuffled<T>(items: readonly T[], random: (length: number) => Uint8Array): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const bytes = random(4);
    const j = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const tooLarge = (bytes: number, info: OperatorInfo) =>
  new KomradeError(
    'LETTER_TOO_LARGE',
    `The sealed letter would be ${bytes} bytes or more; this Operator accepts at most ${info.limits.sealedLetterBytes}.`,
  );

function checkPostText(text: string): void {
  checkMessageText(text, 'post', MAX_POST_BODY_BYTES, 'POST_INVALID');
}

/**
 * The client engine. It trusts the Operator for delivery only: the Operator's key is pinned on
 * first use, every receipt is checked against it and must be in the registry log it signed (a
 * log that contradicts itself stops the client: `LOG_INCONSISTENT`), and every letter and post
 * is checked against its author's registered key before anyone sees it.
 *
 * @example
 * ```ts
 * const client = new KomradeClient({ operator, store, keys, now: Date.now, keyHolder: 'self' });
 * await client.register('alice');
 * await client.send('@bob', 'hello');
 * ```
 */
export class KomradeClient {
  /** The Operator, refusing every call once the registry log was found inconsistent. */
  readonly #operator: OperatorClient;
  /** The Operator itself: for the auditor's proofs, and a stopped inbox check's last ack. */
  readonly #rawOperator: OperatorClient;
  readonly #auditor: RegistryAuditor;
  readonly #store: LocalStore;
  readonly #keys: IdentityKeys;
  readonly #now: () => number;
  readonly #keyHolder: KeyHolder;
  readonly #random: (length: number) => Uint8Array;
  readonly #collectives: Collectives;
  readonly #wallet: TokenWallet;
  readonly #pause: (ms: number) => Promise<void>;
  readonly #fanOut: FanOutWindow;
  readonly #ratchet: Ratchet;
  #ownRatchetKey: Uint8Array | undefined;
  #info: OperatorInfo | undefined;

  constructor(deps: KomradeClientDeps) {
    this.#rawOperator = deps.operator;
    this.#auditor = new RegistryAuditor({
      operator: deps.operator,
      store: deps.store,
      operatorKey: async () => (await this.#pinned()).signKey,
      now: deps.now,
    });
    this.#operator = stoppableOperator(deps.operator, () => {
      this.#auditor.assertConsistent();
    });
    this.#store = deps.store;
    this.#keys = deps.keys;
    this.#now = deps.now;
    this.#keyHolder = deps.keyHolder;
    this.#random = deps.random ?? randomBytes;
    const sleep =
      deps.sleep ??
      ((ms: number) =>
        new Promise<void>((resolve) => {
          setTimeout(resolve, ms);
        }));
    this.#pause = deps.pause ?? sleep;
    this.#fanOut = deps.fanOut ?? DEFAULT_FAN_OUT_WINDOW;
    this.#wallet = new TokenWallet({
      operator: this.#operator,
      store: deps.store,
      signer: () => this.#signer(),
      operatorInfo: () => this.operatorInfo(),
      now: deps.now,
      // Token inputs are secrets: always from the system's randomness, never the id test seam.
      ...(deps.tokenBatch === undefined ? {} : { batch: deps.tokenBatch }),
    });
    this.#ratchet = new Ratchet({
      store: deps.store,
      keys: deps.keys,
      self: () => this.#signer().name,
      fetchBundle: (name) => this.#fetchBundle(name),
      now: deps.now,
    });
    this.#collectives = new Collectives({
      operator: this.#operator,
      store: deps.store,
      keys: deps.keys,
      now: deps.now,
      random: this.#random,
      sleep,
      signer: () => this.#signer(),
      operatorInfo: () => this.operatorInfo(),
      receiptOf: (name) => this.#receiptOf(name),
      checkReceipt: async (receipt) => {
        await this.#auditor.checkReceipt(receipt);
      },
      ratchet: this.#ratchet,
      resetSession: (sender) =>
        this.#store.contactState(sender.name) === 'blocked'
          ? Promise.resolve()
          : this.#resetSession(sender),
    });
  }

  /**
   * The Operator's keys and limits. The first answer ever pins its keys; later answers must match.
   * @throws `OPERATOR_KEY_CHANGED` when the Operator's keys differ from the pinned ones
   */
  async operatorInfo(): Promise<OperatorInfo> {
    if (this.#info !== undefined) return this.#info;
    const info = await this.#operator.info();
    const pinned = this.#store.pinnedOperator();
    if (pinned === undefined) {
      this.#store.pinOperator({ signKey: info.signKey, feedKey: info.feedKey });
    } else if (
      !bytesEqual(pinned.signKey, info.signKey) ||
      !bytesEqual(pinned.feedKey, info.feedKey)
    ) {
      throw new KomradeError(
        'OPERATOR_KEY_CHANGED',
        'The Operator presented different keys from the ones pinned when you first connected. ' +
          'It may be an impostor; nothing was sent.',
      );
    }
    this.#info = info;
    return info;
  }

  async #pinned(): Promise<PinnedOperator> {
    const info = await this.operatorInfo();
    return { signKey: info.signKey, feedKey: info.feedKey };
  }

  /**
   * Registers `name` with this identity: proof of possession, proof of work, then the Operator's
   * receipt, checked against the pinned key and stored. The claim carries the client's `keyHolder`.
   * @throws `NAME_INVALID`, `NAME_RESERVED`, `NAME_TAKEN`, `USAGE` when already registered
   */
  async register(input: string, options: RegisterOptions = {}): Promise<KomradeProfile> {
    const parsed = parseNewName(input);
    if (!parsed.ok) throw parsed.error;
    const name = parsed.value;
    const own = this.#store.ownReceipt();
    if (own !== undefined) {
      throw new KomradeError('USAGE', `This identity is already registered as @${own.name}.`);
    }
    const info = await this.operatorInfo();
    const claim = {
      name,
      signKey: this.#keys.signPublic,
      boxKey: this.#keys.boxPublic,
      keyHolder: this.#keyHolder,
      ratchetKey: this.#ratchetKey,
    };
    const pop = proveClaim(claim, this.#keys.signSecret);
    options.onSolving?.({ bits: info.powBits, expected: 2 ** info.powBits });
    const pow = await solveProofOfWork(claimBytesForPow(claim), info.powBits, {
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    let receipt: Receipt;
    try {
      receipt = await this.#operator.register({ ...claim, pop, pow });
    } catch (error) {
      // An earlier attempt may have registered us before its answer was lost: adopt that receipt.
      if (!isKomradeError(error, 'NAME_TAKEN')) throw error;
      // A look-alike of a taken name is refused as taken while the name itself stays unknown.
      const existing = await this.#operator.lookup(name).catch((lookupError: unknown) => {
        throw isKomradeError(lookupError, 'NAME_UNKNOWN') ? error : lookupError;
      });
      if (!this.#isMine(existing)) throw error;
      receipt = existing;
    }
    if (!verifyReceipt(receipt, info.signKey) || receipt.name !== name || !this.#isMine(receipt)) {
      throw new KomradeError(
        'OPERATOR_ERROR',
        'The Operator answered with a receipt that does not match the registration or its pinned key.',
      );
    }
    await this.#auditor.checkReceipt(receipt);
    this.#store.saveOwnReceipt(receipt);
    // Without prekeys nobody can write to us; a failure here is retried by the next inbox check.
    await this.publishPrekeys({ force: true }).catch(() => undefined);
    return profileOf(receipt);
  }

  #isMine(receipt: Receipt): boolean {
    return (
      bytesEqual(receipt.signKey, this.#keys.signPublic) &&
      bytesEqual(receipt.boxKey, this.#keys.boxPublic) &&
      (receipt.ratchetKey === null || bytesEqual(receipt.ratchetKey, this.#ratchetKey)) &&
      receipt.keyHolder === this.#keyHolder
    );
  }

  get #ratchetKey(): Uint8Array {
    this.#ownRatchetKey ??= ratchetKeyOf(this.#keys);
    return this.#ownRatchetKey;
  }

  /**
   * Keeps first contact possible: registers this identity's ratchet key if its registration
   * predates forward secrecy (a signed update; the Operator answers a new receipt), publishes the
   * signed and Kyber prekeys, and a new batch of one-time prekeys when the Operator holds few.
   * Runs at most once an hour unless `force`d (registration, a restore).
   * @returns how many one-time prekeys the Operator holds now, or `undefined` when not due
   */
  async publishPrekeys(options: { readonly force?: boolean } = {}): Promise<number | undefined> {
    const signer = this.#signer();
    const last = this.#store.prekeysPublishedAt();
    const now = this.#now();
    if (
      options.force !== true &&
      last !== undefined &&
      now - last < PREKEY_CHECK_MS &&
      now >= last
    ) {
      return undefined;
    }
    const info = await this.operatorInfo();
    const own = this.#store.ownReceipt();
    if (own !== undefined && own.ratchetKey === null) {
      const claim = { ...own, ratchetKey: this.#ratchetKey };
      const receipt = await this.#operator.setRatchetKey(signer, {
        ratchetKey: this.#ratchetKey,
        pop: proveClaim(claim, this.#keys.signSecret),
      });
      if (
        !verifyReceipt(receipt, info.signKey) ||
        receipt.name !== own.name ||
        !this.#isMine(receipt) ||
        receipt.ratchetKey === null
      ) {
        throw new KomradeError(
          'OPERATOR_ERROR',
          'The Operator answered the ratchet key update with a receipt that does not match it.',
        );
      }
      await this.#auditor.checkReceipt(receipt);
      this.#store.saveOwnReceipt(receipt);
    }
    if (this.#store.oneTimeReplaceDue()) {
      // After a restore: the Operator's one-time prekeys include some whose secrets are lost.
      const replaced = await this.#operator.uploadPrekeys(signer, {
        ...this.#ratchet.prekeysToPublish(0),
        replaceOneTime: true,
      });
      this.#store.setOneTimeReplaceDue(false);
      this.#store.setPrekeysPublishedAt(now);
      return replaced.oneTimeLeft;
    }
    let answer = await this.#operator.uploadPrekeys(
      signer,
      this.#ratchet.prekeysToPublish(undefined),
    );
    const oneTimePrekeys = this.#ratchet.oneTimePrekeysToPublish(answer.oneTimeLeft);
    if (oneTimePrekeys !== undefined) {
      try {
        answer = await this.#operator.uploadPrekeys(signer, { oneTimePrekeys });
      } catch (error) {
        // A retry of an upload whose answer was lost: the first attempt stored them.
        if (!isKomradeError(error, 'PREKEY_ID_USED')) throw error;
        answer = await this.#operator.uploadPrekeys(signer, {});
      }
    }
    this.#store.setPrekeysPublishedAt(now);
    return answer.oneTimeLeft;
  }

  /** Who this client is: the registered name (if any) and the public keys. Local only. */
  whoami(): WhoAmI {
    const own = this.#store.ownReceipt();
    return {
      name: own?.name ?? null,
      registeredAt: own?.registeredAt ?? null,
      keyHolder: own?.keyHolder ?? this.#keyHolder,
      signKey: toBase64url(this.#keys.signPublic),
      boxKey: toBase64url(this.#keys.boxPublic),
    };
  }

  #signer(): RequestSigner {
    const own = this.#store.ownReceipt();
    if (own === undefined) {
      throw new KomradeError('NOT_REGISTERED', 'You have not registered a name yet.');
    }
    return { name: own.name, signSecret: this.#keys.signSecret };
  }

  /**
   * A komrade's registered keys, vouched for by the pinned Operator key.
   * @throws `NAME_INVALID`, `NAME_UNKNOWN`, `OPERATOR_ERROR` for a receipt the pinned key did not sign
   */
  async lookup(input: string): Promise<KomradeProfile> {
    return profileOf(await this.#receiptOf(nameOrThrow(input)));
  }

  /**
   * Runs the registry log's consistency check now: fetches the Operator's newest checkpoint and
   * checks it against the newest one this client verified (a consistency proof from it, or the
   * same root at the same size), then remembers it.
   * @returns the checkpoint now remembered: its tree size, root (base64) and signed note
   * @throws `LOG_INCONSISTENT` (evidence kept: see {@link KomradeClient.logEvidence}),
   * `OPERATOR_ERROR`, `OPERATOR_UNREACHABLE`, `OPERATOR_KEY_CHANGED`
   */
  async auditLog(): Promise<{
    readonly size: number;
    readonly root: string;
    readonly checkpoint: string;
  }> {
    this.#auditor.assertConsistent();
    await this.operatorInfo();
    const checked = await this.#auditor.audit();
    return {
      size: checked.checkpoint.size,
      root: Buffer.from(checked.checkpoint.rootHash).toString('base64'),
      checkpoint: this.#auditor.newestCheckpoint() ?? '',
    };
  }

  /**
   * The evidence that stopped this client, if the Operator's registry log was found inconsistent
   * (public data: signed checkpoints and proof hashes anyone can check again). Local only.
   */
  logEvidence(): LogEvidence | undefined {
    return this.#auditor.logEvidence();
  }

  /**
   * Forgets the evidence so this client talks to the Operator again. Only for a komrade who
   * decided so (e.g. after moving to another Operator): nothing calls it on its own. Local only.
   */
  clearLogEvidence(): void {
    this.#auditor.clearLogEvidence();
  }

  async #receiptOf(name: string): Promise<Receipt> {
    const pinned = await this.#pinned();
    const cached = this.#store.cachedReceipt(name);
    // A cached record without a ratchet key may have gained one since: asked again.
    if (
      cached !== undefined &&
      cached.name === name &&
      cached.ratchetKey !== null &&
      verifyReceipt(cached, pinned.signKey)
    ) {
      return cached;
    }
    const receipt = await this.#operator.lookup(name);
    if (receipt.name !== name || !verifyReceipt(receipt, pinned.signKey)) {
      throw new KomradeError(
        'OPERATOR_ERROR',
        `The Operator's record for @${name} is not signed by its pinned key; refusing to use it.`,
      );
    }
    // In the log the Operator signed, consistent with what this client saw before: else refused.
    await this.#auditor.checkReceipt(receipt);
    this.#store.cacheReceipt(receipt);
    return receipt;
  }

  /**
   * Signs a letter and seals it to the recipient's registered key, after every check a letter
   * passes: the name, not to yourself, the text (see `checkMessageText`), the recipient's receipt
   * against the pinned Operator key, their box key, and the Operator's own size limit. Sends
   * nothing: {@link KomradeClient.send} does, or a bot's outbox later.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `USAGE` (to yourself),
   * `EMPTY_MESSAGE` (empty or only whitespace), `LETTER_TOO_LARGE`, `KEY_INVALID`,
   * `OPERATOR_ERROR` (a receipt the pinned key did not sign), `OPERATOR_KEY_CHANGED`
   */
  async prepareLetter(
    toInput: string,
    text: string,
    options: PrepareOptions = {},
  ): Promise<PreparedLetter> {
    const signer = this.#signer();
    const to = nameOrThrow(toInput);
    refuseSelfLetter(signer.name, to);
    checkMessageText(text, 'letter', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
    const info = await this.operatorInfo();
    const recipient = await this.#receiptOf(to);
    const letter: Letter = {
      v: 2,
      kind: 'text',
      from: signer.name,
      to,
      sentAt: options.sentAt ?? this.#now(),
      id: options.id ?? this.#random(ID_BYTES),
      body: text,
    };
    return await this.#sealedTo(letter, recipient, info);
  }

  /**
   * Signs and seals a `follow` or `unfollow` letter (no body) to a komrade. Its time is strictly
   * after this identity's previous statement, kept in the local store across restarts: the
   * recipient keeps only the newest, so a follow and unfollow must never swap places.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `USAGE` (yourself), `KEY_INVALID`
   */
  async prepareStatement(
    toInput: string,
    kind: 'follow' | 'unfollow' | 'reset',
    options: PrepareOptions = {},
  ): Promise<PreparedLetter> {
    const signer = this.#signer();
    const to = nameOrThrow(toInput);
    if (to === signer.name) throw new KomradeError('USAGE', `You cannot ${kind} yourself.`);
    const info = await this.operatorInfo();
    const recipient = await this.#receiptOf(to);
    // Reserved only once nothing else can fail but the seal, so refusals do not push time on.
    const sentAt = this.#store.reserveStatementTime(options.sentAt ?? this.#now());
    return await this.#sealedTo(
      {
        v: 2,
        kind,
        from: signer.name,
        to,
        sentAt,
        id: options.id ?? this.#random(ID_BYTES),
        body: '',
      },
      recipient,
      info,
    );
  }

  /**
   * Signs a letter and hands it to the Operator, sealed as {@link KomradeClient.prepareLetter}
   * seals it. Writing to someone accepts their letters from then on.
   * @throws as {@link KomradeClient.prepareLetter}, and what the Operator answers
   */
  async send(toInput: string, text: string): Promise<SentLetter> {
    const { letter, to, sealed } = await this.prepareLetter(toInput, text);
    await this.deliver({ to, sealed });
    this.#store.setContactState(to, 'accepted', this.#now());
    return { id: toBase64url(letter.id), to, sentAt: letter.sentAt };
  }

  async #sealedTo(letter: Letter, recipient: Receipt, info: OperatorInfo): Promise<PreparedLetter> {
    if (!isValidBoxKey(recipient.boxKey)) {
      throw new KomradeError(
        'KEY_INVALID',
        `@${recipient.name}'s registered box key is unsafe (low order): nothing can be sealed to it.`,
      );
    }
    const fits = (bytes: Uint8Array) => {
      const worst = sizeClassFor(bytes.length + LETTER_RATCHET_FRAME_MAX_BYTES);
      return worst !== undefined && worst <= info.limits.sealedLetterBytes;
    };
    const content: Letter = { ...letter };
    delete content.checkpoint;
    // Gossip: the newest checkpoint verified here rides along, unless the text leaves no room.
    const gossip = this.#auditor.newestCheckpoint();
    let sent: Letter = gossip === undefined ? content : { ...content, checkpoint: gossip };
    let signed = signLetter(sent, this.#keys.signSecret);
    if (sent !== content && !fits(signed)) {
      sent = content;
      signed = signLetter(content, this.#keys.signSecret);
    }
    // Refused before the ratchet moves: a letter too large must not spend a message key.
    if (!fits(signed)) throw tooLarge(signed.length + LETTER_RATCHET_FRAME_MAX_BYTES, info);
    const message = await this.#ratchet.encrypt(recipient, signed);
    const sealed = sealRatchetLetter({ v: 2, from: letter.from, ...message }, recipient.boxKey);
    if (sealed.length > info.limits.sealedLetterBytes) throw tooLarge(sealed.length, info);
    return { letter: sent, to: letter.to, sealed };
  }

  /** A komrade's prekey bundle, paid for with one token (anonymously, as a letter is sent). */
  async #fetchBundle(name: string): Promise<PrekeyBundle> {
    // Each fetch its own reservation: a bundle is never worth retrying with the same token.
    return this.#payWithToken(letterKey(`bundle:${name}`, this.#random(16)), (token) =>
      this.#operator.fetchPrekeyBundle({ name, token }),
    );
  }

  /**
   * Pays for one anonymous request with a token reserved under `key` (a retry under the same key
   * pays with the same token). A token spent elsewhere (a restored backup's copy) or of an epoch
   * that just ended is dropped and another one tried; a refusal that spent nothing frees it.
   */
  async #payWithToken<T>(key: Uint8Array, pay: (token: Token) => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      const held = await this.#wallet.take(key);
      try {
        const answer = await pay(held.token);
        this.#wallet.spent(held);
        return answer;
      } catch (error) {
        if (isKomradeError(error, 'TOKEN_SPENT') || isKomradeError(error, 'TOKEN_INVALID')) {
          this.#wallet.spent(held);
          if (tries < TOKEN_TRIES) continue;
        } else if (isKomradeError(error) && REFUSED_UNSPENT.has(error.code)) {
          this.#wallet.release(held);
        }
        throw error;
      }
    }
  }

  /**
   * Follows a komrade: a sealed, signed `follow` letter tells them (the Operator cannot tell it
   * from any other letter), and they are recorded here so their posts are shown.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `USAGE` (following yourself)
   */
  async follow(input: string): Promise<{ readonly name: string; readonly added: boolean }> {
    const name = await this.#sendStatement(input, 'follow');
    return { name, added: this.#store.addFollowing(name, this.#now()) };
  }

  /**
   * Stops following a komrade: an `unfollow` letter tells them, and their posts are dropped here.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `USAGE` (unfollowing yourself)
   */
  async unfollow(input: string): Promise<{ readonly name: string; readonly removed: boolean }> {
    const name = await this.#sendStatement(input, 'unfollow');
    return { name, removed: this.#store.removeFollowing(name) };
  }

  async #sendStatement(input: string, kind: 'follow' | 'unfollow'): Promise<string> {
    const { to, sealed } = await this.prepareStatement(input, kind);
    await this.deliver({ to, sealed });
    return to;
  }

  /**
   * Hands one sealed letter to the Operator anonymously: no signature, no name, paid with one
   * token from this identity's wallet (refilled through a signed request when empty), on the
   * anonymous circuits. The one way every letter leaves: `send`, `follow`, `unfollow`, each copy
   * of a post, and a bot's outbox. A retry of the same letter (after a lost answer, a crash)
   * pays with the same token, which the Operator answers with the same id and no second copy.
   * @throws `NOT_REGISTERED`, `TOKENS_EXHAUSTED` (the Operator's message says when more come),
   * `TOKEN_PROOF_INVALID`, the Operator's refusals (`NAME_UNKNOWN`, `LETTER_SIZE_CLASS`…),
   * `OPERATOR_UNREACHABLE`
   */
  async deliver(letter: OutgoingLetter): Promise<SentAnonymously> {
    this.#signer();
    return this.#payWithToken(letterKey(letter.to, letter.sealed), (token) =>
      this.#operator.sendAnonymously({ to: letter.to, sealed: letter.sealed, token }),
    );
  }

  /**
   * Forgets the opened copies of letters the Operator has deleted (see `Ratchet.decrypt`: kept
   * until then so a letter fetched again after a crash still opens). Local only.
   */
  forgetOpened(operatorIds: readonly Uint8Array[]): void {
    this.#ratchet.forgetOpened(operatorIds);
  }

  /**
   * Tops up this identity's tokens ahead of time when few are left, so sends rarely wait for an
   * issuance and the Operator sees tokens issued at fetch time rather than just before a send.
   * Called by {@link KomradeClient.checkInbox}; a failure here is left for the next send to meet.
   * @returns how many tokens were added
   */
  async topUpTokens(): Promise<number> {
    return this.#wallet.topUp();
  }

  /** Unspent tokens of accepted epochs in this identity's wallet. Local only. */
  tokensHeld(): number {
    return this.#wallet.count();
  }

  /** Komrades you follow. Local only. */
  following(): string[] {
    return this.#store.following();
  }

  /** Komrades who follow you (blocked ones excluded). Local only. */
  followers(): string[] {
    return this.#store.followers().filter((name) => this.#store.contactState(name) !== 'blocked');
  }

  /**
   * Signs and seals a post once per follower, as a `post` letter to each (one id and time for
   * all). Followers no longer registered are `skipped`; one whose record or key cannot be used (a
   * receipt the pinned key did not sign, a low-order box key) is reported in `failed` with the
   * reason, and the others still get it.
   * @throws `NOT_REGISTERED`, `EMPTY_MESSAGE`, `POST_INVALID` (too long), `LETTER_TOO_LARGE`,
   * and what fails for everyone (`OPERATOR_UNREACHABLE`, `OPERATOR_KEY_CHANGED`)
   */
  async preparePost(text: string, options: PrepareOptions = {}): Promise<PreparedPost> {
    const signer = this.#signer();
    checkPostText(text);
    // Fails here for everyone (Operator unreachable, its key changed), not as one follower's fault.
    const info = await this.operatorInfo();
    const id = options.id ?? this.#random(ID_BYTES);
    const sentAt = options.sentAt ?? this.#now();
    const letters: PreparedLetter[] = [];
    const skipped: string[] = [];
    const failed: RecipientFailure[] = [];
    for (const name of this.followers()) {
      if (name === signer.name) continue;
      let receipt: Receipt;
      try {
        receipt = await this.#receiptOf(name);
      } catch (error) {
        if (isKomradeError(error, 'NAME_UNKNOWN')) skipped.push(name);
        else if (isRecipientFault(error)) failed.push(recipientFailure(name, error));
        else throw error;
        continue;
      }
      const letter: Letter = {
        v: 2,
        kind: 'post',
        from: signer.name,
        to: name,
        sentAt,
        id,
        body: text,
      };
      try {
        letters.push(await this.#sealedTo(letter, receipt, info));
      } catch (error) {
        // Too large is too large for everyone; a key nothing can be sealed to is theirs alone.
        if (!isRecipientFault(error)) throw error;
        failed.push(recipientFailure(name, error));
      }
    }
    return { id, sentAt, letters, skipped, failed };
  }

  /**
   * Sends a post to every follower as {@link KomradeClient.preparePost} seals it: each copy its own
   * anonymous send (its own token, a circuit the anonymous pool picks), in a random order, at
   * random times over a window (see `fanOutDelays`: up to 2 s a copy, 30 s in all by default), so
   * the Operator sees no batch naming the followers. A copy that fails stops the rest (the error
   * is thrown; copies already sent stay sent).
   * @throws as {@link KomradeClient.preparePost}, and what {@link KomradeClient.deliver} throws
   */
  async postToFollowers(
    text: string,
    options: PostToFollowersOptions = {},
  ): Promise<FollowersPost> {
    const { id, sentAt, letters, skipped, failed } = await this.preparePost(text);
    const entries = letters.map(({ to, sealed }) => ({ to, sealed }));
    const order = shuffled(entries, this.#random);
    const delays = fanOutDelays(order.length, this.#random, this.#fanOut);
    for (const [i, entry] of order.entries()) {
      const delay = delays[i] ?? 0;
      if (delay > 0) await this.#pause(delay);
      await this.deliver(entry);
      options.onProgress?.(i + 1, order.length);
    }
    return { id: toBase64url(id), sentAt, followers: entries.map((e) => e.to), skipped, failed };
  }

  /**
   * Opens, verifies and judges one fetched letter; see {@link Triaged}. A letter or collective
   * message to keep is returned, not stored: the caller stores it, then acknowledges it. What is
   * dropped is remembered where a second delivery must be recognised (a blocked sender's letter,
   * an unsolicited post), and a follow or unfollow is applied durably, so the caller may
   * acknowledge both at once.
   * @throws only what may pass (`OPERATOR_UNREACHABLE`, a collective log that cannot be synced
   * now): the letter then stays at the Operator for the next fetch. `NOT_REGISTERED`,
   * `OPERATOR_KEY_CHANGED`, `LOG_INCONSISTENT` once the client is stopped (a checkpoint this very
   * letter carries may stop it: the letter is still returned, and the calls after it refused)
   */
  async triage(waiting: WaitingLetter): Promise<Triaged> {
    const me = this.#signer().name;
    // Stopped: nothing more is judged with what this Operator says (the letter stays there).
    this.#auditor.assertConsistent();
    await this.operatorInfo();
    if (waiting.body !== undefined) return this.#triageCollective(waiting, waiting.body);
    const verified = await this.#verifiedLetter(waiting, me);
    if (verified === undefined) return { action: 'drop', reason: 'rejected' };
    if ('failed' in verified) {
      const from = verified.sender.name;
      if (verified.failed === 'duplicate') return { action: 'drop', reason: 'duplicate', from };
      if (this.#store.contactState(from) === 'blocked') {
        return { action: 'drop', reason: 'blocked', from };
      }
      await this.#resetSession(verified.sender);
      return {
        action: 'drop',
        reason: 'undecryptable',
        from,
        sessionReset: { name: from, lost: true },
      };
    }
    const { checkpoint, ...letter } = verified.letter;
    if (checkpoint !== undefined) await this.#heardCheckpoint(checkpoint, letter.from);
    const triaged = this.#triageVerified(letter, verified.sender);
    return verified.reset && this.#store.contactState(verified.sender.name) !== 'blocked'
      ? { ...triaged, sessionReset: { name: verified.sender.name, lost: false } }
      : triaged;
  }

  /**
   * A checkpoint a verified letter carried: observed when the pinned Operator key signed it (a bad
   * signature is the sender's doing and is ignored). An inconsistency it reveals keeps the
   * evidence and stops the client, yet the letter itself is fine: it is triaged and kept as
   * usual, and only the calls after it are refused. A failure to fetch the proof is thrown, so
   * the letter stays at the Operator and its checkpoint is checked when it is fetched again.
   */
  async #heardCheckpoint(note: string, from: string): Promise<void> {
    const opened = await this.#auditor.openCheckpoint(note);
    if (!opened.ok) return;
    try {
      await this.#auditor.observe(note, `gossip from @${from}`);
    } catch (error) {
      if (!isKomradeError(error, 'LOG_INCONSISTENT')) throw error;
    }
  }

  #triageVerified(letter: Letter, sender: Receipt): Triaged {
    const known = { from: letter.from, id: toBase64url(letter.id) };
    if (isLetterTooOld(letter.sentAt, this.#now())) {
      return { action: 'drop', reason: 'too-old', ...known };
    }
    // Processed before (a re-delivery, or a replay by the Operator): never again.
    if (this.#store.wasProcessed(letter.from, letter.id)) {
      return { action: 'drop', reason: 'duplicate', ...known };
    }
    const state = this.#store.contactState(letter.from);
    if (state === 'blocked') {
      // Remembered, so unblocking later does not bring it back if it is delivered again.
      this.#store.markProcessed(letter.from, letter.id, letter.sentAt);
      return { action: 'drop', reason: 'blocked', ...known };
    }
    const keep = (folder: LetterFolder): Triaged => ({
      action: 'keep-letter',
      stored: { letter, folder, receivedAt: this.#now() },
      senderKeyHolder: sender.keyHolder,
    });
    switch (letter.kind) {
      case 'text':
        return keep(state === 'accepted' ? 'inbox' : 'request');
      case 'post':
        // Shown only from komrades followed here: nobody can push posts at a stranger.
        if (this.#store.following().includes(letter.from)) return keep('inbox');
        this.#store.markProcessed(letter.from, letter.id, letter.sentAt);
        return { action: 'drop', reason: 'unsolicited', ...known };
      case 'reset':
        // Its work was done by opening it: the session it started is the current one now.
        this.#store.markProcessed(letter.from, letter.id, letter.sentAt);
        return { action: 'drop', reason: 'reset', ...known };
      case 'follow':
      case 'unfollow': {
        // A first contact may follow without being accepted: followers only receive posts.
        const outcome = this.#store.applyFollowStatement(
          {
            from: letter.from,
            follows: letter.kind === 'follow',
            sentAt: letter.sentAt,
            id: letter.id,
          },
          this.#now(),
        );
        if (outcome === 'duplicate' || outcome === 'stale') {
          return { action: 'drop', reason: outcome, ...known };
        }
        return { action: 'follow', from: letter.from, outcome };
      }
    }
  }

  async #triageCollective(waiting: WaitingLetter, body: Uint8Array): Promise<Triaged> {
    const opened = await this.#collectives.open(
      { id: waiting.id, sealed: waiting.sealed, body },
      this.#now(),
    );
    const told = opened.sessionReset;
    const reset =
      told === undefined || this.#store.contactState(told.name) === 'blocked'
        ? {}
        : { sessionReset: told };
    // Forged, altered, replayed, or from (or to) a non-member: nothing to show.
    if (!opened.ok) return { action: 'drop', reason: 'rejected', ...reset };
    const stored = opened.value;
    const { from } = stored.message;
    if (this.#store.contactState(from) === 'blocked') {
      return { action: 'drop', reason: 'blocked', from, id: toBase64url(stored.message.id) };
    }
    return { action: 'keep-collective', message: this.#collectives.view(stored), stored, ...reset };
  }

  /**
   * Waits until mail waits at the Operator for this identity, or `options.waitMs` passes; then
   * {@link KomradeClient.checkInbox} downloads it.
   * @returns whether mail waits
   * @throws `NOT_FOUND` from an Operator that predates waiting (check on a timer instead)
   */
  async waitForMail(options: MailWaitOptions): Promise<boolean> {
    const { ready } = await this.#operator.waitForMail([this.#signer()], options);
    return ready.length > 0;
  }

  /**
   * Downloads waiting letters, triages each ({@link KomradeClient.triage}), stores the kept ones
   * encrypted, and only then acknowledges them all (kept, rejected and blocked alike) so none is
   * lost and none piles up. A batch's ids ride on the next fetch (one request a round), so the
   * last batch is acked by the fetch that finds nothing more: nothing is left at the Operator. A
   * letter id processed before is never processed again, a follow or unfollow older than the
   * newest one applied from its sender is not applied (`stale`), and a letter older than
   * {@link PROCESSED_LETTER_RETENTION_MS} is rejected.
   */
  async checkInbox(): Promise<InboxCheck> {
    const signer = this.#signer();
    await this.operatorInfo();
    this.#store.pruneProcessed(this.#now() - PROCESSED_LETTER_RETENTION_MS);
    const counts = {
      received: 0,
      requested: 0,
      blocked: 0,
      rejected: 0,
      duplicates: 0,
      posts: 0,
      follows: 0,
      stale: 0,
      unsolicited: 0,
      collective: 0,
    };
    const dropped: Record<DropReason, keyof typeof counts> = {
      rejected: 'rejected',
      'too-old': 'rejected',
      blocked: 'blocked',
      duplicate: 'duplicates',
      unsolicited: 'unsolicited',
      stale: 'stale',
      undecryptable: 'rejected',
      reset: 'duplicates',
    };
    const sessionResets: SessionReset[] = [];
    const newFollowers: string[] = [];
    // The previous batch's ids, stored durably here and not yet deleted at the Operator.
    let unacked: Uint8Array[] = [];
    for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
      const batch = await this.#operator.fetch(signer, { ack: unacked });
      // The Operator deleted them before it answered (durably, scrubbed): their opened copies go.
      this.#ratchet.forgetOpened(unacked);
      unacked = [];
      if (batch.letters.length === 0) break;
      const keep: StoredLetter[] = [];
      const keepCollective: StoredCollectiveMessage[] = [];
      const triagedIds: Uint8Array[] = [];
      for (const waiting of batch.letters) {
        let triaged: Triaged;
        try {
          triaged = await this.triage(waiting);
        } catch (error) {
          // Stopped by evidence mid-batch: what was triaged is kept, not lost, before stopping.
          if (isKomradeError(error, 'LOG_INCONSISTENT')) {
            await this.#stopInbox(signer, keep, keepCollective, triagedIds);
          }
          throw error;
        }
        triagedIds.push(waiting.id);
        if (triaged.sessionReset !== undefined) sessionResets.push(triaged.sessionReset);
        switch (triaged.action) {
          case 'keep-letter':
            keep.push(triaged.stored);
            break;
          case 'keep-collective':
            keepCollective.push(triaged.stored);
            break;
          case 'follow':
            counts.follows++;
            if (triaged.outcome === 'added') newFollowers.push(triaged.from);
            break;
          case 'drop':
            counts[dropped[triaged.reason]]++;
            break;
        }
      }
      const added = this.#store.saveLetters(keep);
      counts.duplicates += keep.length - added.length;
      const addedCollective = this.#store.saveCollectiveMessages(keepCollective);
      counts.collective += addedCollective.length;
      counts.duplicates += keepCollective.length - addedCollective.length;
      for (const stored of added) {
        if (stored.letter.kind === 'post') counts.posts++;
        else if (stored.folder === 'inbox') counts.received++;
        else counts.requested++;
      }
      // Stored durably above: now the Operator may forget them, with the next fetch. Even
      // without `more`, that fetch goes: it carries the ack, and finds what arrived meanwhile.
      unacked = batch.letters.map((l) => l.id);
      // A letter's gossip revealed an inconsistent log: this batch is kept; nothing more is asked.
      const evidence = this.#auditor.logEvidence();
      if (evidence !== undefined) {
        await this.#stopInbox(signer, [], [], unacked);
        throw logInconsistentError(evidence);
      }
    }
    // Only when the rounds ran out with a batch still unacked.
    if (unacked.length > 0) {
      await this.#operator.ack(signer, unacked);
      this.#ratchet.forgetOpened(unacked);
    }
    // Refilled here, beside the identity's other signed requests, rather than right before a send.
    await this.topUpTokens().catch(() => undefined);
    await this.publishPrekeys().catch(() => undefined);
    // Only those still following at the end (a later unfollow in the same run cancels the notice).
    const following = new Set(this.#store.followers());
    // Told here, like new followers: whoever checks the inbox sees the answer.
    const admitted: string[] = [];
    for (const notice of await this.#collectives.admissions()) {
      this.#collectives.told(notice);
      admitted.push(notice.collective);
    }
    return {
      ...counts,
      newFollowers: newFollowers.filter((name) => following.has(name)),
      admitted,
      sessionResets,
    };
  }

  /**
   * Ends an inbox check the log's evidence stopped: keeps the letters triaged so far (none is
   * lost) and has the Operator forget them (so none comes back twice); the ack is the last call
   * made, and its failure only leaves them to be recognised as duplicates later.
   */
  async #stopInbox(
    signer: RequestSigner,
    keep: readonly StoredLetter[],
    keepCollective: readonly StoredCollectiveMessage[],
    ids: readonly Uint8Array[],
  ): Promise<void> {
    this.#store.saveLetters(keep);
    this.#store.saveCollectiveMessages(keepCollective);
    if (ids.length === 0) return;
    try {
      await this.#rawOperator.ack(signer, ids);
      this.#ratchet.forgetOpened(ids);
    } catch {
      // Still stored here: fetched again (once the komrade chooses to go on) they are duplicates.
    }
  }

  /**
   * Opens one letter: the seal, then the ratchet message in the session with the sender it names
   * (their registered ratchet key), then the signature against their registered signing key, and
   * that it is addressed to `myName` and signed by the sender whose session opened it.
   * `undefined` for anything that must not be shown; `duplicate` for a message the ratchet has
   * opened before (a re-delivery or a replay); `undecryptable` when no session with a registered
   * sender opens it (a session lost or restored here: a new one heals it).
   */
  async #verifiedLetter(
    waiting: WaitingLetter,
    myName: string,
  ): Promise<
    | { readonly letter: Letter; readonly sender: Receipt; readonly reset: boolean }
    | { readonly failed: 'duplicate' | 'undecryptable'; readonly sender: Receipt }
    | undefined
  > {
    const outer = openRatchetLetter(waiting.sealed, this.#keys);
    if (!outer.ok) return undefined;
    let sender: Receipt;
    try {
      sender = await this.#receiptOf(outer.value.from);
    } catch (error) {
      // A sender nobody registered is a forgery; any other failure must not lose the letter.
      if (isKomradeError(error, 'NAME_UNKNOWN') || isKomradeError(error, 'NAME_INVALID')) {
        return undefined;
      }
      throw error;
    }
    const { type, msg, renewed } = outer.value;
    const opened = await this.#ratchet.decrypt(
      sender,
      { type, msg, ...(renewed === true ? { renewed } : {}) },
      waiting.id,
      waiting.sealed,
    );
    if (opened.status === 'untrusted') return undefined;
    if (opened.status !== 'opened') return { failed: opened.status, sender };
    const signed = openSignedLetter(opened.plaintext);
    if (!signed.ok) return undefined;
    const verified = verifyLetter(signed.value, sender.signKey, myName, outer.value.from);
    return verified.ok ? { letter: verified.value, sender, reset: opened.reset } : undefined;
  }

  /**
   * After a letter from `sender` could not be opened: ends the session with them and sends a
   * `reset` letter in a new one, so their next letters open again. At most once an hour per
   * komrade (anyone can make a letter that does not open). Failures wait for the next time.
   */
  async #resetSession(sender: Receipt): Promise<void> {
    const now = this.#now();
    const last = this.#store.lastRatchetReset(sender.name);
    if (last !== undefined && now - last < RESET_INTERVAL_MS && now >= last) return;
    this.#store.markRatchetReset(sender.name, now);
    await this.#ratchet.restart(sender);
    try {
      const { to, sealed } = await this.prepareStatement(sender.name, 'reset');
      await this.deliver({ to, sealed });
    } catch {
      // The session is archived: the next letter to them starts a new one all the same.
    }
  }

  // The sender's receipt was verified before it was cached (and before the letter was kept).
  #view(stored: StoredLetter): ReceivedLetter {
    return viewOf(stored, this.#store.cachedReceipt(stored.letter.from)?.keyHolder);
  }

  /** Letters in the inbox, oldest first. Local only. */
  inbox(): ReceivedLetter[] {
    return this.#store.letters('inbox').map((stored) => this.#view(stored));
  }

  /** Letters held from komrades not yet accepted, grouped by sender. Local only. */
  requests(): LetterRequest[] {
    const bySender = new Map<string, ReceivedLetter[]>();
    for (const stored of this.#store.letters('request')) {
      const list = bySender.get(stored.letter.from) ?? [];
      list.push(this.#view(stored));
      bySender.set(stored.letter.from, list);
    }
    return [...bySender].map(([from, letters]) => ({ from, letters }));
  }

  /**
   * Accepts a komrade: their held letters move to the inbox, and later ones go there directly.
   * @throws `NAME_INVALID`
   */
  accept(input: string): { readonly name: string; readonly moved: number } {
    const name = nameOrThrow(input);
    this.#store.setContactState(name, 'accepted', this.#now());
    return { name, moved: this.#store.moveLetters(name, 'request', 'inbox') };
  }

  /**
   * Blocks a komrade: their held letters are deleted, and later ones are dropped on arrival.
   * @throws `NAME_INVALID`
   */
  block(input: string): { readonly name: string; readonly deleted: number } {
    const name = nameOrThrow(input);
    const now = this.#now();
    this.#store.setContactState(name, 'blocked', now);
    // Recorded as a statement too, so a follow letter sent before the block and delivered
    // after an unblock does not make them a follower again.
    this.#store.applyFollowStatement({ from: name, follows: false, sentAt: now, id: null }, now);
    this.#store.removeFollower(name);
    return { name, deleted: this.#store.deleteLetters(name, 'request') };
  }

  /**
   * Unblocks a komrade: they are a stranger again, so their later letters are held as requests.
   * Letters dropped while they were blocked stay dropped, and so does their following.
   * @returns `unblocked: false` when they were not blocked
   * @throws `NAME_INVALID`
   */
  unblock(input: string): { readonly name: string; readonly unblocked: boolean } {
    const name = nameOrThrow(input);
    if (this.#store.contactState(name) !== 'blocked') return { name, unblocked: false };
    return { name, unblocked: this.#store.clearContactState(name) };
  }

  /** Komrades you wrote to or accepted, and those you blocked, by name. Local only. */
  contacts(): Contact[] {
    return this.#store.contacts();
  }

  /**
   * Posts to the world feed for `days` days.
   * @throws `NOT_REGISTERED`, `POST_INVALID` (empty, too long, or days out of range)
   */
  async post(text: string, days: number): Promise<PublishedPost> {
    const signer = this.#signer();
    const info = await this.operatorInfo();
    const maxDays = info.limits.maxPostDays;
    if (!Number.isInteger(days) || days < 1 || days > maxDays) {
      throw new KomradeError('POST_INVALID', `Days must be a whole number from 1 to ${maxDays}.`);
    }
    checkPostText(text);
    const postedAt = this.#now();
    const sealed = sealPost(
      { v: 1, from: signer.name, postedAt, id: this.#random(ID_BYTES), days, body: text },
      this.#keys.signSecret,
      info.feedKey,
    );
    const answer = await this.#operator.post(signer, sealed);
    return { id: toBase64url(answer.id), postedAt, expiresAt: answer.expiresAt };
  }

  /**
   * A page of the world feed, newest first. Dropped (and counted in `dropped`): posts that fail
   * verification, posts past their author's lifetime (`postedAt` + `days`, by this machine's
   * clock) and posts dated more than the clock skew in the future.
   */
  async feed(options: FeedOptions = {}): Promise<FeedView> {
    const signer = this.#signer();
    await this.operatorInfo();
    const sealed = await this.#operator.feedPage(signer, options);
    const page = openFeedPage(sealed, this.#keys.boxPublic, this.#keys.boxSecret);
    if (!page.ok) {
      throw new KomradeError(
        'OPERATOR_ERROR',
        'The Operator sent a feed page that cannot be opened.',
        {
          cause: page.error,
        },
      );
    }
    const posts: FeedPost[] = [];
    let dropped = 0;
    for (const carried of page.value.posts) {
      const post = await this.#verifiedPost(carried);
      if (post === undefined) dropped++;
      else posts.push(post);
    }
    return { posts, next: page.value.next, dropped };
  }

  async #verifiedPost(carried: {
    readonly signed: Uint8Array;
    readonly sig: Uint8Array;
  }): Promise<FeedPost | undefined> {
    const opened = decodeSignedPost(carried);
    if (!opened.ok) return undefined;
    let author: Receipt;
    try {
      author = await this.#receiptOf(opened.value.post.from);
    } catch (error) {
      if (isKomradeError(error, 'NAME_UNKNOWN')) return undefined;
      throw error;
    }
    if (!verifyPost(opened.value, author.signKey)) return undefined;
    const { post } = opened.value;
    // Expiry by this machine's clock and the author's signed fields, whatever the Operator says:
    // past its author's lifetime, or claiming a time still to come, it is not shown.
    const now = this.#now();
    const expiresAt = post.postedAt + post.days * DAY_MS;
    if (now >= expiresAt || post.postedAt > now + CLOCK_SKEW_MS) return undefined;
    return {
      id: toBase64url(post.id),
      from: post.from,
      postedAt: post.postedAt,
      days: post.days,
      expiresAt,
      text: post.body,
    };
  }

  // ── Collectives (see docs/collectives.md) ─────────────────────────────────────────────────────

  /**
   * Creates a collective: a genesis signed by you naming you and `founders` as its first members,
   * under `constitution` (default: `DEFAULT_CONSTITUTION`), with a proof of work like `register`.
   * Adopts the collective if an earlier attempt created exactly this genesis.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_RESERVED`, `NAME_UNKNOWN` (a founder),
   * `NAME_TAKEN`, `USAGE` (a bad constitution, too many founders), `COLLECTIVE_RULE`
   */
  async createCollective(
    name: string,
    options: CreateCollectiveOptions = {},
  ): Promise<CollectiveView> {
    return this.#collectives.create(name, options);
  }

  /**
   * Asks to join a collective: a join request drafted on the log's current head (redrafted when
   * someone appended first). Members then vouch for you.
   * @returns the collective as you now see it, also as `after`; `before` is the copy kept from an
   * earlier membership, if any
   * @throws `NOT_REGISTERED`, `USAGE` (note too long), `COLLECTIVE_RULE`, `COLLECTIVE_CONFLICT`
   * after many conflicts in a row
   */
  async requestToJoin(collective: string, note?: string): Promise<JoinRequested> {
    return this.#collectives.requestToJoin(collective, note);
  }

  /**
   * A collective as of its last verified event. Fetches only the events after the locally stored,
   * verified log, and verifies them with the rule engine (each receipt against the pinned Operator
   * key); a log that breaks a rule or differs from the stored one is refused and nothing is
   * stored. Once the Operator no longer serves it to you (you left or were removed), the last
   * verified copy, with standing `outsider`.
   * @throws `COLLECTIVE_INVALID`, `NOT_MEMBER` (never a member or candidate)
   */
  async collective(name: string): Promise<CollectiveView> {
    return this.#collectives.collective(name);
  }

  /**
   * Vouches for a candidate and, when the counted vouches then meet the quorum, admits them.
   * Concurrent members are handled: on a conflict the log is re-synced and the action redone, and
   * a candidate someone else admitted meanwhile is reported as admitted.
   * @returns the outcome, with the collective `before` and `after` (no need to sync again)
   * @throws `NOT_MEMBER`, `COLLECTIVE_RULE` (no such candidate), `COLLECTIVE_CONFLICT` after many
   * conflicts in a row
   */
  async vouch(collective: string, candidate: string): Promise<VouchOutcome & CollectiveChange> {
    return this.#collectives.vouch(collective, candidate);
  }

  /**
   * Proposes an amendment (a whole new constitution) or a member's removal.
   * @returns the open proposal (its `id` is what `vote` takes), with the collective `before` and
   * `after`
   * @throws `NOT_MEMBER`, `USAGE` (a malformed change), `COLLECTIVE_RULE`
   */
  async propose(
    collective: string,
    change: ProposalChange,
  ): Promise<ProposalView & CollectiveChange> {
    return this.#collectives.propose(collective, change);
  }

  /**
   * Votes on an open proposal and enacts it when the yes votes then meet its threshold. A proposal
   * someone else enacted meanwhile is reported as enacted; a vote cannot be changed. `before` still
   * shows the proposal open unless it passed before this vote; `after` shows the log with it.
   * @throws `NOT_MEMBER`, `COLLECTIVE_RULE` (no open proposal, window closed, already voted
   * otherwise)
   */
  async vote(
    collective: string,
    proposal: number,
    yes: boolean,
  ): Promise<VoteOutcome & CollectiveChange> {
    return this.#collectives.vote(collective, proposal, yes);
  }

  /**
   * Enacts a proposal whose yes votes meet its threshold (`vote` usually already did), with the
   * collective `before` and `after`.
   * @throws `NOT_MEMBER`, `COLLECTIVE_RULE` (not enough yes votes, no open proposal)
   */
  async enact(collective: string, proposal: number): Promise<VoteOutcome & CollectiveChange> {
    return this.#collectives.enact(collective, proposal);
  }

  /**
   * Leaves a collective (a member), or withdraws a join request (a candidate).
   * @throws `NOT_MEMBER` when neither
   */
  async leave(collective: string): Promise<void> {
    return this.#collectives.leave(collective);
  }

  /**
   * Signs a message to a collective once and seals it once, its key sealed to each current member
   * but you (their registered box keys, from the synced, verified log), within the Operator's
   * size limit. Sends nothing. A member whose key cannot be sealed to is in `failed`.
   * @returns `sealed: undefined` and `recipients: 0` when nobody else is a member
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `EMPTY_MESSAGE`, `LETTER_TOO_LARGE`
   */
  async prepareCollectiveMessage(
    collective: string,
    text: string,
    options: PrepareOptions = {},
  ): Promise<PreparedCollectiveMessage> {
    return this.#collectives.prepare(collective, text, options);
  }

  /**
   * Seals a prepared message again (same id, time and text) for the members of now, after a
   * re-sync: for `COLLECTIVE_CONFLICT`, the membership having changed before the Operator took it.
   * @returns `undefined` when nobody else is a member any more (nothing to send)
   * @throws `NOT_MEMBER` (you left or were removed), `USAGE` (not your message),
   * `LETTER_TOO_LARGE`
   */
  async resealCollectiveMessage(
    message: CollectiveMessage,
  ): Promise<ResealedCollectiveMessage | undefined> {
    return this.#collectives.reseal(message);
  }

  /**
   * Sends a message to every current member but you, as
   * {@link KomradeClient.prepareCollectiveMessage} seals it. Re-seals after a re-sync when
   * membership changed meanwhile. Kept locally, so the conversation reads complete.
   * @returns `recipients: 0` when nobody else is a member: nothing is sent (nor kept)
   * @throws `NOT_MEMBER`, `EMPTY_MESSAGE`, `LETTER_TOO_LARGE`
   */
  async sendToCollective(collective: string, text: string): Promise<SentCollectiveMessage> {
    return this.#collectives.send(collective, text);
  }

  /** A collective's messages kept here, oldest first. Local only. */
  collectiveMessages(collective: string): ReceivedCollectiveMessage[] {
    return this.#collectives.messages(collective);
  }

  /** Collectives you created, joined or asked to join. Local only. */
  collectives(): string[] {
    return this.#collectives.names();
  }

  /**
   * Your admissions not told yet, read from the verified logs of the collectives you asked to join
   * (whoever vouched, from whichever client). Call {@link admissionTold} once one is shown.
   */
  async collectiveAdmissions(): Promise<AdmissionNotice[]> {
    return this.#collectives.admissions();
  }

  /** Remembers that an admission was shown, so it is not reported again. */
  admissionTold(notice: AdmissionNotice): void {
    this.#collectives.told(notice);
  }

  /**
   * Opens and checks one collective message (a fetched letter with a `body`): its sender's
   * signature against their registered key, and, in the verified log (synced when needed), that
   * the sender and you are both current members. Does not store it.
   * @param letter - the fetched letter: its Operator `id` (the ratchet keeps what it opened under
   * it until acknowledged), its key envelope (`sealed`) and the shared `body`
   * @param receivedAt - when this machine downloaded it
   * @returns the message, or why it must not be shown (`LETTER_INVALID`, `NOT_MEMBER`,
   * `COLLECTIVE_INVALID`); throws only what may be temporary (e.g. `OPERATOR_UNREACHABLE`), so the
   * caller does not acknowledge a message it could not check
   */
  async openCollectiveLetter(
    letter: { readonly id: Uint8Array; readonly sealed: Uint8Array; readonly body: Uint8Array },
    receivedAt: number,
  ): Promise<Result<ReceivedCollectiveMessage>> {
    const opened = await this.#collectives.open(letter, receivedAt);
    return opened.ok ? ok(this.#collectives.view(opened.value)) : opened;
  }
}
