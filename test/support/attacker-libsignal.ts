/**
 * An attacker's use of libsignal, bypassing Komrade's `Ratchet`: libsignal stores over a stolen
 * copy of a komrade's local store (its storage key and identity keys stolen too) that trust any
 * identity key, hand out every prekey secret the store still holds and never refuse a replay.
 * Whatever this cannot decrypt, the stolen state does not hold the keys for.
 */
import {
  IdentityChange,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  ProtocolAddress,
  SessionRecord,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  signalDecrypt,
  signalDecryptPreKey,
  type PrivateKey,
  type PublicKey,
} from '@signalapp/libsignal-client';
import type { RatchetStore } from '../../client/index.js';
import { ratchetIdentityOf } from '../../client/ratchet/ratchet-identity.js';
import type { IdentityKeys } from '../../common/crypto/index.js';
import type { RatchetMessageType } from '../../common/wire/index.js';

const owned = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(bytes);

/** What the attacker got: the plaintext, or libsignal's refusal. */
export type AttackOutcome =
  | { readonly opened: true; readonly plaintext: Uint8Array }
  | { readonly opened: false; readonly error: string };

/**
 * Tries to decrypt `msg` from `peer` with the state in `store` (a stolen copy) and the victim's
 * stolen identity keys; a first message both in the stored session and from scratch (from the
 * prekeys it names, as if no session existed). Changes nothing in `store`.
 */
export async function attackerDecrypt(
  store: RatchetStore,
  keys: IdentityKeys,
  self: string,
  peer: string,
  type: RatchetMessageType,
  msg: Uint8Array,
): Promise<AttackOutcome> {
  const inSession = await attempt(store, keys, self, peer, type, msg, true);
  if (inSession.opened || type !== 'prekey') return inSession;
  const fromScratch = await attempt(store, keys, self, peer, type, msg, false);
  return fromScratch.opened
    ? fromScratch
    : { opened: false, error: `${inSession.error}; from scratch: ${fromScratch.error}` };
}

async function attempt(
  store: RatchetStore,
  keys: IdentityKeys,
  self: string,
  peer: string,
  type: RatchetMessageType,
  msg: Uint8Array,
  useSessions: boolean,
): Promise<AttackOutcome> {
  const identity = ratchetIdentityOf(keys);
  const sessions = new Map<string, Uint8Array>();
  const sessionStore = new (class extends SessionStore {
    saveSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
      sessions.set(address.name(), record.serialize());
      return Promise.resolve();
    }
    getSession(address: ProtocolAddress): Promise<SessionRecord | null> {
      const bytes =
        sessions.get(address.name()) ??
        (useSessions ? store.ratchetSession(address.name()) : undefined);
      return Promise.resolve(bytes === undefined ? null : SessionRecord.deserialize(owned(bytes)));
    }
    async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
      const found = await Promise.all(addresses.map((a) => this.getSession(a)));
      return found.filter((r): r is SessionRecord => r !== null);
    }
  })();
  const identityStore = new (class extends IdentityKeyStore {
    getIdentityKey(): Promise<PrivateKey> {
      return Promise.resolve(identity.privateKey);
    }
    getLocalRegistrationId(): Promise<number> {
      return Promise.resolve(1);
    }
    saveIdentity(): Promise<IdentityChange> {
      return Promise.resolve(IdentityChange.NewOrUnchanged);
    }
    isTrustedIdentity(): Promise<boolean> {
      return Promise.resolve(true);
    }
    getIdentity(): Promise<PublicKey | null> {
      return Promise.resolve(null);
    }
  })();
  const need = (record: Uint8Array | undefined, what: string): Uint8Array<ArrayBuffer> => {
    if (record === undefined) throw new Error(`the stolen store holds no ${what}`);
    return owned(record);
  };
  const preKeyStore = new (class extends PreKeyStore {
    savePreKey(): Promise<void> {
      return Promise.resolve();
    }
    getPreKey(id: number): Promise<PreKeyRecord> {
      return Promise.resolve(
        PreKeyRecord.deserialize(need(store.ownPrekey('one-time', id), `one-time prekey ${id}`)),
      );
    }
    removePreKey(): Promise<void> {
      return Promise.resolve();
    }
  })();
  const signedPreKeyStore = new (class extends SignedPreKeyStore {
    saveSignedPreKey(): Promise<void> {
      return Promise.resolve();
    }
    getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
      return Promise.resolve(
        SignedPreKeyRecord.deserialize(need(store.ownPrekey('signed', id), `signed prekey ${id}`)),
      );
    }
  })();
  const kyberPreKeyStore = new (class extends KyberPreKeyStore {
    saveKyberPreKey(): Promise<void> {
      return Promise.resolve();
    }
    getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
      return Promise.resolve(
        KyberPreKeyRecord.deserialize(need(store.ownPrekey('kyber', id), `Kyber prekey ${id}`)),
      );
    }
    markKyberPreKeyUsed(): Promise<void> {
      return Promise.resolve();
    }
  })();
  const from = ProtocolAddress.new(peer, 1);
  const to = ProtocolAddress.new(self, 1);
  try {
    const plaintext =
      type === 'prekey'
        ? await signalDecryptPreKey(
            PreKeySignalMessage.deserialize(owned(msg)),
            from,
            to,
            sessionStore,
            identityStore,
            preKeyStore,
            signedPreKeyStore,
            kyberPreKeyStore,
          )
        : await signalDecrypt(
            SignalMessage.deserialize(owned(msg)),
            from,
            to,
            sessionStore,
            identityStore,
          );
    return { opened: true, plaintext };
  } catch (error) {
    return { opened: false, error: error instanceof Error ? error.message : String(error) };
  }
}
