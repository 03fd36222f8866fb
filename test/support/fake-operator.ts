/**
 * An in-memory `OperatorClient` that follows the protocol with real crypto (receipts, sealed
 * posts and feed pages), so the engine can be unit-tested without a network. The contract in
 * test/integration/operator-client-contract.ts holds it to the real Operator's answers and codes.
 */
import {
  CollectiveLog,
  collectivePowBytes,
  decodeCollectiveEvent,
  type SealedCollectiveMessage,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import {
  blake2b,
  blindEvaluate,
  evaluate,
  generateIdentityKeys,
  generateOprfKeyPair,
  type IdentityKeys,
  type OprfKeyPair,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  MemoryMerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  noteSigner,
  rootHash,
  signCheckpoint,
} from '../../common/transparency/index.js';
import {
  CLOCK_SKEW_MS,
  acceptedTokenEpochs,
  bytesEqual,
  isSealedSizeClass,
  tokenEpochEnd,
  tokenEpochInfo,
  tokenEpochOf,
  checkProofOfWork,
  claimBytesForPow,
  MAX_LOG_ENTRIES,
  receiptLeaf,
  registryOrigin,
  isCanonicalName,
  openSealedPost,
  parseName,
  parseNewName,
  sealFeedPage,
  signReceipt,
  verifyClaimProof,
  type CollectiveHead,
  type OneTimePrekey,
  type OperatorInfo,
  type PrekeyBundle,
  type PrekeyBundleRequest,
  type PrekeyUpload,
  type PrekeyUploadAnswer,
  type RatchetKeyRequest,
  type Receipt,
  type RegisterRequest,
  type SignedPost,
  type TokenIssueResponse,
  verifyPost,
} from '../../common/wire/index.js';
import type {
  AnonymousLetter,
  CollectiveLogPage,
  FeedPageRequest,
  FetchedLetters,
  FetchOptions,
  MailWaitOptions,
  MailWaitResult,
  OperatorClient,
  OutgoingLetter,
  PostedToFeed,
  RequestSigner,
  SentAnonymously,
  SentToCollective,
  WaitingLetter,
} from '../../client/index.js';

/** What {@link FakeOperator.send} answers (a test helper, not part of the port). */
export interface SentLetters {
  readonly ids: readonly Uint8Array[];
  readonly receivedAt: number;
}

/** Runs `fn` as an Operator call: its result resolves, what it throws rejects. */
function answer<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

const DAY_MS = 86_400_000;

/** What an aborted wait rejects with: the signal's reason, as `HttpOperatorClient` does. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** A pending `waitForMail`: the mailboxes it watches and how to wake it. */
interface Waiter {
  readonly names: readonly string[];
  readonly wake: (ready: string[]) => void;
}

/** One collective as the fake Operator keeps it: the rule engine plus the events it accepted. */
interface FakeCollective {
  readonly log: CollectiveLog;
  readonly events: SignedCollectiveEvent[];
  lastAt: number;
}

/** A fake Operator plus handles to inspect and bend it in tests. */
export class FakeOperator implements OperatorClient {
  readonly keys: IdentityKeys = generateIdentityKeys();
  readonly feed: IdentityKeys = generateIdentityKeys();
  readonly receipts = new Map<string, Receipt>();
  readonly mailboxes = new Map<string, WaitingLetter[]>();
  readonly posts: SignedPost[] = [];
  /** Letters returned per fetch, to exercise the `more` loop. */
  fetchLimit = 2;
  powBits = 4;
  readonly collectives = new Map<string, FakeCollective>();
  /** The POPRF key tokens are issued under (announced as `tokenKey`). */
  tokenKeys: OprfKeyPair = generateOprfKeyPair();
  tokensPerDay = 500;
  /**
   * Sealed lengths must be a size class, as the real Operator checks (turn off only for tests of
   * something else that seal odd sizes by hand).
   */
  sizeClasses = true;
  /** Most one-time prekeys held per name, and handed out per name and hour (the config's). */
  maxOneTimePrekeys = 500;
  oneTimePrekeysPerHour = 20;
  /** Prekeys per name, as uploaded (one-time ones leave when handed out). */
  readonly prekeys = new Map<
    string,
    {
      signedPrekey?: PrekeyBundle['signedPrekey'];
      kyberPrekey?: PrekeyBundle['kyberPrekey'];
      oneTime: OneTimePrekey[];
      handouts: { hour: number; handed: number };
    }
  >();
  /** Every anonymous send accepted, in order (as the Operator saw it: no sender). */
  readonly anonymousSends: AnonymousLetter[] = [];
  /** Tokens issued per `name:epoch`. */
  readonly #issued = new Map<string, number>();
  /** Spent tokens per `epoch:input`, with the hash of the letter they paid for and its id. */
  readonly #spent = new Map<string, { readonly letter: string; readonly id: Uint8Array }>();
  readonly #waiters = new Set<Waiter>();
  #counter = 0;
  /**
   * The registry log: one leaf per receipt signed (a registration, a ratchet key update), in
   * order. A receipt a test puts in {@link FakeOperator.receipts} by hand is appended the first
   * time it is answered, so every receipt answered carries a proof, as the Operator's do.
   */
  readonly log = new MemoryMerkleTree();
  /** The log's receipts (without proofs), leaf by leaf. */
  readonly logReceipts: Receipt[] = [];
  readonly #leafIndex = new Map<string, number>();

  constructor(readonly now: () => number = () => 1_700_000_000_000) {}

  #id(): Uint8Array {
    const id = new Uint8Array(16);
    new DataView(id.buffer).setUint32(0, ++this.#counter);
    return id;
  }

  /** Like the Operator's authentication: an unregistered signer is an unknown name. */
  #signed(signer: RequestSigner): Receipt {
    const receipt = this.receipts.get(signer.name);
    if (receipt === undefined) throw new KomradeError('NAME_UNKNOWN', 'unknown signer');
    return receipt;
  }

  /** Files a letter and wakes the waits watching its mailbox. */
  #deposit(to: string, letter: WaitingLetter): void {
    const box = this.mailboxes.get(to) ?? [];
    box.push(letter);
    this.mailboxes.set(to, box);
    for (const waiter of this.#waiters) if (waiter.names.includes(to)) waiter.wake([to]);
  }

  /** Appends `receipt` to the log unless it is there already; @returns its leaf index. */
  #logLeaf(receipt: Receipt): number {
    const bare = { ...receipt };
    delete bare.proof;
    const leaf = leafHash(receiptLeaf(bare));
    const key = Buffer.from(leaf).toString('hex');
    const known = this.#leafIndex.get(key);
    if (known !== undefined) return known;
    this.log.append(leaf);
    this.logReceipts.push(bare);
    this.#leafIndex.set(key, this.log.size - 1);
    return this.log.size - 1;
  }

  /** The signed checkpoint of the log at `size` leaves. */
  checkpointAt(size: number = this.log.size): string {
    const origin = registryOrigin(this.keys.signPublic);
    return signCheckpoint(
      { origin, size, rootHash: rootHash(this.log, size), extensions: [] },
      noteSigner(origin, this.keys),
    );
  }

  /** `receipt` as the Operator answers it: with its proof at the log's current size. */
  #proven(receipt: Receipt): Receipt {
    const bare = { ...receipt };
    delete bare.proof;
    const index = this.#logLeaf(bare);
    const size = this.log.size;
    return {
      ...bare,
      proof: {
        index,
        size,
        hashes: inclusionProof(this.log, index, size),
        checkpoint: this.checkpointAt(size),
      },
    };
  }

  logCheckpoint(): Promise<string> {
    return answer(() => this.checkpointAt());
  }

  /** Like the Operator: `0 < from <= to <= size`, else BAD_REQUEST. */
  logConsistency(from: number, to: number): Promise<readonly Uint8Array[]> {
    return answer(() => {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
        throw new KomradeError('BAD_REQUEST', 'sizes must be integers');
      }
      if (from < 1 || from > to || to > this.log.size) {
        throw new KomradeError('BAD_REQUEST', 'the log cannot prove these sizes');
      }
      return consistencyProof(this.log, from, to);
    });
  }

  /**
   * Like the Operator: leaves `start` to `end - 1` (`start < end`, at most MAX_LOG_ENTRIES, start
   * at most the size); an end beyond the size is cut to it.
   */
  logEntries(start: number, end: number): Promise<readonly Receipt[]> {
    return answer(() => {
      if (
        !Number.isSafeInteger(start) ||
        !Number.isSafeInteger(end) ||
        start < 0 ||
        start >= end ||
        start > this.log.size ||
        end - start > MAX_LOG_ENTRIES
      ) {
        throw new KomradeError('BAD_REQUEST', 'no such range of the log');
      }
      return this.logReceipts.slice(start, Math.min(end, this.log.size));
    });
  }

  info(): Promise<OperatorInfo> {
    return Promise.resolve({
      version: 2,
      signKey: this.keys.signPublic,
      feedKey: this.feed.boxPublic,
      tokenKey: this.tokenKeys.publicKey,
      tokensPerDay: this.tokensPerDay,
      powBits: this.powBits,
      limits: {
        sealedLetterBytes: 65_536,
        batchLetters: 64,
        requestBytes: 1_000_000,
        maxPostDays: 30,
        feedPageSize: 50,
        fetchLetters: 100,
      },
    });
  }

  register(request: RegisterRequest): Promise<Receipt> {
    const name = parseNewName(request.name);
    if (!name.ok) return Promise.reject(name.error);
    if (name.value !== request.name) {
      return Promise.reject(new KomradeError('NAME_INVALID', 'send the folded name'));
    }
    const claim = {
      name: name.value,
      signKey: request.signKey,
      boxKey: request.boxKey,
      keyHolder: request.keyHolder,
      ratchetKey: request.ratchetKey ?? null,
    };
    // Like the Operator: only names registered before ratchet keys lack one.
    if (claim.ratchetKey === null) {
      return Promise.reject(
        new KomradeError('KEY_INVALID', 'a new registration needs a ratchet key'),
      );
    }
    if (!verifyClaimProof(claim, request.pop)) {
      return Promise.reject(new KomradeError('BAD_SIGNATURE', 'bad proof of possession'));
    }
    if (!checkProofOfWork(claimBytesForPow(claim), request.pow, this.powBits)) {
      return Promise.reject(new KomradeError('BAD_PROOF_OF_WORK', 'bad pow'));
    }
    if (this.receipts.has(claim.name) || this.collectives.has(claim.name)) {
      return Promise.reject(new KomradeError('NAME_TAKEN', 'taken'));
    }
    const receipt = signReceipt({ ...claim, registeredAt: this.now() }, this.keys.signSecret);
    this.receipts.set(claim.name, receipt);
    return Promise.resolve(this.#proven(receipt));
  }

  lookup(input: string): Promise<Receipt> {
    const name = parseName(input);
    if (!name.ok) return Promise.reject(name.error);
    const receipt = this.receipts.get(name.value);
    return receipt === undefined
      ? Promise.reject(new KomradeError('NAME_UNKNOWN', 'unknown'))
      : Promise.resolve(this.#proven(receipt));
  }

  /** Like the Operator: once per name, the same key again answers the stored receipt. */
  setRatchetKey(signer: RequestSigner, request: RatchetKeyRequest): Promise<Receipt> {
    return answer(() => {
      const receipt = this.#signed(signer);
      if (receipt.ratchetKey !== null) {
        if (bytesEqual(receipt.ratchetKey, request.ratchetKey)) return this.#proven(receipt);
        throw new KomradeError('RATCHET_KEY_SET', 'a ratchet key is set already');
      }
      const claim = { ...receipt, ratchetKey: request.ratchetKey };
      if (!verifyClaimProof(claim, request.pop)) {
        throw new KomradeError('BAD_SIGNATURE', 'bad proof of possession');
      }
      const updated = signReceipt(
        {
          name: claim.name,
          signKey: claim.signKey,
          boxKey: claim.boxKey,
          keyHolder: claim.keyHolder,
          ratchetKey: claim.ratchetKey,
          registeredAt: claim.registeredAt,
        },
        this.keys.signSecret,
      );
      this.receipts.set(receipt.name, updated);
      return this.#proven(updated);
    });
  }

  /** Like the Operator: replaces signed and Kyber prekeys, adds new one-time ones, all or none. */
  uploadPrekeys(signer: RequestSigner, upload: PrekeyUpload): Promise<PrekeyUploadAnswer> {
    return answer(() => {
      this.#signed(signer);
      const held = this.prekeys.get(signer.name) ?? {
        oneTime: [],
        handouts: { hour: 0, handed: 0 },
      };
      const added = upload.oneTimePrekeys ?? [];
      if (added.length > 100) throw new KomradeError('BAD_REQUEST', 'at most 100 one-time prekeys');
      const replace = upload.replaceOneTime === true;
      const ids = new Set(replace ? [] : held.oneTime.map((key) => key.id));
      for (const key of added) {
        if (ids.has(key.id)) throw new KomradeError('PREKEY_ID_USED', `id ${key.id} is held`);
        ids.add(key.id);
      }
      if ((replace ? 0 : held.oneTime.length) + added.length > this.maxOneTimePrekeys) {
        throw new KomradeError('PREKEYS_FULL', 'too many one-time prekeys');
      }
      if (replace) held.oneTime.length = 0;
      if (upload.signedPrekey !== undefined) held.signedPrekey = upload.signedPrekey;
      if (upload.kyberPrekey !== undefined) held.kyberPrekey = upload.kyberPrekey;
      held.oneTime.push(...added);
      held.oneTime.sort((a, b) => a.id - b.id);
      this.prekeys.set(signer.name, held);
      return {
        oneTimeLeft: held.oneTime.length,
        signedPrekey: held.signedPrekey !== undefined,
        kyberPrekey: held.kyberPrekey !== undefined,
      };
    });
  }

  /** Like the Operator: token, name, prekeys; one one-time prekey per bundle, within the hour's. */
  fetchPrekeyBundle(request: PrekeyBundleRequest): Promise<PrekeyBundle> {
    return answer(() => {
      const { name, token } = request;
      this.#checkToken(token);
      if (!isCanonicalName(name)) throw new KomradeError('NAME_INVALID', 'bad name');
      if (!this.receipts.has(name)) throw new KomradeError('NAME_UNKNOWN', 'unknown');
      const held = this.prekeys.get(name);
      const { signedPrekey, kyberPrekey } = held ?? {};
      if (held === undefined || signedPrekey === undefined || kyberPrekey === undefined) {
        throw new KomradeError('PREKEYS_MISSING', `@${name} has not published prekeys yet.`);
      }
      const bundle = { name, signedPrekey, kyberPrekey };
      const spentKey = `${token.epoch}:${Buffer.from(token.input).toString('hex')}`;
      const spent = this.#spent.get(spentKey);
      if (spent !== undefined) {
        if (spent.letter !== `bundle:${name}`) throw new KomradeError('TOKEN_SPENT', 'spent');
        return bundle;
      }
      this.#spent.set(spentKey, { letter: `bundle:${name}`, id: new Uint8Array(0) });
      const hour = Math.floor(this.now() / 3_600_000);
      if (held.handouts.hour !== hour) held.handouts = { hour, handed: 0 };
      if (held.handouts.handed >= this.oneTimePrekeysPerHour) return bundle;
      const oneTimePrekey = held.oneTime.shift();
      if (oneTimePrekey === undefined) return bundle;
      held.handouts.handed++;
      return { ...bundle, oneTimePrekey };
    });
  }

  /** Like the Operator: a token of an accepted epoch whose output this key computes. */
  #checkToken(token: AnonymousLetter['token']): void {
    if (!acceptedTokenEpochs(this.now()).includes(token.epoch)) {
      throw new KomradeError('TOKEN_INVALID', 'a token of an epoch not accepted now');
    }
    const expected = evaluate(
      { mode: 'POPRF', info: tokenEpochInfo(token.epoch) },
      this.tokenKeys.secretKey,
      token.input,
    );
    if (!bytesEqual(expected, token.output)) {
      throw new KomradeError('TOKEN_INVALID', 'a forged token');
    }
  }

  /** Like the Operator: the current epoch only, within the day's allowance, refused whole above it. */
  issueTokens(
    signer: RequestSigner,
    blinded: readonly Uint8Array[],
    epoch: number,
  ): Promise<TokenIssueResponse> {
    return answer(() => {
      this.#signed(signer);
      const now = this.now();
      const current = tokenEpochOf(now);
      if (epoch !== current) {
        throw new KomradeError('TOKEN_INVALID', `Tokens are issued for epoch ${current} only.`);
      }
      const key = `${signer.name}:${epoch}`;
      const issued = this.#issued.get(key) ?? 0;
      const left = Math.max(0, this.tokensPerDay - issued);
      if (blinded.length > left) {
        const hours = Math.ceil((tokenEpochEnd(epoch) - now) / 3_600_000);
        throw new KomradeError(
          'TOKENS_EXHAUSTED',
          `${left} tokens are left today; more at 00:00 UTC, in ${hours} h.`,
        );
      }
      const { evaluatedElements, proof } = blindEvaluate(
        { mode: 'POPRF', info: tokenEpochInfo(epoch) },
        this.tokenKeys,
        blinded,
      );
      this.#issued.set(key, issued + blinded.length);
      return { epoch, evaluated: [...evaluatedElements], proof, left: left - blinded.length };
    });
  }

  /** Like the Operator: size class, token, recipient; an identical retry answers the same id. */
  sendAnonymously(letter: AnonymousLetter): Promise<SentAnonymously> {
    return answer(() => {
      const { to, sealed, token } = letter;
      if (this.sizeClasses && !isSealedSizeClass(sealed.length)) {
        throw new KomradeError('LETTER_SIZE_CLASS', `${sealed.length} bytes is not a size class.`);
      }
      if (!acceptedTokenEpochs(this.now()).includes(token.epoch)) {
        throw new KomradeError('TOKEN_INVALID', 'a token of an epoch not accepted now');
      }
      const expected = evaluate(
        { mode: 'POPRF', info: tokenEpochInfo(token.epoch) },
        this.tokenKeys.secretKey,
        token.input,
      );
      if (!bytesEqual(expected, token.output)) {
        throw new KomradeError('TOKEN_INVALID', 'a forged token');
      }
      if (!isCanonicalName(to)) throw new KomradeError('NAME_INVALID', 'bad name');
      if (!this.receipts.has(to)) throw new KomradeError('NAME_UNKNOWN', 'unknown');
      const spentKey = `${token.epoch}:${Buffer.from(token.input).toString('hex')}`;
      const letterHash = Buffer.from(blake2b(sealed)).toString('hex') + to;
      const spent = this.#spent.get(spentKey);
      if (spent !== undefined) {
        if (spent.letter !== letterHash) throw new KomradeError('TOKEN_SPENT', 'spent');
        return { id: spent.id, receivedAt: this.now() };
      }
      const id = this.#id();
      this.#spent.set(spentKey, { letter: letterHash, id });
      this.anonymousSends.push(letter);
      this.#deposit(to, { id, sealed, receivedAt: this.now() });
      return { id, receivedAt: this.now() };
    });
  }

  /**
   * Test helper, not part of the port (the signed batch send is gone from the protocol): files
   * letters as if `signer` had sent them, to put mail in a mailbox without tokens.
   */
  send(signer: RequestSigner, letters: readonly OutgoingLetter[]): Promise<SentLetters> {
    return answer(() => {
      this.#signed(signer);
      // Every recipient is checked before any letter is filed: a refused batch delivers nothing.
      for (const letter of letters) {
        if (!isCanonicalName(letter.to)) throw new KomradeError('NAME_INVALID', 'bad name');
        if (!this.receipts.has(letter.to)) throw new KomradeError('NAME_UNKNOWN', 'unknown');
      }
      const ids = letters.map((letter) => {
        const id = this.#id();
        this.#deposit(letter.to, { id, sealed: letter.sealed, receivedAt: this.now() });
        return id;
      });
      return { ids, receivedAt: this.now() };
    });
  }

  /** Like the Operator: deletes the signer's letters among `ack` first, then reads. */
  fetch(signer: RequestSigner, options: FetchOptions = {}): Promise<FetchedLetters> {
    return answer(() => {
      this.#signed(signer);
      const ack = options.ack ?? [];
      const deleted = ack.length === 0 ? undefined : this.#delete(signer.name, ack);
      const box = this.mailboxes.get(signer.name) ?? [];
      const n = Math.min(options.limit ?? this.fetchLimit, this.fetchLimit);
      return {
        letters: box.slice(0, n),
        more: box.length > n,
        ...(deleted === undefined ? {} : { deleted }),
      };
    });
  }

  /** Answers at once when mail waits, else on the next deposit, or `ready: []` after `waitMs`. */
  waitForMail(
    signers: readonly RequestSigner[],
    options: MailWaitOptions,
  ): Promise<MailWaitResult> {
    return new Promise<MailWaitResult>((resolve, reject) => {
      const { signal } = options;
      if (signers.length === 0) {
        reject(new KomradeError('BAD_REQUEST', 'A wait for mail needs at least one mailbox.'));
        return;
      }
      if (signal?.aborted === true) {
        reject(abortReason(signal));
        return;
      }
      const names = signers.map((s) => s.name);
      try {
        if (new Set(names).size !== names.length) {
          throw new KomradeError('BAD_REQUEST', 'a mailbox named twice');
        }
        for (const signer of signers) this.#signed(signer);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const ready = names.filter((n) => (this.mailboxes.get(n)?.length ?? 0) > 0);
      if (ready.length > 0) {
        resolve({ ready });
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        names,
        wake: (woken) => {
          done();
          resolve({ ready: woken });
        },
      };
      const onAbort = () => {
        done();
        if (signal !== undefined) reject(abortReason(signal));
      };
      const timer = setTimeout(() => {
        waiter.wake([]);
      }, options.waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  ack(signer: RequestSigner, ids: readonly Uint8Array[]): Promise<number> {
    return answer(() => {
      this.#signed(signer);
      return this.#delete(signer.name, ids);
    });
  }

  #delete(name: string, ids: readonly Uint8Array[]): number {
    const box = this.mailboxes.get(name) ?? [];
    const gone = new Set(ids.map((id) => Buffer.from(id).toString('hex')));
    const kept = box.filter((l) => !gone.has(Buffer.from(l.id).toString('hex')));
    this.mailboxes.set(name, kept);
    return box.length - kept.length;
  }

  /** Like the Operator: the author must be the signer and sign it; it expires `days` from now. */
  post(signer: RequestSigner, sealed: Uint8Array): Promise<PostedToFeed> {
    return answer(() => {
      const author = this.#signed(signer);
      const opened = openSealedPost(sealed, this.feed.boxPublic, this.feed.boxSecret);
      if (!opened.ok) throw opened.error;
      const { post } = opened.value;
      if (post.from !== signer.name || !verifyPost(opened.value, author.signKey)) {
        throw new KomradeError('BAD_SIGNATURE', 'not signed by the sender');
      }
      if (Math.abs(post.postedAt - this.now()) > CLOCK_SKEW_MS) {
        throw new KomradeError('POST_INVALID', 'post time too far from now');
      }
      this.posts.unshift({ signed: opened.value.signed, sig: opened.value.sig });
      return { id: post.id, expiresAt: this.now() + post.days * DAY_MS };
    });
  }

  feedPage(signer: RequestSigner, request: FeedPageRequest = {}): Promise<Uint8Array> {
    return answer(() => this.#feedPage(this.#signed(signer), request));
  }

  #feedPage(reader: Receipt, request: FeedPageRequest): Uint8Array {
    const start = request.before === undefined ? 0 : Number(request.before);
    const size = request.limit ?? 50;
    const posts = this.posts.slice(start, start + size);
    const next = start + size < this.posts.length ? String(start + size) : null;
    return sealFeedPage({ posts, next }, reader.boxKey);
  }

  #collective(name: string): FakeCollective {
    const found = this.collectives.get(name);
    if (found === undefined) throw new KomradeError('NAME_UNKNOWN', 'no such collective');
    return found;
  }

  #head(name: string, c: FakeCollective): CollectiveHead {
    return { collective: name, length: c.log.length, head: c.log.head, lastAt: c.lastAt };
  }

  /** Checks and appends like the real Operator: actor, clock window, head, then the rules. */
  #append(signer: RequestSigner, c: FakeCollective, event: SignedCollectiveEvent): void {
    const decoded = decodeCollectiveEvent(event.signed);
    if (!decoded.ok) throw new KomradeError('BAD_REQUEST', 'malformed event');
    if (decoded.value.actor !== signer.name) {
      throw new KomradeError('BAD_REQUEST', 'the signer must be the actor');
    }
    if (Math.abs(decoded.value.at - this.now()) > CLOCK_SKEW_MS) {
      throw new KomradeError('CLOCK_SKEW', 'event time too far from now');
    }
    if (decoded.value.seq !== c.log.length || !bytesEqual(decoded.value.prev, c.log.head)) {
      throw new KomradeError('COLLECTIVE_CONFLICT', 'stale head');
    }
    const appended = c.log.append(event);
    if (!appended.ok) throw new KomradeError('COLLECTIVE_RULE', appended.error.message);
    c.events.push(event);
    c.lastAt = decoded.value.at;
  }

  createCollective(
    signer: RequestSigner,
    genesis: SignedCollectiveEvent,
    pow: Uint8Array,
  ): Promise<CollectiveHead> {
    return answer(() => {
      this.#signed(signer);
      const decoded = decodeCollectiveEvent(genesis.signed);
      if (!decoded.ok) throw new KomradeError('BAD_REQUEST', 'malformed genesis');
      const name = decoded.value.collective;
      if (!checkProofOfWork(collectivePowBytes(genesis.signed), pow, this.powBits)) {
        throw new KomradeError('BAD_PROOF_OF_WORK', 'bad pow');
      }
      if (this.collectives.has(name) || this.receipts.has(name)) {
        throw new KomradeError('NAME_TAKEN', 'taken');
      }
      const c: FakeCollective = {
        log: new CollectiveLog({
          keyOf: (n) => this.receipts.get(n)?.signKey,
          keyHolderOf: (n) => this.receipts.get(n)?.keyHolder,
          boxKeyOf: (n) => this.receipts.get(n)?.boxKey,
        }),
        events: [],
        lastAt: 0,
      };
      this.#append(signer, c, genesis);
      this.collectives.set(name, c);
      return this.#head(name, c);
    });
  }

  appendEvent(signer: RequestSigner, event: SignedCollectiveEvent): Promise<CollectiveHead> {
    return answer(() => {
      this.#signed(signer);
      const decoded = decodeCollectiveEvent(event.signed);
      if (!decoded.ok) throw new KomradeError('BAD_REQUEST', 'malformed event');
      const c = this.#collective(decoded.value.collective);
      this.#append(signer, c, event);
      return this.#head(decoded.value.collective, c);
    });
  }

  collectiveHead(signer: RequestSigner, collective: string): Promise<CollectiveHead> {
    return answer(() => {
      this.#signed(signer);
      return this.#head(collective, this.#collective(collective));
    });
  }

  collectiveLog(
    signer: RequestSigner,
    collective: string,
    from: number,
    limit = 1_000,
  ): Promise<CollectiveLogPage> {
    return answer(() => {
      this.#signed(signer);
      const c = this.#collective(collective);
      const state = c.log.state();
      if (!c.log.isMember(signer.name) && !state.pending.some((p) => p.candidate === signer.name)) {
        throw new KomradeError('NOT_MEMBER', 'members and candidates only');
      }
      const events = c.events.slice(from, from + limit);
      const names = new Set<string>();
      for (const e of events) {
        const d = decodeCollectiveEvent(e.signed);
        if (!d.ok) continue;
        names.add(d.value.actor);
        const body = d.value.body as Record<string, unknown>;
        for (const value of Object.values(body)) {
          if (typeof value === 'string' && this.receipts.has(value)) names.add(value);
          if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') names.add(v);
        }
      }
      const receipts = [...names].flatMap((n) => {
        const r = this.receipts.get(n);
        return r === undefined ? [] : [this.#proven(r)];
      });
      return { collective, from, events, length: c.events.length, receipts };
    });
  }

  sendToCollective(
    signer: RequestSigner,
    collective: string,
    sealed: SealedCollectiveMessage,
  ): Promise<SentToCollective> {
    return answer(() => {
      this.#signed(signer);
      const c = this.#collective(collective);
      for (const key of sealed.keys) {
        if (key.to === signer.name)
          throw new KomradeError('BAD_REQUEST', 'the sender gets no copy');
      }
      if (!c.log.isMember(signer.name)) throw new KomradeError('NOT_MEMBER', 'members only');
      const expected = c.log
        .state()
        .members.filter((m) => m !== signer.name)
        .sort();
      const named = sealed.keys.map((k) => k.to).sort();
      if (expected.join() !== named.join()) {
        throw new KomradeError('COLLECTIVE_CONFLICT', 'recipients are not the current members');
      }
      const id = this.#id();
      for (const key of sealed.keys) {
        const letter = { id: this.#id(), sealed: key.sealed, receivedAt: this.now() };
        this.#deposit(key.to, { ...letter, body: sealed.body });
      }
      return { id, receivedAt: this.now(), recipients: sealed.keys.length };
    });
  }
}
