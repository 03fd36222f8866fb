/**
 * One ratchet step's view of the store, as libsignal's store interfaces: reads come from what this
 * step wrote, else from the committed store; writes stay here until {@link RatchetStep.changes}
 * is committed in one transaction (with the letter they belong to). Peers' identity keys come
 * from their registry receipts, never from a message: a key the registry does not hold for that
 * name is untrusted.
 */
import {
  IdentityChange,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeyStore,
  ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  type IdentityKeyPair,
  type PrivateKey,
} from '@signalapp/libsignal-client';
import { bytesEqual } from '../../common/wire/index.js';
import { owned } from './ratchet-identity.js';
import type { KyberUse, OwnPrekeyKind, RatchetChanges, RatchetStore } from './ratchet-store.js';

/** Every identity here is device 1 with registration id 1: one device per name. */
export const DEVICE_ID = 1;
export const REGISTRATION_ID = 1;

/** The libsignal address of a komrade. */
export const addressOf = (name: string): ProtocolAddress => ProtocolAddress.new(name, DEVICE_ID);

/** Thrown inside libsignal's call when a first message repeats: the step reports a replay. */
export class ReplayedFirstMessage extends Error {
  constructor() {
    super('first message seen before');
    this.name = 'ReplayedFirstMessage';
  }
}

/** A prekey this identity does not hold (a restored store, or a forged id). */
export class MissingPrekey extends Error {
  constructor(kind: OwnPrekeyKind, id: number) {
    super(`no ${kind} prekey ${id}`);
    this.name = 'MissingPrekey';
  }
}

/** The libsignal stores of one step, over a {@link RatchetStore}. */
export class RatchetStep {
  readonly #store: RatchetStore;
  readonly #sessions = new Map<string, Uint8Array>();
  readonly #spentOneTime: number[] = [];
  readonly #kyberUses: KyberUse[] = [];
  /** Set when libsignal met a repeated first message inside this step. */
  replayed = false;

  readonly sessionStore: SessionStore;
  readonly identityStore: IdentityKeyStore;
  readonly preKeyStore: PreKeyStore;
  readonly signedPreKeyStore: SignedPreKeyStore;
  readonly kyberPreKeyStore: KyberPreKeyStore;

  /**
   * @param identity - this identity's ratchet key pair
   * @param peerKeys - each peer's ratchet key as its verified receipt holds it
   */
  constructor(
    store: RatchetStore,
    identity: IdentityKeyPair,
    peerKeys: ReadonlyMap<string, Uint8Array>,
  ) {
    this.#store = store;
    const sessions = this.#sessions;
    const spentOneTime = this.#spentOneTime;
    const kyberUses = this.#kyberUses;
    const replayed = (): never => {
      this.replayed = true;
      throw new ReplayedFirstMessage();
    };
    const sessionOf = (peer: string) => this.session(peer);
    this.sessionStore = new (class extends SessionStore {
      saveSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
        sessions.set(address.name(), record.serialize());
        return Promise.resolve();
      }
      getSession(address: ProtocolAddress): Promise<SessionRecord | null> {
        return Promise.resolve(sessionOf(address.name()) ?? null);
      }
      getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
        return Promise.resolve(
          addresses.map((address) => {
            const record = sessionOf(address.name());
            if (record === undefined) throw new Error(`no session with ${address.name()}`);
            return record;
          }),
        );
      }
    })();
    const trusted = (address: ProtocolAddress, key: PublicKey): boolean => {
      const registered = peerKeys.get(address.name());
      return registered !== undefined && bytesEqual(key.serialize(), registered);
    };
    this.identityStore = new (class extends IdentityKeyStore {
      getIdentityKey(): Promise<PrivateKey> {
        return Promise.resolve(identity.privateKey);
      }
      getLocalRegistrationId(): Promise<number> {
        return Promise.resolve(REGISTRATION_ID);
      }
      // The registry is the record of keys: nothing is learned from messages.
      saveIdentity(address: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
        if (!trusted(address, key)) throw new Error('identity key is not the registered one');
        return Promise.resolve(IdentityChange.NewOrUnchanged);
      }
      // Either direction: the registered key is the only trusted one.
      isTrustedIdentity(address: ProtocolAddress, key: PublicKey): Promise<boolean> {
        return Promise.resolve(trusted(address, key));
      }
      getIdentity(address: ProtocolAddress): Promise<PublicKey | null> {
        const registered = peerKeys.get(address.name());
        return Promise.resolve(
          registered === undefined ? null : PublicKey.deserialize(owned(registered)),
        );
      }
    })();
    this.preKeyStore = new (class extends PreKeyStore {
      savePreKey(): Promise<void> {
        return Promise.reject(new Error('one-time prekeys are saved by the keeper'));
      }
      getPreKey(id: number): Promise<PreKeyRecord> {
        const record = store.ownPrekey('one-time', id);
        if (record === undefined || spentOneTime.includes(id)) {
          if (store.oneTimePrekeySpent(id) || spentOneTime.includes(id)) replayed();
          throw new MissingPrekey('one-time', id);
        }
        return Promise.resolve(PreKeyRecord.deserialize(owned(record)));
      }
      removePreKey(id: number): Promise<void> {
        spentOneTime.push(id);
        return Promise.resolve();
      }
    })();
    this.signedPreKeyStore = new (class extends SignedPreKeyStore {
      saveSignedPreKey(): Promise<void> {
        return Promise.reject(new Error('signed prekeys are saved by the keeper'));
      }
      getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
        const record = store.ownPrekey('signed', id);
        if (record === undefined) throw new MissingPrekey('signed', id);
        return Promise.resolve(SignedPreKeyRecord.deserialize(owned(record)));
      }
    })();
    this.kyberPreKeyStore = new (class extends KyberPreKeyStore {
      saveKyberPreKey(): Promise<void> {
        return Promise.reject(new Error('Kyber prekeys are saved by the keeper'));
      }
      getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
        const record = store.ownPrekey('kyber', id);
        if (record === undefined) throw new MissingPrekey('kyber', id);
        return Promise.resolve(KyberPreKeyRecord.deserialize(owned(record)));
      }
      // Ours are all last-resort keys: a repeat of the triple is a replayed first message.
      markKyberPreKeyUsed(kyberId: number, signedId: number, baseKey: PublicKey): Promise<void> {
        const use = { kyberId, signedId, baseKey: baseKey.serialize() };
        const seen =
          store.kyberUsed(use) ||
          kyberUses.some(
            (u) =>
              u.kyberId === kyberId &&
              u.signedId === signedId &&
              bytesEqual(u.baseKey, use.baseKey),
          );
        if (seen) replayed();
        kyberUses.push(use);
        return Promise.resolve();
      }
    })();
  }

  /** The session with `peer` as this step sees it. */
  session(peer: string): SessionRecord | undefined {
    const bytes = this.#sessions.get(peer) ?? this.#store.ratchetSession(peer);
    return bytes === undefined ? undefined : SessionRecord.deserialize(owned(bytes));
  }

  /** Replaces the session with `peer` (e.g. archived for a restore). */
  setSession(peer: string, record: SessionRecord): void {
    this.#sessions.set(peer, record.serialize());
  }

  /** What this step changed. */
  changes(): RatchetChanges {
    return {
      sessions: new Map(this.#sessions),
      spentOneTime: [...this.#spentOneTime],
      kyberUses: [...this.#kyberUses],
    };
  }
}
