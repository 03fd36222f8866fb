/**
 * `BridgeEngine`: runs Komrade for many chat users at once. It holds one identity per chat user,
 * seals everything they write before it is queued (letters and collective messages alike), sends
 * through a BullMQ outbox, polls each identity's mail on a schedule, and shows every letter and
 * collective message in the chat before acknowledging it at the Operator, so none is lost and none
 * is shown twice.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  checkCollectiveMessage,
  type CollectiveMessage,
  type Constitution,
  type ProposalChange,
} from '../../common/collectives/index.js';
import {
  AEAD_KEY_BYTES,
  generateIdentityKeys,
  isValidBoxKey,
  randomBytes,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import {
  ID_BYTES,
  MAX_LETTER_TEXT_BYTES,
  MAX_POST_BODY_BYTES,
  fromBase64url,
  openLetter,
  parseName,
  sealLetter,
  toBase64url,
  verifyLetter,
  type AdapterKeyHolder,
  type KeyHolder,
  type Letter,
  type LetterKind,
} from '../../common/wire/index.js';
import type { ChatNotice, ChatSurface } from '../chat-surface/chat-surface.js';
import type {
  CollectiveView,
  ProposalView,
  SentCollectiveMessage,
  VoteOutcome,
  VouchOutcome,
} from '../../client/index.js';
import {
  KomradeClient,
  type CreateCollectiveOptions,
  type RegisterOptions,
} from '../../client/index.js';
import { isLetterTooOld } from '../../client/index.js';
import { checkMessageText, refuseSelfLetter } from '../../client/index.js';
import { isRecipientFault, recipientFailure } from '../../client/index.js';
import type {
  FollowersPost,
  KomradeProfile,
  RecipientFailure,
  SentLetter,
} from '../../client/index.js';
import type { BridgeStore, Delivery, HeldIdentity } from '../identity-vault/bridge-store.js';
import { PROCESSED_LETTER_RETENTION_MS } from '../../client/index.js';
import { SqliteLocalStore } from '../../client/index.js';
import type { OperatorClient, RequestSigner, WaitingLetter } from '../../client/index.js';
import type { EnvelopeCodec } from '../queue/envelope-codec.js';
import { decodeJob, queueNames, type JobPayloads, type QueueRole } from '../queue/jobs.js';
import { decodeCollectiveContent, encodeCollectiveContent } from './collective-content.js';
import { openIdentityBackup, sealIdentityBackup } from './identity-backup.js';
import { sealForMembers } from './collective-fanout.js';

/** Codes that no retry can fix: the job fails at once and the user is told. */
const PERMANENT = new Set<string>([
  'BAD_SIGNATURE',
  'NAME_UNKNOWN',
  'NAME_INVALID',
  'LETTER_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'BAD_REQUEST',
  'AUTH_REQUIRED',
  'NOT_REGISTERED',
  'DECODE_FAILED',
  'OPERATOR_KEY_CHANGED',
  'IDENTITY_GONE',
  'LETTER_INVALID',
  'EMPTY_MESSAGE',
  'KEY_INVALID',
  'NOT_MEMBER',
  'COLLECTIVE_RULE',
  'COLLECTIVE_INVALID',
]);

/** Seals again at most this many times in one run of a job before backing off. */
const MAX_RESEALS = 3;

/** Letters fetched per poll; more wait for the next poll (unacknowledged ones come first). */
const FETCH_LIMIT = 100;

/** What {@link BridgeEngine} is built from; the adapter's composition root supplies each. */
export interface BridgeEngineDeps {
  readonly store: BridgeStore;
  readonly surface: ChatSurface;
  /** A Redis connection with `maxRetriesPerRequest: null`; the engine does not close it. */
  readonly connection: Redis;
  /** Prefix of the queue names and Redis keys (one per deployment, one per test). */
  readonly queuePrefix: string;
  readonly codec: EnvelopeCodec;
  /**
   * The Operator client of one identity. `isolationKey` is the identity's opaque id: give each its
   * own Tor circuit (SOCKS isolation) so the Operator cannot link identities by circuit.
   */
  readonly operatorFor: (isolationKey: string) => OperatorClient;
  /** Folder for the identities' letter stores. */
  readonly dataDir: string;
  /**
   * The kind of adapter holding the identities' keys (`telegram`, `discord`). Every registration
   * claims it, signed, so peers can see that this adapter's host holds the keys.
   */
  readonly keyHolder: AdapterKeyHolder;
  readonly now: () => number;
  readonly logger: Logger;
  /** How often each identity's mail is fetched. @defaultValue 30000 */
  readonly pollIntervalMs?: number;
  /** Parallel jobs per worker. @defaultValue `{ outbox: 8, poll: 4, deliver: 64 }` */
  readonly concurrency?: Partial<Record<QueueRole, number>>;
  /** The Operator's URL, written into backups so `komrade restore` can use them. */
  readonly operatorUrl?: string;
  /** Argon2id cost of the backups users ask for. @defaultValue `KDF_MODERATE` */
  readonly backupKdf?: KdfParams;
}

/** An identity as the adapter shows it. */
export interface IdentitySummary {
  readonly id: string;
  readonly name: string | null;
}

const OUTBOX_JOB = {
  attempts: 12,
  backoff: { type: 'custom' },
  removeOnComplete: true,
  removeOnFail: true,
} as const;

interface Session {
  readonly held: HeldIdentity;
  readonly local: SqliteLocalStore;
  readonly operator: OperatorClient;
  readonly client: KomradeClient;
}

const backoff = (attemptsMade: number) => Math.min(30_000, 250 * 2 ** Math.max(0, attemptsMade));

const codeOf = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (error.name === 'UnrecoverableError' && /^[A-Z_]+$/.test(error.message)) {
      return error.message;
    }
  }
  return 'INTERNAL';
};

/** Turns a failure into what BullMQ should do: give up (permanent) or retry with backoff. */
function forQueue(error: unknown): Error {
  const code = codeOf(error);
  if (PERMANENT.has(code)) return new UnrecoverableError(code);
  return error instanceof Error ? error : new Error(code);
}

/** The same floor as `komrade backup`. */
const MIN_BACKUP_PASSPHRASE_LENGTH = 8;

