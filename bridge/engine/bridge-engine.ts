/**
 * `BridgeEngine`: runs Komrade for many chat users at once, as a facade over parts with one job
 * each: {@link Sessions} (one client per identity), {@link Outbox} (queues what a client sealed and
 * hands it to the Operator), {@link Inbox} (fetches and triages mail into the delivery ledger),
 * {@link Deliveries} (shows each letter in the chat, then acknowledges it) and {@link Notices}
 * (what chat users are told on the side). So none is lost and none is shown twice.
 */
import type { Redis } from 'ioredis';
import type { Constitution, ProposalChange } from '../../common/collectives/index.js';
import {
  AEAD_KEY_BYTES,
  generateIdentityKeys,
  randomBytes,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { NoteSigner } from '../../common/transparency/index.js';
import { toBase64url, type AdapterKeyHolder } from '../../common/wire/index.js';
import {
  passphraseWeakness,
  type CollectiveView,
  type CreateCollectiveOptions,
  type FollowersPost,
  type KomradeClient,
  type KomradeProfile,
  type OperatorClient,
  type ProposalView,
  type RegisterOptions,
  type SentCollectiveMessage,
  type SentLetter,
  type VoteOutcome,
  type VouchOutcome,
} from '../../client/index.js';
import type { ChatSurface } from '../chat-surface/chat-surface.js';
import type { BridgeStore } from '../identity-vault/bridge-store.js';
import type { EnvelopeCodec } from '../queue/envelope-codec.js';
import type { QueueRole } from '../queue/jobs.js';
import { Deliveries } from './delivery.js';
import { HandledEvents, decodeResult, encodeResult, type EventOptions } from './handled-events.js';
import { openIdentityBackup, sealIdentityBackup } from './identity-backup.js';
import { Inbox } from './inbox.js';
import { MailWatcher } from './mail-watcher.js';
import { moveLegacyFollows } from './legacy-follows.js';
import { Notices } from './notices.js';
import { Outbox, type HandledBy } from './outbox.js';
import { QueueRecovery } from './queue-recovery.js';
import { RegistryWatch, type IdentityVerdict } from './registry-watch.js';
import { PendingAcks } from './pending-acks.js';
import { Sessions, signerOf, type SessionFactory } from './sessions.js';

/** What {@link BridgeEngine} is built from; the adapter's composition root supplies each. */
export interface BridgeEngineDeps {
  readonly store: BridgeStore;
  readonly surface: ChatSurface;
  /** Opens each identity's client on its letter store (see `sqliteSessionFactory`). */
  readonly sessions: SessionFactory;
  /** A Redis connection with `maxRetriesPerRequest: null`; the engine does not close it. */
  readonly connection: Redis;
  /** Prefix of the queue names and Redis keys (one per deployment, one per test). */
  readonly queuePrefix: string;
  readonly codec: EnvelopeCodec;
  /**
   * An Operator client for work that belongs to no open session (checking a backup being
   * restored). `isolationKey` is an opaque id: give each its own Tor circuit (SOCKS isolation).
   */
  readonly operatorFor: (isolationKey: string) => OperatorClient;
  /**
   * The kind of adapter holding the identities' keys (`telegram`, `discord`). Every registration
   * claims it, signed, so peers can see that this adapter's host holds the keys.
   */
  readonly keyHolder: AdapterKeyHolder;
  readonly now: () => number;
  readonly logger: Logger;
  /** How often each identity's mail is fetched. @defaultValue 30000 */
  readonly pollIntervalMs?: number;
  /**
   * Wait for mail instead of polling on a schedule: one waiting request covers up to `groupSize`
   * identities (see {@link MailWatcher}); `pollIntervalMs` is then the fallback for an Operator
   * that cannot wait. Absent: each identity is polled every `pollIntervalMs`.
   */
  readonly mailWatch?: { readonly groupSize: number; readonly waitMs?: number };
  /** Parallel jobs per worker. @defaultValue `{ outbox: 8, poll: 4, deliver: 64 }` */
  readonly concurrency?: Partial<Record<QueueRole, number>>;
  /** The Operator's URL, written into backups so `komrade restore` can use them. */
  readonly operatorUrl?: string;
  /** Argon2id cost of the backups users ask for. @defaultValue `KDF_MODERATE` */
  readonly backupKdf?: KdfParams;
  /** Where Redis is, for the log lines of an outage (an address without the password). */
  readonly redis?: string;
  /**
   * Monitor the registry log over every identity held: at start, then every `everyMs` (0: at start
   * only). Absent: only when a user asks (`verifyMe`).
   */
  /** The registry monitor's interval, and the bot's witness key (cosigns what it verified). */
  readonly registryMonitor?: { readonly everyMs: number; readonly witness?: NoteSigner };
}

/** An identity as the adapter shows it. */
export interface IdentitySummary {
  readonly id: string;
  readonly name: string | null;
}

/** The same rule as `komrade backup`. */
function refuseShortPassphrase(passphrase: string): void {
  const weak = passphraseWeakness(passphrase);
  if (weak !== undefined) throw new KomradeError('USAGE', `${weak} Nothing was written.`);
}

/**
 * The engine. Call {@link BridgeEngine.start} once, then drive it from a chat adapter.
 *
 * @example
 * ```ts
 * const engine = new BridgeEngine({ store, surface, sessions, connection, queuePrefix: 'komrade',
 *   codec, operatorFor, keyHolder: 'telegram', now: Date.now, logger });
 * await engine.start();
 * const id = engine.createIdentity('telegram:42', '42');
 * await engine.register(id, 'alice');
 * ```
 */
export class BridgeEngine {
  readonly #deps: BridgeEngineDeps;
  readonly #sessions: Sessions;
  readonly #acks: PendingAcks;
  readonly #notices: Notices;
  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  readonly #deliveries: Deliveries;
  readonly #watcher: MailWatcher | undefined;
  readonly #events: HandledEvents;
  readonly #recovery: QueueRecovery;
  readonly #registry: RegistryWatch;
  #started = false;

  constructor(deps: BridgeEngineDeps) {
    this.#deps = deps;
    const context = {
      connection: deps.connection,
      prefix: deps.queuePrefix,
      logger: deps.logger,
      // While Redis is away its outage is logged once (lost, back), not on every failed call.
      redisUp: () => this.#recovery.redisUp,
    };
    this.#events = new HandledEvents(deps.store, deps.now);
    this.#sessions = new Sessions(deps.store, deps.sessions);
    this.#notices = new Notices({
      sessions: this.#sessions,
      surface: deps.surface,
      logger: deps.logger,
    });
    this.#acks = new PendingAcks({
      ackAlone: async (identity, ids) => {
        const session = this.#sessions.get(identity);
        if (session === undefined) return;
        await session.operator.ack(signerOf(session), ids);
        // Deleted at the Operator: the ratchet's opened copies are not needed any more.
        session.client.forgetOpened(ids);
      },
      logger: deps.logger,
    });
    this.#deliveries = new Deliveries({
      ...context,
      store: deps.store,
      sessions: this.#sessions,
      surface: deps.surface,
      acks: this.#acks,
    });
    this.#inbox = new Inbox({
      ...context,
      store: deps.store,
      sessions: this.#sessions,
      notices: this.#notices,
      deliver: (identity, delivery) => this.#deliveries.enqueue(identity, delivery),
      now: deps.now,
      pollIntervalMs: deps.pollIntervalMs ?? 30_000,
      watched: deps.mailWatch !== undefined,
      acks: this.#acks,
    });
    this.#watcher =
      deps.mailWatch === undefined
        ? undefined
        : new MailWatcher({
            operatorFor: deps.operatorFor,
            signerOf: (identity) => {
              const session = this.#sessions.get(identity);
              return session?.local.ownReceipt() === undefined ? undefined : signerOf(session);
            },
            onMail: (identity) => this.#inbox.wake(identity),
            groupSize: deps.mailWatch.groupSize,
            ...(deps.mailWatch.waitMs === undefined ? {} : { waitMs: deps.mailWatch.waitMs }),
            fallbackPollMs: deps.pollIntervalMs ?? 30_000,
            logger: deps.logger,
          });
    this.#outbox = new Outbox({
      ...context,
      store: deps.store,
      codec: deps.codec,
      sessions: this.#sessions,
      notices: this.#notices,
      // Recipients held here too: fetch now rather than at their next scheduled poll.
      onSent: async (names) => {
        for (const name of names) {
          const held = deps.store.identityNamed(name);
          if (held !== undefined) await this.#inbox.fetchNow(held);
        }
      },
    });
    this.#registry = new RegistryWatch({
      store: deps.store,
      sessions: this.#sessions,
      operatorFor: deps.operatorFor,
      logger: deps.logger,
      everyMs: deps.registryMonitor?.everyMs ?? 0,
      witness: deps.registryMonitor?.witness,
    });
    this.#recovery = new QueueRecovery({
      ...context,
      adopt: async () => {
        await this.#outbox.adoptLegacyJobs();
      },
      requeue: () => this.#requeueAll(),
      ...(deps.redis === undefined ? {} : { redis: deps.redis }),
    });
  }

  /** Starts the workers, requeues letters fetched but not yet shown, and schedules polling. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { concurrency = {} } = this.#deps;
    moveLegacyFollows(this.#deps.store, this.#sessions, this.#deps.now);
    // One process per queue prefix: what Redis holds from a killed run (jobs left "active",
    // locked until BullMQ's stall check) is dropped, and queued again from the store below.
    await this.#recovery.clear();
    this.#events.prune();
    this.#outbox.start(concurrency.outbox ?? 8);
    this.#inbox.start(concurrency.poll ?? 4);
    this.#deliveries.start(concurrency.deliver ?? 64);
    await this.#recovery.refill();
    this.#watcher?.start(this.#deps.store.registeredIdentities());
    if (this.#deps.registryMonitor !== undefined) this.#registry.start();
  }

  /**
   * Queues again, from the store, everything Redis should hold: sends still in the outbox,
   * letters fetched but not yet shown, each identity's polling and a fetch now. At start, and
   * when Redis came back empty.
   */
  async #requeueAll(): Promise<void> {
    await this.#outbox.requeueAll();
    await this.#deliveries.requeuePending();
    for (const id of this.#deps.store.registeredIdentities()) {
      await this.#inbox.schedule(id);
      // A watcher's first wait answers at once for each mailbox with mail: no circuit per identity.
      if (this.#watcher === undefined) await this.#inbox.fetchNow(id);
    }
  }

  /** Whether the user was given the answer to a platform event (see {@link EventOptions}). */
  eventAnswered(event: string): boolean {
    return this.#events.answered(event);
  }

  /** Notes that the user was given the answer to a platform event; a replay stays silent. */
  markEventAnswered(event: string): void {
    this.#events.markAnswered(event);
  }

  /**
   * Runs an action for a platform event once: a replay of the event (after a crash) gets the
   * first run's result back. For what an adapter does with an identity's client directly (a post
   * to the world feed).
   */
  async once<T>(options: EventOptions, action: () => Promise<T>): Promise<T> {
    return this.#events.once(options.event, action);
  }

  #handled(options: EventOptions, result: unknown): HandledBy | undefined {
    return options.event === undefined
      ? undefined
      : { event: options.event, result: encodeResult(result) };
  }

  /** Stops the workers (letting running jobs finish) and closes every store. */
  async close(): Promise<void> {
    this.#registry.close();
    this.#inbox.releaseWakeups();
    await this.#watcher?.close();
    this.#recovery.close();
    await this.#notices.close();
    await Promise.all([this.#outbox.close(), this.#inbox.close(), this.#deliveries.close()]);
    // No fetch comes any more: what waits for one goes alone, while the sessions are open.
    await this.#acks.close();
    this.#sessions.closeAll();
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

  /** The engine's client of an identity, for the operations that need no queue. */
  client(id: string): KomradeClient {
    return this.#sessions.must(id).client;
  }

  /**
   * Registers a name for an identity (proof of work included) and starts polling its mail.
   * @throws `NAME_INVALID`, `NAME_RESERVED`, `NAME_TAKEN`, `USAGE` when already registered
   */
  async register(id: string, name: string, options: RegisterOptions = {}): Promise<KomradeProfile> {
    const profile = await this.#sessions.must(id).client.register(name, options);
    this.#sessions.setName(id, profile.name);
    await this.#inbox.schedule(id);
    this.#watcher?.add(id);
    return profile;
  }

  /** Destroys an identity: its keys, its letters, its ledger, its polling. Irreversible. */
  async forget(id: string): Promise<void> {
    this.#watcher?.remove(id);
    await this.#inbox.unschedule(id);
    this.#sessions.destroy(id);
  }

  /**
   * "Is my key still mine?": the identity's client checks the Operator's record of its name and
   * the log's consistency, then the bot's monitor checks the whole log over every identity here.
   * @throws `NOT_REGISTERED`, `OPERATOR_UNREACHABLE`, `BAD_SIGNATURE` (a checkpoint not signed by
   * the pinned key)
   */
  async verifyMe(id: string): Promise<IdentityVerdict> {
    const session = this.#sessions.must(id);
    signerOf(session);
    return this.#registry.verify(session);
  }

  // ---- backups -------------------------------------------------------------------------------

  /**
   * A backup of a registered identity (keys, storage key, a copy of its letter store and follow
   * list), sealed under the user's own `passphrase` in the `komrade backup` format. Runs in this
   * process: the passphrase never goes through the queue.
   * @throws `KEYSTORE_MISSING`, `NOT_REGISTERED`, `USAGE` for a passphrase under 8 characters
   */
  async backupIdentity(id: string, passphrase: string): Promise<Uint8Array> {
    const session = this.#sessions.must(id);
    signerOf(session);
    refuseShortPassphrase(passphrase);
    return sealIdentityBackup(
      {
        keys: session.held.keys,
        storageKey: session.held.storageKey,
        localPath: this.#deps.sessions.storePath(id),
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
    const restored = await openIdentityBackup(file, passphrase, {
      localPath: this.#deps.sessions.storePath(id),
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
      this.#deps.sessions.destroy(id);
      throw error;
    } finally {
      restored.storageKey.fill(0);
    }
    this.#deps.store.setName(id, restored.name);
    await this.#inbox.schedule(id);
    await this.pollNow(id);
    this.#watcher?.add(id);
    return { id, name: restored.name };
  }

  // ---- letters -------------------------------------------------------------------------------

  /**
   * Has the identity's client prepare a letter (every check, signed and sealed here), then queues
   * it; the outbox hands it to the Operator, retrying while Tor or the Operator are down.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `USAGE` (to yourself),
   * `EMPTY_MESSAGE` (empty or only whitespace), `LETTER_TOO_LARGE`, `KEY_INVALID`
   */
  async send(
    id: string,
    toInput: string,
    text: string,
    options: EventOptions = {},
  ): Promise<SentLetter> {
    // Handled before a crash, delivered again by the platform: answered as then, queued once.
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as SentLetter;
    const session = this.#sessions.must(id);
    const { letter, to, sealed } = await session.client.prepareLetter(toInput, text);
    const sent = { id: toBase64url(letter.id), to, sentAt: letter.sentAt };
    // The letter and the event it answers are written together: a replay finds both or neither.
    const added = await this.#outbox.queueLetters(
      id,
      [{ to, sealed }],
      this.#handled(options, sent),
    );
    if (!added.added) return decodeResult(added.handled.result) as SentLetter;
    session.local.setContactState(to, 'accepted', this.#deps.now());
    return sent;
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
    options: EventOptions = {},
  ): Promise<SentLetter | SentCollectiveMessage | undefined> {
    const delivery = this.#deps.store.deliveryByRef(id, surfaceRef);
    if (delivery === undefined) return undefined;
    if (delivery.collective !== null) {
      return this.sendToCollective(id, delivery.collective, text, options);
    }
    return this.send(id, delivery.sender, text, options);
  }

  /** Fetches an identity's mail now (besides its schedule). */
  async pollNow(id: string): Promise<void> {
    await this.#inbox.fetchNow(id);
  }

  // ---- follows ----------------------------------------------------------------------------

  /**
   * Follows a komrade: queues a sealed `follow` letter to them and keeps them in this identity's
   * follow list, so their posts are shown.
   * @throws `NAME_INVALID`, `NAME_UNKNOWN`, `NOT_REGISTERED`, `USAGE` (following yourself)
   */
  async follow(
    id: string,
    input: string,
    options: EventOptions = {},
  ): Promise<{ name: string; added: boolean }> {
    const name = await this.#queueStatement(id, input, 'follow', options);
    return { name, added: this.#sessions.must(id).local.addFollowing(name, this.#deps.now()) };
  }

  /**
   * Stops following a komrade: queues an `unfollow` letter and drops them from the follow list.
   * @throws `NAME_INVALID`, `NAME_UNKNOWN`, `NOT_REGISTERED`, `USAGE` (unfollowing yourself)
   */
  async unfollow(
    id: string,
    input: string,
    options: EventOptions = {},
  ): Promise<{ name: string; removed: boolean }> {
    const name = await this.#queueStatement(id, input, 'unfollow', options);
    return { name, removed: this.#sessions.must(id).local.removeFollowing(name) };
  }

  /** Queues a follow or unfollow its client prepared (timed after the identity's previous one). */
  async #queueStatement(
    id: string,
    input: string,
    kind: 'follow' | 'unfollow',
    options: EventOptions,
  ): Promise<string> {
    // A replay queues nothing; the follow list is then set again (a no-op).
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return (replay.result as { to: string }).to;
    const { to, sealed } = await this.#sessions.must(id).client.prepareStatement(input, kind);
    const added = await this.#outbox.queueLetters(
      id,
      [{ to, sealed }],
      this.#handled(options, { to }),
    );
    return added.added ? to : (decodeResult(added.handled.result) as { to: string }).to;
  }

  /** Komrades this identity follows. */
  following(id: string): string[] {
    return this.#sessions.must(id).local.following();
  }

  /** Komrades who follow this identity (blocked ones excluded). */
  followers(id: string): string[] {
    return this.#sessions.must(id).client.followers();
  }

  /**
   * Has the identity's client seal a post once per follower, as a `post` letter to each, and
   * queues them all. Followers no longer registered are skipped; one whose record or key cannot be
   * used (e.g. a low-order box key) is reported in `failed`, and the others still get the post.
   * @throws `NOT_REGISTERED`, `EMPTY_MESSAGE`, `POST_INVALID` (too long), `LETTER_TOO_LARGE`
   */
  async postToFollowers(
    id: string,
    text: string,
    options: EventOptions = {},
  ): Promise<FollowersPost> {
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as FollowersPost;
    const post = await this.#sessions.must(id).client.preparePost(text);
    const entries = post.letters.map(({ to, sealed }) => ({ to, sealed }));
    const result: FollowersPost = {
      id: toBase64url(post.id),
      sentAt: post.sentAt,
      followers: entries.map((e) => e.to),
      skipped: [...post.skipped],
      failed: [...post.failed],
    };
    const added = await this.#outbox.queueLetters(id, entries, this.#handled(options, result));
    return added.added ? result : (decodeResult(added.handled.result) as FollowersPost);
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
    return await this.#sessions.must(id).client.createCollective(name, options);
  }

  /**
   * Asks to join a collective. Its members held by this adapter are told, so they can vouch.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NAME_UNKNOWN`, `COLLECTIVE_RULE` (already a member
   * or already waiting)
   */
  async requestToJoin(
    id: string,
    collective: string,
    note?: string,
    options: EventOptions = {},
  ): Promise<CollectiveView> {
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as CollectiveView;
    const session = this.#sessions.must(id);
    const me = signerOf(session).name;
    const view = await session.client.requestToJoin(collective, note);
    const quorum = view.pending.find((p) => p.candidate === me)?.quorum ?? 1;
    this.#notices.courtesy(() =>
      this.#notices.tellHeld(
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
    return this.#events.done(options.event, view);
  }

  /**
   * A collective as of its latest event, synced and verified by this identity's client.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER` (neither member nor candidate),
   * `COLLECTIVE_INVALID` (the log the Operator served breaks a rule)
   */
  async collective(id: string, collective: string): Promise<CollectiveView> {
    return await this.#sessions.must(id).client.collective(collective);
  }

  /** The collectives this identity created, joined or asked to join. Local only. */
  collectives(id: string): string[] {
    return this.#sessions.must(id).client.collectives();
  }

  /**
   * Vouches for a candidate; the vouch that meets the quorum admits them. The candidate, if this
   * adapter holds them, is told of the vouch; of the admission, by their next poll (polled now).
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `USAGE` (already a member),
   * `COLLECTIVE_RULE` (not pending, or a second vouch)
   */
  async vouch(
    id: string,
    collective: string,
    candidate: string,
    options: EventOptions = {},
  ): Promise<VouchOutcome> {
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as VouchOutcome;
    const session = this.#sessions.must(id);
    const me = signerOf(session).name;
    const outcome = await session.client.vouch(collective, candidate);
    // The client reports a member as admitted (someone may have admitted them meanwhile); a vouch
    // for someone who was already in did nothing, so say so rather than announce it again.
    const { before } = outcome;
    if (before.members.some((m) => m.name === outcome.candidate)) {
      throw new KomradeError(
        'USAGE',
        `@${outcome.candidate} is already a member of @${before.name}.`,
      );
    }
    if (outcome.admitted) {
      // The candidate's fetch tells them from the log, as it does when they are admitted elsewhere.
      const held = this.#deps.store.identityNamed(outcome.candidate);
      if (held !== undefined) this.#notices.courtesy(() => this.pollNow(held));
      return this.#events.done(options.event, outcome);
    }
    this.#notices.courtesy(() =>
      this.#notices.tellHeld([outcome.candidate], id, {
        kind: 'collective-vouched',
        collective: outcome.collective,
        voucher: me,
        vouches: outcome.vouchers.length,
        quorum: outcome.quorum,
        admitted: outcome.admitted,
      }),
    );
    return this.#events.done(options.event, outcome);
  }

  /**
   * Proposes a change (a new constitution, or removing a member). The members held by this
   * adapter are told, so they can vote.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `COLLECTIVE_RULE`
   */
  async propose(id: string, collective: string, change: ProposalChange): Promise<ProposalView> {
    const proposal = await this.#sessions.must(id).client.propose(collective, change);
    // The collective as the proposal left it: whom to tell, and the constitution in force.
    const view = proposal.after;
    this.#notices.courtesy(async () => {
      await this.#notices.tellHeld(
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
    options: EventOptions = {},
  ): Promise<{ readonly proposal: ProposalView; readonly current?: Constitution }> {
    return this.#events.once(options.event, async () => {
      if ('remove' in request) {
        return {
          proposal: await this.propose(id, collective, {
            action: 'remove',
            member: request.remove,
          }),
        };
      }
      const current = (await this.collective(id, collective)).constitution;
      const proposal = await this.propose(id, collective, {
        action: 'amend',
        constitution: { ...current, ...request.amend },
      });
      return { proposal, current };
    });
  }

  /**
   * Votes on an open proposal; the vote that meets the threshold enacts it, and then the members
   * held by this adapter (a removed one included) are told.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `COLLECTIVE_RULE` (closed, unknown or
   * a second vote)
   */
  async vote(
    id: string,
    collective: string,
    proposal: number,
    yes: boolean,
    options: EventOptions = {},
  ): Promise<VoteOutcome> {
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as VoteOutcome;
    const outcome = await this.#sessions.must(id).client.vote(collective, proposal, yes);
    // Who to tell if it passed, and what passed: the view before the vote still has it open.
    const { before } = outcome;
    const open = before.proposals.find((p) => p.id === proposal);
    if (outcome.enacted && open !== undefined) {
      this.#notices.courtesy(() => this.#notices.tellEnacted(id, before, open));
    }
    return this.#events.done(options.event, outcome);
  }

  /**
   * Enacts a proposal whose yes votes meet its threshold (a vote does it by itself; this is for a
   * threshold met by members leaving). The members held by this adapter are told.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`, `COLLECTIVE_RULE` (threshold not met,
   * closed, unknown)
   */
  async enact(
    id: string,
    collective: string,
    proposal: number,
    options: EventOptions = {},
  ): Promise<VoteOutcome> {
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as VoteOutcome;
    const outcome = await this.#sessions.must(id).client.enact(collective, proposal);
    const { before } = outcome;
    const open = before.proposals.find((p) => p.id === proposal);
    if (open !== undefined) {
      this.#notices.courtesy(() => this.#notices.tellEnacted(id, before, open));
    }
    return this.#events.done(options.event, outcome);
  }

  /**
   * Leaves a collective (or withdraws a request to join). Rules can never keep anyone in.
   * @throws `NOT_REGISTERED`, `NAME_INVALID`, `NOT_MEMBER`
   */
  async leave(id: string, collective: string, options: EventOptions = {}): Promise<void> {
    await this.#events.once(options.event, () => this.#sessions.must(id).client.leave(collective));
  }

  /**
   * Has the identity's client sign a message to every other member and seal it, once for all (one
   * content key sealed to each member), then queues it; the outbox hands it to the Operator. If the
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
    options: EventOptions = {},
  ): Promise<SentCollectiveMessage> {
    const replay = this.#events.replay(options.event);
    if (replay !== undefined) return replay.result as SentCollectiveMessage;
    const prepared = await this.#sessions
      .must(id)
      .client.prepareCollectiveMessage(collectiveInput, text);
    const { message, sealed } = prepared;
    const sent = {
      collective: message.collective,
      id: toBase64url(message.id),
      sentAt: message.sentAt,
    };
    // Nobody else is a member yet: nothing to send (the chat says so).
    if (sealed === undefined) {
      const alone = { ...sent, recipients: 0, failed: [] };
      if (options.event !== undefined) this.#events.record(options.event, alone);
      return alone;
    }
    const result = { ...sent, recipients: prepared.recipients, failed: [...prepared.failed] };
    const added = await this.#outbox.queueCollective(
      id,
      { message, sealed },
      this.#handled(options, result),
    );
    return added.added ? result : (decodeResult(added.handled.result) as SentCollectiveMessage);
  }
}
