/**
 * `Ratchet`: one identity's pairwise sessions (libsignal: PQXDH for first contact, then the Double
 * Ratchet). It encrypts a signed letter for a peer (starting a session from their prekey bundle
 * when there is none) and decrypts one from a peer, committing each step's state in one store
 * transaction. Steps run one at a time per identity, so a send and a fetch never race on a
 * session. Peers' identity keys are their registered ratchet keys, never learned from messages.
 */
import {
  CiphertextMessageType,
  ErrorCode,
  KEMPublicKey,
  LibSignalErrorBase,
  PreKeyBundle,
  PreKeySignalMessage,
  PublicKey,
  SignalMessage,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  type IdentityKeyPair,
} from '@signalapp/libsignal-client';
import { blake2b, type IdentityKeys } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  bytesEqual,
  type PrekeyBundle,
  type PrekeyUpload,
  type RatchetMessageType,
} from '../../common/wire/index.js';
import { KeyedLock } from '../core/keyed-lock.js';
import {
  ONE_TIME_PREKEY_BATCH,
  ONE_TIME_PREKEY_LOW_WATER,
  lastResortPrekeys,
  newOneTimePrekeys,
} from './prekey-keeper.js';
import { owned, ratchetIdentityOf } from './ratchet-identity.js';
import { DEVICE_ID, REGISTRATION_ID, RatchetStep, addressOf } from './ratchet-step.js';
import type { RatchetStore } from './ratchet-store.js';

/** A peer as its verified receipt names it. */
export interface RatchetPeer {
  readonly name: string;
  /** The registered ratchet key; `null` for a name registered before forward secrecy. */
  readonly ratchetKey: Uint8Array | null;
}

/** A ratchet message, as letters v2 carry it. */
export interface RatchetMessage {
  readonly type: RatchetMessageType;
  readonly msg: Uint8Array;
  /**
   * Set on the first message of a session that replaced one the sender had with this peer (a
   * restored backup, or a session that could not open a letter): the recipient is told.
   */
  readonly renewed?: true;
}

/**
 * What decrypting gave:
 * - `opened`: the plaintext; `reset` when it started a new session replacing one the peer had
 *   (they lost theirs or restored a backup: the user is told)
 * - `duplicate`: a message (or a first message) seen before: a re-delivery or a replay
 * - `untrusted`: made with an identity key that is not the peer's registered one
 * - `undecryptable`: no session opens it (lost or restored on this side): a new session heals it
 */
export type RatchetOpened =
  | { readonly status: 'opened'; readonly plaintext: Uint8Array; readonly reset: boolean }
  | { readonly status: 'duplicate' | 'untrusted' | 'undecryptable' };

/** What {@link Ratchet} needs. */
export interface RatchetDeps {
  readonly store: RatchetStore;
  readonly keys: IdentityKeys;
  /** This identity's registered name. */
  readonly self: () => string;
  /** Fetches a peer's prekey bundle (anonymously, for one token). */
  readonly fetchBundle: (name: string) => Promise<PrekeyBundle>;
  readonly now: () => number;
}

const SERIAL = 'ratchet';
/** Prekey bundles {@link Ratchet.encryptMany} fetches at once. */
const BUNDLE_FETCHES_AT_ONCE = 8;
// libsignal's CiphertextMessage.type() is a plain number.
const PREKEY_MESSAGE: number = CiphertextMessageType.PreKey;

const noRatchetKey = (name: string) =>
  new KomradeError(
    'KEY_INVALID',
    `@${name} registered before forward secrecy and has not published a ratchet key yet: they need to open Komrade once.`,
  );

const forgedBundle = (name: string, cause: unknown) =>
  new KomradeError(
    'OPERATOR_ERROR',
    `The Operator answered a prekey bundle for @${name} that their registered key did not sign: nothing was sent.`,
    { cause },
  );

function isLibSignal(error: unknown, code: ErrorCode): boolean {
  return error instanceof LibSignalErrorBase && error.code === code;
}

/** One identity's pairwise sessions. */
export class Ratchet {
  readonly #deps: RatchetDeps;
  readonly #lock = new KeyedLock();
  #identity: IdentityKeyPair | undefined;
  /** Peers restarted without a session (lost here): the next session with them is `renewed`. */
  readonly #renewLost = new Set<string>();

  constructor(deps: RatchetDeps) {
    this.#deps = deps;
  }