function refuseShortPassphrase(passphrase: string): void {
  if (Array.from(passphrase.trim()).length < MIN_BACKUP_PASSPHRASE_LENGTH) {
    throw new KomradeError(
      'USAGE',
      `Choose a backup passphrase of at least ${MIN_BACKUP_PASSPHRASE_LENGTH} characters (a few words is best); nothing was written.`,
    );
  }
}

function nameOrThrow(input: string): string {
  const parsed = parseName(input);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/**
 * The engine. Call {@link BridgeEngine.start} once, then drive it from a chat adapter.
 *
 * @example
 * ```ts
 * const engine = new BridgeEngine({ store, surface, connection, queuePrefix: 'komrade', codec,
 *   operatorFor, dataDir, keyHolder: 'telegram', now: Date.now, logger });
 * await engine.start();
 * const id = engine.createIdentity('telegram:42', '42');
 * await engine.register(id, 'alice');
 * ```
 */
export class BridgeEngine {
  readonly #deps: BridgeEngineDeps;
  readonly #names: Readonly<Record<QueueRole, string>>;
  readonly #sessions = new Map<string, Session>();
  readonly #queues: { [K in QueueRole]: Queue<JobPayloads[K]> };
  readonly #workers: Worker[] = [];
  readonly #pollIntervalMs: number;
  /**
   * Names this run's delivery jobs. A job left "active" by a crashed run stays locked in Redis
   * until BullMQ's stall check frees it; a new id lets this run deliver at once, and the ledger
   * (plus {@link BridgeEngine.#inFlight}) makes the stale job a no-op when it runs later.
   */
  readonly #runId = toBase64url(randomBytes(6));
  readonly #inFlight = new Set<string>();
  /** Each identity's last follow or unfollow time, so the next is strictly later. */
  readonly #lastStatementAt = new Map<string, number>();
  /** Notices sent on the side of a command (never retried); awaited by {@link BridgeEngine.close}. */
  readonly #courtesies = new Set<Promise<void>>();
  #started = false;

  constructor(deps: BridgeEngineDeps) {
    this.#deps = deps;
    this.#names = queueNames(deps.queuePrefix);
    this.#pollIntervalMs = deps.pollIntervalMs ?? 30_000;
    const opts = { connection: deps.connection, prefix: deps.queuePrefix };
    this.#queues = {
      outbox: new Queue<JobPayloads['outbox']>(this.#names.outbox, opts),
      poll: new Queue<JobPayloads['poll']>(this.#names.poll, opts),
      deliver: new Queue<JobPayloads['deliver']>(this.#names.deliver, opts),
    };
    for (const queue of Object.values(this.#queues)) {
      // Redis going away is expected (ioredis reconnects); say so in the log, without detail.
      queue.on('error', (error: Error) => {
        deps.logger.warn('bridge.queue_error', { code: codeOf(error) });
      });
    }
    mkdirSync(join(deps.dataDir, 'identities'), { recursive: true, mode: 0o700 });
  }

  /** Starts the workers, requeues letters fetched but not yet shown, and schedules polling. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { connection, queuePrefix, concurrency = {} } = this.#deps;
    const common = {
      connection,
      prefix: queuePrefix,
      settings: { backoffStrategy: backoff },
    };
    const outbox = new Worker<JobPayloads['outbox']>(
      this.#names.outbox,
      (job, token, signal) => this.#processOutbox(job, token, signal),
      { ...common, concurrency: concurrency.outbox ?? 8 },
    );
    outbox.on('failed', (job, error) => {
      if (job === undefined) return;
      const gaveUp =
        error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      if (gaveUp) void this.#tellSendFailed(job.data, codeOf(error));
    });
    const poll = new Worker<JobPayloads['poll']>(
      this.#names.poll,
      (job, token, signal) => this.#processPoll(job, token, signal),
      { ...common, concurrency: concurrency.poll ?? 4 },
    );
    const deliver = new Worker<JobPayloads['deliver']>(
      this.#names.deliver,
      (job, token, signal) => this.#processDeliver(job, token, signal),
      { ...common, concurrency: concurrency.deliver ?? 64 },
    );
    for (const worker of [outbox, poll, deliver]) {
      worker.on('error', (error) => {
        this.#deps.logger.warn('bridge.worker_error', { code: codeOf(error) });
      });
      this.#workers.push(worker);
    }
    // Letters fetched before a crash (or lost from Redis) are queued again from the ledger.
    for (const delivery of this.#deps.store.pendingDeliveries()) {
      await this.#enqueueDelivery(delivery.identity, delivery.id);
    }
    for (const id of this.#deps.store.registeredIdentities()) {
      await this.#schedulePolling(id);
      await this.pollNow(id);
    }
  }

  /** Stops the workers (letting running jobs finish) and closes every store. */
  async close(): Promise<void> {
    await Promise.all(this.#courtesies);
    await Promise.all(this.#workers.map((w) => w.close()));
    await Promise.all(Object.values(this.#queues).map((q) => q.close()));
    for (const session of this.#sessions.values()) session.local.close();
    this.#sessions.clear();
  }

  // ---- identities ----------------------------------------------------------------------------

  /** The identity held for a chat user, if any. */
  identityOf(surfaceUser: string): IdentitySummary | undefined {
    const held = this.#deps.store.identityOfUser(surfaceUser);
    return held === undefined ? undefined : { id: held.id, name: held.name };
  }

  /**
   * Generates a new identity for a chat user, here in the adapter: its keys never leave it.
   * @param chat - where the surface shows this user's letters
   * @throws `KEYSTORE_EXISTS` when the user already has one
   */
  createIdentity(surfaceUser: string, chat: string): string {
    const id = toBase64url(randomBytes(16));
    this.#deps.store.createIdentity(surfaceUser, {
      id,
      keys: generateIdentityKeys(),
      storageKey: randomBytes(AEAD_KEY_BYTES),
      chat,
    });
    return id;
  }

  #session(id: string): Session | undefined {
    const cached = this.#sessions.get(id);
    if (cached !== undefined) return cached;
    const held = this.#deps.store.identity(id);
    if (held === undefined) return undefined;
    const local = new SqliteLocalStore(this.#localPath(id), { storageKey: held.storageKey });
    const operator = this.#deps.operatorFor(id);
    const client = new KomradeClient({
      operator,
      store: local,
      keys: held.keys,
      now: this.#deps.now,
      keyHolder: this.#deps.keyHolder,
    });
    const session = { held, local, operator, client };
    this.#sessions.set(id, session);
    return session;
  }

  #localPath(id: string): string {
    return join(this.#deps.dataDir, 'identities', `${id}.db`);
  }

  #mustSession(id: string): Session {
    const session = this.#session(id);
    if (session === undefined) {
      throw new KomradeError('KEYSTORE_MISSING', 'There is no identity here for you.');
    }
    return session;
  }

  #signer(session: Session): RequestSigner {
    const own = session.local.ownReceipt();
    if (own === undefined) {
      throw new KomradeError('NOT_REGISTERED', 'You have not registered a name yet.');
    }
    return { name: own.name, signSecret: session.held.keys.signSecret };
  }

  /** The engine's client of an identity, for the operations that need no queue. */
  client(id: string): KomradeClient {
    return this.#mustSession(id).client;
  }

  /**
   * Registers a name for an identity (proof of work included) and starts polling its mail.
   * @throws `NAME_INVALID`, `NAME_RESERVED`, `NAME_TAKEN`, `USAGE` when already registered
   */
  async register(id: string, name: string, options: RegisterOptions = {}): Promise<KomradeProfile> {
    const session = this.#mustSession(id);
    const profile = await session.client.register(name, options);
    this.#deps.store.setName(id, profile.name);
    this.#sessions.set(id, { ...session, held: { ...session.held, name: profile.name } });
    await this.#schedulePolling(id);
    return profile;
  }

  /** Destroys an identity: its keys, its letters, its ledger, its polling. Irreversible. */
  async forget(id: string): Promise<void> {
    await this.#queues.poll.removeJobScheduler(`poll-${id}`);
    const session = this.#sessions.get(id);
    session?.local.close();
    this.#sessions.delete(id);
    this.#deps.store.deleteIdentity(id);
    const path = this.#localPath(id);
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }

  // ---- backups -------------------------------------------------------------------------------

  /**
   * A backup of a registered identity (keys, storage key, a copy of its letter store and follow
   * list), sealed under the user's own `passphrase` in the `komrade backup` format. Runs in this
   * process: the passphrase never goes through the queue.
   * @throws `KEYSTORE_MISSING`, `NOT_REGISTERED`, `USAGE` for a passphrase under 8 characters
   */
  async backupIdentity(id: string, passphrase: string): Promise<Uint8Array> {
    const session = this.#mustSession(id);
    this.#signer(session);
    refuseShortPassphrase(passphrase);
    return sealIdentityBackup(
      {
        keys: session.held.keys,
        storageKey: session.held.storageKey,
        localPath: this.#localPath(id),
        following: this.#deps.store.following(id),
        operatorUrl: this.#deps.operatorUrl,
      },
      passphrase,
      {
        now: this.#deps.now,
        ...(this.#deps.backupKdf === undefined ? {} : { kdf: this.#deps.backupKdf }),
      },
    );
  }

  /**
   * Restores a backup (from this bot, another bot of the same kind, or `komrade backup` of an
   * identity such a bot registered) as a chat user's identity, and starts polling its mail. The
   * user's current identity, if any, is destroyed only with `replace` and only once the backup
   * has been checked.
   * @throws `KEYSTORE_EXISTS` when the user has an identity and `replace` is false, or the name is
   * already held here by someone else; `BACKUP_INVALID` (see {@link openIdentityBackup})
   */
  async restoreIdentity(
    surfaceUser: string,
    chat: string,
    file: Uint8Array,
    passphrase: string,
    options: { readonly replace?: boolean } = {},
  ): Promise<IdentitySummary> {
    const existing = this.#deps.store.identityOfUser(surfaceUser);
    if (existing !== undefined && options.replace !== true) {
      throw new KomradeError(
        'KEYSTORE_EXISTS',
        'You already have an identity here; nothing was changed (replacing it takes an explicit confirmation).',
      );
    }
    const id = toBase64url(randomBytes(16));
    const localPath = this.#localPath(id);
    const restored = await openIdentityBackup(file, passphrase, {
      localPath,
      keyHolder: this.#deps.keyHolder,
      operator: this.#deps.operatorFor(id),
    });
    try {
      const holder = this.#deps.store.identityNamed(restored.name);
      if (holder !== undefined && holder !== existing?.id) {
        throw new KomradeError(
          'KEYSTORE_EXISTS',
          `@${restored.name} is already held by this bot for another chat user; nothing was changed.`,
        );
      }
      if (existing !== undefined) await this.forget(existing.id);
      this.#deps.store.createIdentity(surfaceUser, {
        id,
        keys: restored.keys,
        storageKey: restored.storageKey,
        chat,
      });
    } catch (error) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(localPath + suffix, { force: true });
      throw error;
    } finally {
      restored.storageKey.fill(0);
    }
    this.#deps.store.setName(id, restored.name);
    for (const name of restored.following) this.#deps.store.follow(id, name);
    await this.#schedulePolling(id);
    await this.pollNow(id);
    return { id, name: restored.name };
  }

  // ---- letters -------------------------------------------------------------------------------

  /**
   * Signs and seals a letter here, then queues the sealed letter; the outbox hands it to the
   * Operator, retrying while Tor or the Operator are down.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `USAGE` (to yourself),
   * `EMPTY_MESSAGE` (empty or only whitespace), `LETTER_TOO_LARGE`
   */
  async send(id: string, toInput: string, text: string): Promise<SentLetter> {
    const session = this.#mustSession(id);
    const signer = this.#signer(session);
    const to = nameOrThrow(toInput);
    refuseSelfLetter(signer.name, to);
    checkMessageText(text, 'letter', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
    const letter = await this.#queueLetter(id, session, signer.name, to, 'text', text);
    session.local.setContactState(to, 'accepted', this.#deps.now());
    return { id: toBase64url(letter.id), to, sentAt: letter.sentAt };
  }

  /** Signs and seals one letter here; the caller queues the sealed letter. */
  async #sealed(
    session: Session,
    letter: Letter,
  ): Promise<{ readonly to: string; readonly sealed: Uint8Array }> {
    const info = await session.client.operatorInfo();
    const recipient = await session.client.lookup(letter.to);
    const boxKey = fromBase64url(recipient.boxKey);
    if (boxKey === undefined) throw new KomradeError('OPERATOR_ERROR', 'Bad recipient key.');
    if (!isValidBoxKey(boxKey)) {
      throw new KomradeError(
        'KEY_INVALID',
        `@${letter.to}'s registered box key is unsafe (low order): nothing can be sealed to it.`,
      );
    }
    const sealed = sealLetter(letter, session.held.keys.signSecret, boxKey);
    if (sealed.length > info.limits.sealedLetterBytes) {
      throw new KomradeError(
        'LETTER_TOO_LARGE',
        `The sealed letter is ${sealed.length} bytes; this Operator accepts at most ${info.limits.sealedLetterBytes}.`,
      );
    }
    return { to: letter.to, sealed };
  }

  async #queueLetter(
    id: string,
    session: Session,
    from: string,
    to: string,
    kind: LetterKind,
    body: string,
    sentAt = this.#deps.now(),
  ): Promise<Letter> {
    const letter: Letter = {
      v: 1,
      kind,
      from,
      to,
      sentAt,
      id: randomBytes(ID_BYTES),
      body,
    };
    const entry = await this.#sealed(session, letter);
    const envelope = this.#deps.codec.encode(id, entry);
    await this.#queues.outbox.add('outbox', { identity: id, envelope }, OUTBOX_JOB);
    return letter;
  }

  /**
   * Answers what a chat message showed: a letter answers its sender, a collective message its
   * collective.
   * @returns `undefined` when that message showed neither
   */
  async answer(
    id: string,
    surfaceRef: string,
    text: string,
  ): Promise<SentLetter | SentCollectiveMessage | undefined> {
    const delivery = this.#deps.store.deliveryByRef(id, surfaceRef);
    if (delivery === undefined) return undefined;
    if (delivery.collective !== null) return this.sendToCollective(id, delivery.collective, text);
    return this.send(id, delivery.sender, text);
  }

  /** Fetches an identity's mail now (besides its schedule). */
  async pollNow(id: string): Promise<void> {
    await this.#queues.poll.add(
      'poll',
      { identity: id },
      { removeOnComplete: true, removeOnFail: true, attempts: 1 },
    );
  }

  // ---- follows ----------------------------------------------------------------------------

  /**
   * Follows a komrade: queues a sealed `follow` letter to them and keeps them in this identity's
   * follow list, so their posts are shown.
   * @throws `NAME_INVALID`, `NAME_UNKNOWN`, `NOT_REGISTERED`, `USAGE` (following yourself)
   */
  async follow(id: string, input: string): Promise<{ name: string; added: boolean }> {
    const name = await this.#queueBodyless(id, input, 'follow');
    return { name, added: this.#deps.store.follow(id, name) };
  }

  /**
   * Stops following a komrade: queues an `unfollow` letter and drops them from the follow list.
   * @throws `NAME_INVALID`, `NAME_UNKNOWN`, `NOT_REGISTERED`, `USAGE` (unfollowing yourself)
   */
  async unfollow(id: string, input: string): Promise<{ name: string; removed: boolean }> {
    const name = await this.#queueBodyless(id, input, 'unfollow');
    return { name, removed: this.#deps.store.unfollow(id, name) };
  }

  async #queueBodyless(id: string, input: string, kind: 'follow' | 'unfollow'): Promise<string> {
    const session = this.#mustSession(id);
    const signer = this.#signer(session);
    const name = nameOrThrow(input);
    if (name === signer.name) throw new KomradeError('USAGE', `You cannot ${kind} yourself.`);
    // Strictly after this identity's previous follow or unfollow: the recipient keeps the newest.
    const last = this.#lastStatementAt.get(id) ?? 0;
    const sentAt = Math.max(this.#deps.now(), last + 1);
    this.#lastStatementAt.set(id, sentAt);
    await this.#queueLetter(id, session, signer.name, name, kind, '', sentAt);
    return name;
  }

  /** Komrades this identity follows. */
  following(id: string): string[] {
    return this.#deps.store.following(id);
  }

  /** Komrades who follow this identity (blocked ones excluded). */
  followers(id: string): string[] {
    return this.#mustSession(id).client.followers();
  }

  /**
   * Signs and seals a post once per follower, as a `post` letter to each, and queues them all in
   * the outbox. Followers no longer registered are skipped; one whose record or key cannot be
   * used (e.g. a low-order box key) is reported in `failed`, and the others still get the post.
   * @throws `NOT_REGISTERED`, `EMPTY_MESSAGE`, `POST_INVALID` (too long), `LETTER_TOO_LARGE`
   */
  async postToFollowers(id: string, text: string): Promise<FollowersPost> {
    const session = this.#mustSession(id);
    const signer = this.#signer(session);
    checkMessageText(text, 'post', MAX_POST_BODY_BYTES, 'POST_INVALID');
    // Fails here for everyone (Operator unreachable, its key changed), not as one follower's fault.
    await session.client.operatorInfo();
    const letterId = randomBytes(ID_BYTES);
    const sentAt = this.#deps.now();
    const jobs: { name: 'outbox'; data: JobPayloads['outbox']; opts: typeof OUTBOX_JOB }[] = [];
    const sent: string[] = [];
    const skipped: string[] = [];
    const failed: RecipientFailure[] = [];
    for (const to of session.client.followers()) {
      if (to === signer.name) continue;
      let entry: { readonly to: string; readonly sealed: Uint8Array };
      try {
        entry = await this.#sealed(session, {
          v: 1,
          kind: 'post',
          from: signer.name,
          to,
          sentAt,
          id: letterId,
          body: text,
        });
      } catch (error) {
        if (isKomradeError(error, 'NAME_UNKNOWN')) skipped.push(to);
        else if (isRecipientFault(error)) failed.push(recipientFailure(to, error));
        else throw error;
        continue;
      }
      jobs.push({
        name: 'outbox',
        data: { identity: id, envelope: this.#deps.codec.encode(id, entry) },
        opts: OUTBOX_JOB,
      });
      sent.push(to);
    }
    if (jobs.length > 0) await this.#queues.outbox.addBulk(jobs);
    return { id: toBase64url(letterId), sentAt, followers: sent, skipped, failed };
  }

  // ---- collectives ---------------------------------------------------------------------------

  /**
   * Creates a collective with this identity as a founder (proof of work included: see
   * `options.onProgress`).
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_RESERVED`, `NAME_TAKEN`, `COLLECTIVE_RULE`
   */
  async createCollective(
    id: string,
    name: string,
    options: CreateCollectiveOptions = {},
  ): Promise<CollectiveView> {
    return await this.#mustSession(id).client.createCollective(name, options);
  }

  /**
   * Asks to join a collective. Its members held by this adapter are told, so they can vouch.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `COLLECTIVE_RULE` (already a member
   * or already waiting)
   */
  async requestToJoin(id: string, collective: string, note?: string): Promise<CollectiveView> {
    const session = this.#mustSession(id);
    const me = this.#signer(session).name;
    const view = await session.client.requestToJoin(collective, note);
    const quorum = view.pending.find((p) => p.candidate === me)?.quorum ?? 1;
    this.#courtesy(() =>
      this.#notifyHeld(
        view.members.map((m) => m.name),
        id,
        {
          kind: 'collective-join-request',
          collective: view.name,
          candidate: me,
          note: note ?? '',
          quorum,
        },
      ),
    );
    return view;
  }

  /**
   * A collective as of its latest event, synced and verified by this identity's client.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER` (neither member nor candidate),
   * `COLLECTIVE_INVALID` (the log the Operator served breaks a rule)
   */
  async collective(id: string, collective: string): Promise<CollectiveView> {
    return await this.#mustSession(id).client.collective(collective);
  }

  /** The collectives this identity created, joined or asked to join. Local only. */
  collectives(id: string): string[] {
    return this.#mustSession(id).client.collectives();
  }

  /**
   * Vouches for a candidate; the vouch that meets the quorum admits them. The candidate, if this
   * adapter holds them, is told of the vouch; of the admission, by their next poll (polled now).
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `USAGE` (already a member),
   * `COLLECTIVE_RULE` (not pending, or a second vouch)
   */
  async vouch(id: string, collective: string, candidate: string): Promise<VouchOutcome> {
    const session = this.#mustSession(id);
    const me = this.#signer(session).name;
    const name = nameOrThrow(candidate);
    // The client reports a member as admitted (someone may have admitted them meanwhile); a vouch
    // for someone who was already in does nothing, so say so rather than announce it again.
    const before = await session.client.collective(collective);
    if (before.members.some((m) => m.name === name)) {
      throw new KomradeError('USAGE', `@${name} is already a member of @${before.name}.`);
    }
    const outcome = await session.client.vouch(collective, name);
    if (outcome.admitted) {
      // The candidate's poll tells them from the log, as it does when they are admitted elsewhere.
      const held = this.#deps.store.identityNamed(outcome.candidate);
      if (held !== undefined) this.#courtesy(() => this.pollNow(held));
      return outcome;
    }
    this.#courtesy(() =>
      this.#notifyHeld([outcome.candidate], id, {
        kind: 'collective-vouched',
        collective: outcome.collective,
        voucher: me,
        vouches: outcome.vouchers.length,
        quorum: outcome.quorum,
        admitted: outcome.admitted,
      }),
    );
    return outcome;
  }

  /**
   * Proposes a change (a new constitution, or removing a member). The members held by this
   * adapter are told, so they can vote.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `COLLECTIVE_RULE`
   */
  async propose(id: string, collective: string, change: ProposalChange): Promise<ProposalView> {
    const session = this.#mustSession(id);
    const proposal = await session.client.propose(collective, change);
    this.#courtesy(async () => {
      const view = await session.client.collective(collective);
      await this.#notifyHeld(
        view.members.map((m) => m.name),
        id,
        {
          kind: 'collective-proposal',
          collective: view.name,
          proposal: proposal.id,
          proposer: proposal.proposer,
          change: proposal.change,
          inForce: view.constitution,
          closesAt: proposal.closesAt,
        },
      );
    });
    return proposal;
  }

  /**
   * Proposes one rule change, as chat commands express it: `amend` changes some rules of the
   * constitution in force (an amendment carries a whole constitution), `remove` names a member.
   * @returns the proposal, and for an amendment the constitution it changes (to show the difference)
   * @throws as {@link BridgeEngine.propose}
   */
  async proposeRule(
    id: string,
    collective: string,
    request: { readonly amend: Partial<Constitution> } | { readonly remove: string },
  ): Promise<{ readonly proposal: ProposalView; readonly current?: Constitution }> {
    if ('remove' in request) {
      return {
        proposal: await this.propose(id, collective, { action: 'remove', member: request.remove }),
      };
    }
    const current = (await this.collective(id, collective)).constitution;
    const proposal = await this.propose(id, collective, {
      action: 'amend',
      constitution: { ...current, ...request.amend },
    });
    return { proposal, current };
  }

  /**
   * Votes on an open proposal; the vote that meets the threshold enacts it, and then the members
   * held by this adapter (a removed one included) are told.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `COLLECTIVE_RULE` (closed, unknown or
   * a second vote)
   */
  async vote(id: string, collective: string, proposal: number, yes: boolean): Promise<VoteOutcome> {
    const session = this.#mustSession(id);
    // Who to tell if it passes, and what passed: an enacted proposal is no longer open.
    const before = await session.client.collective(collective);
    const outcome = await session.client.vote(collective, proposal, yes);
    const open = before.proposals.find((p) => p.id === proposal);
    if (outcome.enacted && open !== undefined) {
      this.#courtesy(() => this.#tellEnacted(id, before, open));
    }
    return outcome;
  }

  /**
   * Enacts a proposal whose yes votes meet its threshold (a vote does it by itself; this is for a
   * threshold met by members leaving). The members held by this adapter are told.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `COLLECTIVE_RULE` (threshold not met,
   * closed, unknown)
   */
  async enact(id: string, collective: string, proposal: number): Promise<VoteOutcome> {
    const session = this.#mustSession(id);
    const before = await session.client.collective(collective);
    const outcome = await session.client.enact(collective, proposal);
    const open = before.proposals.find((p) => p.id === proposal);
    if (open !== undefined) this.#courtesy(() => this.#tellEnacted(id, before, open));
    return outcome;
  }

  async #tellEnacted(id: string, before: CollectiveView, proposal: ProposalView): Promise<void> {
    await this.#notifyHeld(
      before.members.map((m) => m.name),
      id,
      {
        kind: 'collective-enacted',
        collective: before.name,
        proposal: proposal.id,
        change: proposal.change,
        before: before.constitution,
      },
    );
  }

  /**
   * Leaves a collective (or withdraws a request to join). Rules can never keep anyone in.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`
   */
  async leave(id: string, collective: string): Promise<void> {
    await this.#mustSession(id).client.leave(collective);
  }

  /**
   * Signs a message to every other member and seals it here, once for all (one content key
   * sealed to each member), then queues it; the outbox hands it to the Operator. If the
   * membership changes before it is sent, the outbox seals it again for the members of then. The
   * queue holds it encrypted under the adapter's queue key, the message itself included (to seal
   * it again).
   * @returns `recipients: 0` when nobody else is a member (nothing is queued)
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `EMPTY_MESSAGE` (empty or only
   * whitespace), `LETTER_TOO_LARGE`
   */
  async sendToCollective(
    id: string,
    collectiveInput: string,
    text: string,
  ): Promise<SentCollectiveMessage> {
    const session = this.#mustSession(id);
    const signer = this.#signer(session);
    const collective = nameOrThrow(collectiveInput);
    checkMessageText(text, 'message', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
    const draft = checkCollectiveMessage({
      v: 1,
      collective,
      from: signer.name,
      sentAt: this.#deps.now(),
      id: randomBytes(ID_BYTES),
      text,
    });
    if (!draft.ok) throw draft.error;
    const message = draft.value;
    const sealing = await sealForMembers(session.client, session.held.keys.signSecret, message);
    const sent = { collective, id: toBase64url(message.id), sentAt: message.sentAt };
    if (sealing === undefined) return { ...sent, recipients: 0, failed: [] };
    const { sealed, failed } = sealing;
    const envelope = this.#deps.codec.encodeCollective(id, { message, sealed });
    await this.#queues.outbox.add(
      'collective',
      { identity: id, kind: 'collective', envelope },
      OUTBOX_JOB,
    );
    return { ...sent, recipients: sealed.keys.length - failed.length, failed };
  }

  /** Runs a notice beside a command: its failure is logged, never the command's. */
  #courtesy(work: () => Promise<void>): void {
    const running = work()
      .catch((error: unknown) => {
        this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
      })
      .finally(() => this.#courtesies.delete(running));
    this.#courtesies.add(running);
  }

  /** Tells each of `names` held by this adapter (except identity `except`) `notice`. */
  async #notifyHeld(names: readonly string[], except: string, notice: ChatNotice): Promise<void> {
    for (const name of names) {
      const held = this.#deps.store.identityNamed(name);
      if (held === undefined || held === except) continue;
      const session = this.#session(held);
      if (session === undefined) continue;
      try {
        await this.#deps.surface.notify(session.held.chat, notice);
      } catch (error) {
        this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
      }
    }
  }

  // ---- queue internals -----------------------------------------------------------------------

  async #schedulePolling(id: string): Promise<void> {
    await this.#queues.poll.upsertJobScheduler(
      `poll-${id}`,
      { every: this.#pollIntervalMs },
      {
        name: 'poll',
        data: { identity: id },
        opts: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
      },
    );
  }

  async #enqueueDelivery(identity: string, delivery: string): Promise<void> {
    await this.#queues.deliver.add(
      'deliver',
      { identity, delivery },
      {
        jobId: `d_${delivery}_${this.#runId}`,
        attempts: 20,
        backoff: { type: 'custom' },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  async #processOutbox(
    job: Job<JobPayloads['outbox']>,
    _token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const data = decodeJob('outbox', job.data);
    if ('kind' in data) {
      await this.#processCollectiveOutbox(job, data.identity, data.envelope, signal);
      return;
    }
    const { identity, envelope } = data;
    if (signal?.aborted === true) throw new Error('ABORTED');
    try {
      const session = this.#session(identity);
      if (session === undefined) throw new UnrecoverableError('IDENTITY_GONE');
      const entry = this.#deps.codec.decode(identity, envelope);
      await session.operator.send(this.#signer(session), [entry]);
      this.#deps.logger.debug('bridge.sent', { job: job.id });
      // The recipient is held here too: fetch now rather than at its next scheduled poll.
      const local = this.#deps.store.identityNamed(entry.to);
      if (local !== undefined) await this.pollNow(local);
    } catch (error) {
      this.#deps.logger.warn('bridge.send_failed', {
        job: job.id,
        code: codeOf(error),
        attempt: job.attemptsMade + 1,
      });
      throw forQueue(error);
    }
  }

  /**
   * Hands a sealed collective message to the Operator. When the membership changed since it was
   * sealed (`COLLECTIVE_CONFLICT`), seals it again for the members of now, same id and time, and
   * stores the new sealing in the job, so a restart goes on from there.
   */
  async #processCollectiveOutbox(
    job: Job<JobPayloads['outbox']>,
    identity: string,
    envelope: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted === true) throw new Error('ABORTED');
    try {
      const session = this.#session(identity);
      if (session === undefined) throw new UnrecoverableError('IDENTITY_GONE');
      const signer = this.#signer(session);
      const entry = this.#deps.codec.decodeCollective(identity, envelope);
      const { message } = entry;
      let { sealed } = entry;
      for (let reseals = 0; ; reseals++) {
        try {
          await session.operator.sendToCollective(signer, message.collective, sealed);
          break;
        } catch (error) {
          if (!isKomradeError(error, 'COLLECTIVE_CONFLICT') || reseals >= MAX_RESEALS) throw error;
        }
        const again = await this.#reseal(session, message);
        if (again === undefined) {
          this.#deps.logger.info('bridge.collective_nobody_left', { job: job.id });
          return;
        }
        sealed = again;
        await job.updateData({
          identity,
          kind: 'collective',
          envelope: this.#deps.codec.encodeCollective(identity, { message, sealed }),
        });
        this.#deps.logger.debug('bridge.collective_resealed', { job: job.id });
      }
      this.#deps.logger.debug('bridge.collective_sent', { job: job.id, count: sealed.keys.length });
      // Members held here too: fetch now rather than at their next scheduled poll.
      for (const { to } of sealed.keys) {
        const local = this.#deps.store.identityNamed(to);
        if (local !== undefined) await this.pollNow(local);
      }
    } catch (error) {
      this.#deps.logger.warn('bridge.collective_send_failed', {
        job: job.id,
        code: codeOf(error),
        attempt: job.attemptsMade + 1,
      });
      throw forQueue(error);
    }
  }

  async #reseal(session: Session, message: CollectiveMessage) {
    const sealing = await sealForMembers(session.client, session.held.keys.signSecret, message);
    if (sealing !== undefined && sealing.failed.length > 0) {
      this.#deps.logger.warn('bridge.collective_unsealable', { count: sealing.failed.length });
    }
    return sealing?.sealed;
  }

  async #tellSendFailed(data: JobPayloads['outbox'], code: string): Promise<void> {
    try {
      const decoded = decodeJob('outbox', data);
      const { identity, envelope } = decoded;
      const session = this.#session(identity);
      if (session === undefined) return;
      if ('kind' in decoded) {
        const { message } = this.#deps.codec.decodeCollective(identity, envelope);
        await this.#deps.surface.notify(session.held.chat, {
          kind: 'collective-send-failed',
          collective: message.collective,
          code,
        });
        return;
      }
      const { to } = this.#deps.codec.decode(identity, envelope);
      await this.#deps.surface.notify(session.held.chat, { kind: 'send-failed', to, code });
    } catch (error) {
      this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
    }
  }

  async #processPoll(
    job: Job<JobPayloads['poll']>,
    _token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { identity } = decodeJob('poll', job.data);
    const session = this.#session(identity);
    if (session === undefined) {
      await this.#queues.poll.removeJobScheduler(`poll-${identity}`);
      return;
    }
    if (session.local.ownReceipt() === undefined) return;
    const signer = this.#signer(session);
    await session.client.operatorInfo();
    session.local.pruneProcessed(this.#deps.now() - PROCESSED_LETTER_RETENTION_MS);
    const batch = await session.operator.fetch(signer, FETCH_LIMIT);
    const ackNow: Uint8Array[] = [];
    for (const waiting of batch.letters) {
      if (signal?.aborted === true) break;
      if (waiting.body !== undefined) {
        const outcome = await this.#fetchedCollective(identity, session, waiting, waiting.body);
        if (outcome === 'ack') ackNow.push(waiting.id);
        continue;
      }
      const letter = await this.#verifiedLetter(session, waiting.sealed, signer.name);
      if (letter === undefined || isLetterTooOld(letter.sentAt, this.#deps.now())) {
        // Forged, undecryptable, or too old to tell from a replay: the Operator may forget it.
        ackNow.push(waiting.id);
        continue;
      }
      const state = session.local.contactState(letter.from);
      if (state === 'blocked') {
        // Remembered, so unblocking later does not bring it back if it is delivered again.
        session.local.markProcessed(letter.from, letter.id, letter.sentAt);
        ackNow.push(waiting.id);
        continue;
      }
      let folder: 'inbox' | 'request';
      switch (letter.kind) {
        case 'text':
          folder = state === 'accepted' ? 'inbox' : 'request';
          break;
        case 'post':
          // Shown only from komrades this identity follows: nobody can push posts at a stranger.
          if (!this.#deps.store.following(identity).includes(letter.from)) {
            session.local.markProcessed(letter.from, letter.id, letter.sentAt);
            ackNow.push(waiting.id);
            continue;
          }
          folder = 'inbox';
          break;
        case 'follow':
        case 'unfollow':
          // Recorded durably before the ack; a first contact may follow without being accepted.
          await this.#applyFollow(session, letter);
          ackNow.push(waiting.id);
          continue;
      }
      // A letter processed before is not stored again; the ledger below still finishes a delivery
      // a crash interrupted, and shows nothing for a letter no longer stored.
      session.local.saveLetters([{ letter, folder, receivedAt: this.#deps.now() }]);
      const delivery = this.#deps.store.recordFetched(
        identity,
        letter.from,
        toBase64url(letter.id),
        toBase64url(waiting.id),
      );
      if (delivery.state === 'delivered') ackNow.push(waiting.id);
      else await this.#enqueueDelivery(identity, delivery.id);
    }
    if (ackNow.length > 0) await session.operator.ack(signer, ackNow);
    await this.#tellAdmissions(session);
  }

  /**
   * Tells the chat once of each collective that admitted this identity, read from the verified log,
   * so a candidate hears it whoever vouched and from whichever client (see docs/collectives.md).
   */
  async #tellAdmissions(session: Session): Promise<void> {
    for (const notice of await session.client.collectiveAdmissions()) {
      try {
        await this.#deps.surface.notify(session.held.chat, {
          kind: 'collective-vouched',
          collective: notice.collective,
          voucher: notice.admittedBy,
          vouches: notice.vouchers.length,
          quorum: notice.quorum,
          admitted: true,
        });
      } catch (error) {
        // Not marked as told: the next poll tries again.
        this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
        continue;
      }
      session.client.admissionTold(notice);
    }
  }

  /**
   * Opens and verifies a fetched collective message (sender's signature, membership in the
   * verified log) and records it in the ledger for a `deliver` job.
   * @returns `ack` when the Operator may forget it now (rejected, blocked, or already shown),
   * `queued` when a delivery will show it (and acknowledge it after), `later` to fetch it again
   */
  async #fetchedCollective(
    identity: string,
    session: Session,
    waiting: WaitingLetter,
    body: Uint8Array,
  ): Promise<'ack' | 'queued' | 'later'> {
    let opened;
    try {
      opened = await session.client.openCollectiveLetter(
        { sealed: waiting.sealed, body },
        this.#deps.now(),
      );
    } catch (error) {
      // Only what may pass (the log could not be synced): keep it at the Operator for next time.
      this.#deps.logger.warn('bridge.collective_open_failed', { code: codeOf(error) });
      return 'later';
    }
    if (!opened.ok) {
      // Forged, altered, or from a non-member: nothing to show; the Operator may forget it.
      this.#deps.logger.info('bridge.collective_rejected', { code: opened.error.code });
      return 'ack';
    }
    const message = opened.value;
    if (session.local.contactState(message.from) === 'blocked') return 'ack';
    const delivery = this.#deps.store.recordFetched(
      identity,
      message.from,
      message.id,
      toBase64url(waiting.id),
      {
        collective: message.collective,
        content: encodeCollectiveContent({
          collective: message.collective,
          from: message.from,
          senderKeyHolder: message.fromKeyHolder,
          sentAt: message.sentAt,
          text: message.text,
          id: message.id,
        }),
      },
    );
    if (delivery.state === 'delivered') return 'ack';
    await this.#enqueueDelivery(identity, delivery.id);
    return 'queued';
  }

  async #applyFollow(session: Session, letter: Letter): Promise<void> {
    // Only the newest statement per komrade counts, and a letter id is applied once.
    const outcome = session.local.applyFollowStatement(
      {
        from: letter.from,
        follows: letter.kind === 'follow',
        sentAt: letter.sentAt,
        id: letter.id,
      },
      this.#deps.now(),
    );
    if (outcome !== 'added') return;
    try {
      await this.#deps.surface.notify(session.held.chat, {
        kind: 'new-follower',
        name: letter.from,
      });
    } catch (error) {
      // The follower is recorded; the notice is a courtesy and is not retried.
      this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
    }
  }

  async #verifiedLetter(
    session: Session,
    sealed: Uint8Array,
    myName: string,
  ): Promise<Letter | undefined> {
    const opened = openLetter(sealed, session.held.keys);
    if (!opened.ok) return undefined;
    let signKey: Uint8Array | undefined;
    try {
      signKey = fromBase64url((await session.client.lookup(opened.value.letter.from)).signKey);
    } catch (error) {
      if (isKomradeError(error, 'NAME_UNKNOWN') || isKomradeError(error, 'NAME_INVALID')) {
        return undefined;
      }
      throw error;
    }
    if (signKey === undefined) return undefined;
    const verified = verifyLetter(opened.value, signKey, myName);
    return verified.ok ? verified.value : undefined;
  }

  /**
   * Who holds a sender's keys, from their receipt: cached when the letter was verified, else
   * looked up again (and checked against the pinned Operator key). `null` if they vanished.
   */
  async #keyHolderOf(session: Session, name: string): Promise<KeyHolder | null> {
    const cached = session.local.cachedReceipt(name);
    if (cached !== undefined) return cached.keyHolder;
    try {
      return (await session.client.lookup(name)).keyHolder;
    } catch (error) {
      if (isKomradeError(error, 'NAME_UNKNOWN')) return null;
      throw error;
    }
  }

  async #processDeliver(
    job: Job<JobPayloads['deliver']>,
    _token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { identity, delivery: deliveryId } = decodeJob('deliver', job.data);
    const session = this.#session(identity);
    const delivery = this.#deps.store.delivery(deliveryId);
    if (session === undefined || delivery === undefined) return;
    // One adapter process per queue prefix: within it, never show one letter from two jobs at once.
    if (this.#inFlight.has(deliveryId)) throw new Error('BUSY');
    this.#inFlight.add(deliveryId);
    try {
      await this.#deliver(session, delivery, job, signal);
    } finally {
      this.#inFlight.delete(deliveryId);
    }
  }

  async #deliver(
    session: Session,
    delivery: Delivery,
    job: Job<JobPayloads['deliver']>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const deliveryId = delivery.id;
    if (delivery.state === 'pending') {
      if (signal?.aborted === true) throw new Error('ABORTED');
      const ref =
        delivery.collective === null
          ? await this.#showLetter(session, delivery)
          : await this.#showCollectiveMessage(session, delivery);
      // Shown (or gone meanwhile, e.g. deleted by a block): never show it again.
      this.#deps.store.markDelivered(deliveryId, ref);
      this.#deps.logger.debug('bridge.delivered', { job: job.id });
    }
    const ids = this.#deps.store.delivery(deliveryId)?.operatorIds ?? [];
    if (ids.length === 0) return;
    const bytes = ids.map((o) => fromBase64url(o)).filter((b) => b !== undefined);
    await session.operator.ack(this.#signer(session), bytes);
    this.#deps.store.markAcked(deliveryId, ids);
  }

  /** Shows a stored letter; `null` when it is no longer stored. */
  async #showLetter(session: Session, delivery: Delivery): Promise<string | null> {
    const stored = [
      ...session.local.letters('inbox', delivery.sender),
      ...session.local.letters('request', delivery.sender),
    ].find((s) => toBase64url(s.letter.id) === delivery.letterId);
    if (stored === undefined) return null;
    const { letter } = stored;
    return this.#deps.surface.deliverLetter(session.held.chat, {
      from: letter.from,
      to: letter.to,
      sentAt: letter.sentAt,
      text: letter.body,
      firstContact: stored.folder === 'request',
      senderKeyHolder: await this.#keyHolderOf(session, letter.from),
      post: letter.kind === 'post',
    });
  }

  /** Shows a collective message kept in the ledger; `null` when its content is gone or damaged. */
  async #showCollectiveMessage(session: Session, delivery: Delivery): Promise<string | null> {
    const content = this.#deps.store.deliveryContent(delivery.id);
    if (content === undefined) return null;
    let message;
    try {
      message = decodeCollectiveContent(content);
    } catch (error) {
      // Retrying cannot repair it; showing nothing beats blocking the ledger forever.
      this.#deps.logger.warn('bridge.collective_undecodable', { code: codeOf(error) });
      return null;
    }
    if (session.local.contactState(message.from) === 'blocked') return null;
    return this.#deps.surface.deliverCollectiveMessage(session.held.chat, message);
  }
}
