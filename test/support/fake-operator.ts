/**
 * An in-memory `OperatorClient` that follows the protocol with real crypto (receipts, sealed
 * posts and feed pages), so the engine can be unit-tested without a network.
 */
import { generateIdentityKeys, type IdentityKeys } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  checkProofOfWork,
  claimBytesForPow,
  openSealedPost,
  parseNewName,
  sealFeedPage,
  signReceipt,
  verifyClaimProof,
  type OperatorInfo,
  type Receipt,
  type RegisterRequest,
  type SignedPost,
} from '../../common/wire/index.js';
import type {
  FeedPageRequest,
  FetchedLetters,
  OperatorClient,
  OutgoingLetter,
  PostedToFeed,
  RequestSigner,
  SentLetters,
  WaitingLetter,
} from '../../bridge/index.js';

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
  #counter = 0;

  constructor(readonly now: () => number = () => 1_700_000_000_000) {}

  #id(): Uint8Array {
    const id = new Uint8Array(16);
    new DataView(id.buffer).setUint32(0, ++this.#counter);
    return id;
  }

  #signed(signer: RequestSigner): void {
    if (!this.receipts.has(signer.name)) throw new KomradeError('AUTH_REQUIRED', 'unknown signer');
  }

  info(): Promise<OperatorInfo> {
    return Promise.resolve({
      version: 1,
      signKey: this.keys.signPublic,
      feedKey: this.feed.boxPublic,
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
    const claim = {
      name: name.value,
      signKey: request.signKey,
      boxKey: request.boxKey,
      keyHolder: request.keyHolder,
    };
    if (!verifyClaimProof(claim, request.pop)) {
      return Promise.reject(new KomradeError('BAD_SIGNATURE', 'bad proof of possession'));
    }
    if (!checkProofOfWork(claimBytesForPow(claim), request.pow, this.powBits)) {
      return Promise.reject(new KomradeError('BAD_PROOF_OF_WORK', 'bad pow'));
    }
    if (this.receipts.has(claim.name)) {
      return Promise.reject(new KomradeError('NAME_TAKEN', 'taken'));
    }
    const receipt = signReceipt({ ...claim, registeredAt: this.now() }, this.keys.signSecret);
    this.receipts.set(claim.name, receipt);
    return Promise.resolve(receipt);
  }

  lookup(name: string): Promise<Receipt> {
    const receipt = this.receipts.get(name);
    return receipt === undefined
      ? Promise.reject(new KomradeError('NAME_UNKNOWN', 'unknown'))
      : Promise.resolve(receipt);
  }

  send(signer: RequestSigner, letters: readonly OutgoingLetter[]): Promise<SentLetters> {
    this.#signed(signer);
    const ids: Uint8Array[] = [];
    for (const letter of letters) {
      if (!this.receipts.has(letter.to)) {
        return Promise.reject(new KomradeError('NAME_UNKNOWN', 'unknown'));
      }
      const id = this.#id();
      ids.push(id);
      const box = this.mailboxes.get(letter.to) ?? [];
      box.push({ id, sealed: letter.sealed, receivedAt: this.now() });
      this.mailboxes.set(letter.to, box);
    }
    return Promise.resolve({ ids, receivedAt: this.now() });
  }

  fetch(signer: RequestSigner, limit?: number): Promise<FetchedLetters> {
    this.#signed(signer);
    const box = this.mailboxes.get(signer.name) ?? [];
    const n = Math.min(limit ?? this.fetchLimit, this.fetchLimit);
    return Promise.resolve({ letters: box.slice(0, n), more: box.length > n });
  }

  ack(signer: RequestSigner, ids: readonly Uint8Array[]): Promise<number> {
    this.#signed(signer);
    const box = this.mailboxes.get(signer.name) ?? [];
    const gone = new Set(ids.map((id) => Buffer.from(id).toString('hex')));
    const kept = box.filter((l) => !gone.has(Buffer.from(l.id).toString('hex')));
    this.mailboxes.set(signer.name, kept);
    return Promise.resolve(box.length - kept.length);
  }

  post(signer: RequestSigner, sealed: Uint8Array): Promise<PostedToFeed> {
    this.#signed(signer);
    const opened = openSealedPost(sealed, this.feed.boxPublic, this.feed.boxSecret);
    if (!opened.ok || opened.value.post.from !== signer.name) {
      return Promise.reject(new KomradeError('POST_INVALID', 'bad post'));
    }
    this.posts.unshift({ signed: opened.value.signed, sig: opened.value.sig });
    return Promise.resolve({
      id: this.#id(),
      expiresAt: opened.value.post.postedAt + opened.value.post.days * 86_400_000,
    });
  }

  feedPage(signer: RequestSigner, request: FeedPageRequest = {}): Promise<Uint8Array> {
    this.#signed(signer);
    const reader = this.receipts.get(signer.name);
    if (reader === undefined) return Promise.reject(new KomradeError('AUTH_REQUIRED', 'who?'));
    const start = request.before === undefined ? 0 : Number(request.before);
    const size = request.limit ?? 50;
    const posts = this.posts.slice(start, start + size);
    const next = start + size < this.posts.length ? String(start + size) : null;
    return Promise.resolve(sealFeedPage({ posts, next }, reader.boxKey));
  }
}