  get #me(): IdentityKeyPair {
    this.#identity ??= ratchetIdentityOf(this.#deps.keys);
    return this.#identity;
  }

  #step(peer: RatchetPeer): RatchetStep {
    const keys = new Map<string, Uint8Array>();
    if (peer.ratchetKey !== null) keys.set(peer.name, peer.ratchetKey);
    return new RatchetStep(this.#deps.store, this.#me, keys);
  }

  /**
   * Encrypts `plaintext` for `peer` and commits the step; a first message (`prekey`) when there
   * was no session, after fetching and checking the peer's prekey bundle.
   * @throws `KEY_INVALID` (no ratchet key registered), `OPERATOR_ERROR` (a bundle their key did
   * not sign), what fetching a bundle throws (`PREKEYS_MISSING`, `TOKENS_EXHAUSTED`…)
   */
  async encrypt(peer: RatchetPeer, plaintext: Uint8Array): Promise<RatchetMessage> {
    if (peer.ratchetKey === null) throw noRatchetKey(peer.name);
    const [result] = await this.encryptMany([peer], plaintext);
    if (result === undefined) throw new Error('encryptMany answered nothing');
    if ('error' in result) throw result.error;
    return result;
  }

  /**
   * Encrypts `plaintext` for each of `peers` (a collective message's content key, to each member)
   * under one lock and with ONE store commit: a fan-out to 1,000 members is one transaction, not
   * 1,000. Sessions to start are started first, a few bundle fetches at a time. A peer that
   * cannot be encrypted for gets its error in its place (what {@link Ratchet.encrypt} throws);
   * the others go on. Names must be distinct.
   */
  async encryptMany(
    peers: readonly RatchetPeer[],
    plaintext: Uint8Array,
  ): Promise<(RatchetMessage | { readonly error: unknown })[]> {
    return this.#lock.run(SERIAL, async () => {
      const keys = new Map<string, Uint8Array>();
      for (const peer of peers) if (peer.ratchetKey !== null) keys.set(peer.name, peer.ratchetKey);
      const step = new RatchetStep(this.#deps.store, this.#me, keys);
      const now = new Date(this.#deps.now());
      const failed = new Map<string, unknown>();
      const renewed = new Set<string>();
      const starting: RatchetPeer[] = [];
      for (const peer of peers) {
        if (peer.ratchetKey === null) {
          failed.set(peer.name, noRatchetKey(peer.name));
          continue;
        }
        const session = step.session(peer.name);
        if (session !== undefined && session.hasCurrentState(now)) continue;
        starting.push(peer);
        // Replacing a session (archived, or lost: see restart): the peer is told.
        if (session !== undefined || this.#renewLost.has(peer.name)) renewed.add(peer.name);
      }
      // Each start waits for a bundle from the Operator: several at once (each writes only its
      // own peer's session in the step).
      let next = 0;
      const starter = async (): Promise<void> => {
        for (let peer = starting[next++]; peer !== undefined; peer = starting[next++]) {
          try {
            await this.#startSession(step, peer);
          } catch (error) {
            failed.set(peer.name, error);
          }
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(BUNDLE_FETCHES_AT_ONCE, starting.length) }, starter),
      );
      const results: (RatchetMessage | { readonly error: unknown })[] = [];
      for (const peer of peers) {
        const error = failed.get(peer.name);
        if (failed.has(peer.name)) {
          results.push({ error });
          continue;
        }
        try {
          const message = await signalEncrypt(
            owned(plaintext),
            addressOf(peer.name),
            addressOf(this.#deps.self()),
            step.sessionStore,
            step.identityStore,
            now,
          );
          results.push({
            type: message.type() === PREKEY_MESSAGE ? 'prekey' : 'message',
            msg: message.serialize(),
            ...(renewed.has(peer.name) ? { renewed: true as const } : {}),
          });
        } catch (error) {
          results.push({ error });
        }
      }
      this.#deps.store.commitRatchet(step.changes());
      results.forEach((result, i) => {
        const name = peers[i]?.name;
        if (name !== undefined && !('error' in result)) this.#renewLost.delete(name);
      });
      return results;
    });
  }

  async #startSession(step: RatchetStep, peer: RatchetPeer): Promise<void> {
    const ratchetKey = peer.ratchetKey;
    if (ratchetKey === null) throw noRatchetKey(peer.name);
    const wire = await this.#deps.fetchBundle(peer.name);
    let bundle: PreKeyBundle;
    try {
      const oneTime = wire.oneTimePrekey;
      bundle = PreKeyBundle.new(
        REGISTRATION_ID,
        DEVICE_ID,
        oneTime?.id ?? null,
        oneTime === undefined ? null : PublicKey.deserialize(owned(oneTime.publicKey)),
        wire.signedPrekey.id,
        PublicKey.deserialize(owned(wire.signedPrekey.publicKey)),
        owned(wire.signedPrekey.signature),
        // The registered key, not one the Operator could choose: its signatures must hold.
        PublicKey.deserialize(owned(ratchetKey)),
        wire.kyberPrekey.id,
        KEMPublicKey.deserialize(owned(wire.kyberPrekey.publicKey)),
        owned(wire.kyberPrekey.signature),
      );
      await processPreKeyBundle(
        bundle,
        addressOf(peer.name),
        addressOf(this.#deps.self()),
        step.sessionStore,
        step.identityStore,
        new Date(this.#deps.now()),
      );
    } catch (cause) {
      throw forgedBundle(peer.name, cause);
    }
  }

  /**
   * Ends the current session with `peer`, keeping it archived so letters already on their way
   * still open: the next letter to them starts a new session, marked `renewed`.
   */
  async restart(peer: RatchetPeer): Promise<void> {
    await this.#lock.run(SERIAL, () => {
      const step = this.#step(peer);
      const record = step.session(peer.name);
      if (record !== undefined) {
        record.archiveCurrentState();
        step.setSession(peer.name, record);
        this.#deps.store.commitRatchet(step.changes());
      } else {
        // No session to archive (deleted, or lost with its store): they must still be told.
        this.#renewLost.add(peer.name);
      }
      return Promise.resolve();
    });
  }

  /**
   * Decrypts a ratchet message from `peer` and commits the step together with the opened letter
   * (kept until the Operator deleted it: fetched again before, it is answered from the store).
   * @param operatorId - the Operator's id of the waiting letter
   * @param sealed - the sealed letter's bytes (bind the kept plaintext to exactly this letter)
   */
  async decrypt(
    peer: RatchetPeer,
    message: RatchetMessage,
    operatorId: Uint8Array,
    sealed: Uint8Array,
  ): Promise<RatchetOpened> {
    if (peer.ratchetKey === null) return { status: 'untrusted' };
    return this.#lock.run(SERIAL, async () => {
      const digest = blake2b(sealed, 32);
      const kept = this.#deps.store.openedRatchetLetter(operatorId);
      if (kept !== undefined && bytesEqual(kept.digest, digest)) {
        return { status: 'opened', plaintext: kept.plaintext, reset: kept.reset };
      }
      const step = this.#step(peer);
      // A renewed first message replaces a session we had: the user is told (once per session).
      const reset = message.renewed === true && step.session(peer.name) !== undefined;
      let plaintext: Uint8Array;
      // A first message's own bytes, remembered once opened: the same bytes again are a replay;
      // other bytes naming spent prekeys are a session this side lost (a reset heals it).
      const firstSeen = message.type === 'prekey' ? blake2b(message.msg, 32) : undefined;
      try {
        if (message.type === 'prekey') {
          // Every first message until the peer hears back names the same prekeys: libsignal
          // continues the session they started, and reads a spent prekey only for a new one.
          const prekeyMessage = PreKeySignalMessage.deserialize(owned(message.msg));
          plaintext = await signalDecryptPreKey(
            prekeyMessage,
            addressOf(peer.name),
            addressOf(this.#deps.self()),
            step.sessionStore,
            step.identityStore,
            step.preKeyStore,
            step.signedPreKeyStore,
            step.kyberPreKeyStore,
          );
        } else {
          plaintext = await signalDecrypt(
            SignalMessage.deserialize(owned(message.msg)),
            addressOf(peer.name),
            addressOf(this.#deps.self()),
            step.sessionStore,
            step.identityStore,
          );
        }
      } catch (error) {
        if (step.replayed) {
          const seen = firstSeen !== undefined && this.#deps.store.firstMessageSeen(firstSeen);
          return { status: seen ? 'duplicate' : 'undecryptable' };
        }
        if (isLibSignal(error, ErrorCode.DuplicatedMessage)) return { status: 'duplicate' };
        if (isLibSignal(error, ErrorCode.UntrustedIdentity)) return { status: 'untrusted' };
        return { status: 'undecryptable' };
      }
      this.#deps.store.commitRatchet({
        ...step.changes(),
        opened: { operatorId, digest, plaintext, reset },
        ...(firstSeen === undefined ? {} : { firstSeen }),
      });
      return { status: 'opened', plaintext, reset };
    });
  }

  /** Forgets opened letters the Operator has deleted (their plaintext is stored elsewhere now). */
  forgetOpened(operatorIds: readonly Uint8Array[]): void {
    if (operatorIds.length > 0) this.#deps.store.forgetOpenedRatchetLetters(operatorIds);
  }

  /**
   * What to publish at the Operator: the signed and Kyber prekeys (made on first use), and a
   * batch of one-time prekeys when `oneTimeLeft` is low (or unknown: pass `undefined` to ask with
   * an upload of only the last-resort keys first).
   */
  prekeysToPublish(oneTimeLeft: number | undefined): PrekeyUpload {
    const lastResort = lastResortPrekeys(this.#deps.store, this.#me, this.#deps.now());
    const oneTimePrekeys = this.oneTimePrekeysToPublish(oneTimeLeft);
    return oneTimePrekeys === undefined ? lastResort : { ...lastResort, oneTimePrekeys };
  }

  /** A new batch of one-time prekeys when `oneTimeLeft` is low; `undefined` when not needed. */
  oneTimePrekeysToPublish(oneTimeLeft: number | undefined): PrekeyUpload['oneTimePrekeys'] {
    if (oneTimeLeft === undefined || oneTimeLeft >= ONE_TIME_PREKEY_LOW_WATER) return undefined;
    const room = Math.min(ONE_TIME_PREKEY_BATCH, ONE_TIME_PREKEY_BATCH * 2 - oneTimeLeft);
    return newOneTimePrekeys(this.#deps.store, room);
  }
}
