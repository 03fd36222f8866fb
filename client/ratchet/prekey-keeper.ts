/**
 * The prekey keeper: makes this identity's prekeys (a signed EC prekey, a signed last-resort
 * Kyber1024 prekey, batches of one-time EC prekeys), keeps their secret halves in the store, and
 * says what to publish at the Operator so first contact keeps working.
 */
import {
  KEMKeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  PrivateKey,
  SignedPreKeyRecord,
  type IdentityKeyPair,
} from '@signalapp/libsignal-client';
import type { PrekeyUpload } from '../../common/wire/index.js';
import { owned } from './ratchet-identity.js';
import type { RatchetStore } from './ratchet-store.js';

/** One-time prekeys made per batch (one upload carries at most 100). */
export const ONE_TIME_PREKEY_BATCH = 100;

/** Below this many at the Operator, a new batch is published. */
export const ONE_TIME_PREKEY_LOW_WATER = 25;

/**
 * A signed and a Kyber prekey are replaced this often: a first message that found no one-time
 * prekey is readable by whoever later steals the prekeys it used, until they are deleted.
 */
export const LAST_RESORT_ROTATION_MS = 7 * 86_400_000;

/**
 * Replaced prekeys are kept this long after their successor is made, so first messages already
 * on their way (mail waits at the Operator for up to 21 days) still open; then deleted.
 */
export const LAST_RESORT_GRACE_MS = 30 * 86_400_000;

type LastResortKind = 'signed' | 'kyber';

/** When a signed or Kyber prekey record was made (its own timestamp). */
function madeAt(kind: LastResortKind, record: Uint8Array): number {
  const bytes = owned(record);
  return kind === 'signed'
    ? SignedPreKeyRecord.deserialize(bytes).timestamp()
    : KyberPreKeyRecord.deserialize(bytes).timestamp();
}

/** Makes and stores a new prekey of `kind`, signed by the identity key. */
function make(
  store: RatchetStore,
  identity: IdentityKeyPair,
  kind: LastResortKind,
  now: number,
): { id: number; record: Uint8Array; at: number } {
  const id = store.reservePrekeyIds(kind, 1);
  let record: Uint8Array;
  if (kind === 'signed') {
    const key = PrivateKey.generate();
    const signature = identity.privateKey.sign(key.getPublicKey().serialize());
    record = SignedPreKeyRecord.new(id, now, key.getPublicKey(), key, signature).serialize();
  } else {
    const pair = KEMKeyPair.generate();
    const signature = identity.privateKey.sign(pair.getPublicKey().serialize());
    record = KyberPreKeyRecord.new(id, now, pair, signature).serialize();
  }
  store.saveOwnPrekeys(kind, [{ id, record }]);
  return { id, record, at: now };
}

/**
 * The current prekey of `kind`: made on first use and again when the newest is older than
 * {@link LAST_RESORT_ROTATION_MS}. Each one was replaced when the next was made; those replaced
 * more than {@link LAST_RESORT_GRACE_MS} ago are deleted.
 */
function current(
  store: RatchetStore,
  identity: IdentityKeyPair,
  kind: LastResortKind,
  now: number,
): Uint8Array {
  // Oldest first (by id, which grows with each one made).
  const keys = store
    .ownLastResortPrekeys(kind)
    .map(({ id, record }) => ({ id, record, at: madeAt(kind, record) }));
  const newest = keys.at(-1);
  if (newest === undefined || now - newest.at >= LAST_RESORT_ROTATION_MS) {
    keys.push(make(store, identity, kind, now));
  }
  const old = keys.filter((_key, i) => {
    const successor = keys[i + 1];
    return successor !== undefined && now - successor.at >= LAST_RESORT_GRACE_MS;
  });
  if (old.length > 0)
    store.deleteOwnPrekeys(
      kind,
      old.map((key) => key.id),
    );
  const last = keys.at(-1);
  if (last === undefined) throw new Error('a prekey was just made');
  return last.record;
}

/** The signed and Kyber prekeys to publish (see `current`). */
export function lastResortPrekeys(
  store: RatchetStore,
  identity: IdentityKeyPair,
  now: number,
): Required<Pick<PrekeyUpload, 'signedPrekey' | 'kyberPrekey'>> {
  const s = SignedPreKeyRecord.deserialize(owned(current(store, identity, 'signed', now)));
  const k = KyberPreKeyRecord.deserialize(owned(current(store, identity, 'kyber', now)));
  return {
    signedPrekey: { id: s.id(), publicKey: s.publicKey().serialize(), signature: s.signature() },
    kyberPrekey: { id: k.id(), publicKey: k.publicKey().serialize(), signature: k.signature() },
  };
}

/** Makes and stores `count` one-time prekeys; returns their public halves to publish. */
export function newOneTimePrekeys(
  store: RatchetStore,
  count: number = ONE_TIME_PREKEY_BATCH,
): NonNullable<PrekeyUpload['oneTimePrekeys']> {
  const first = store.reservePrekeyIds('one-time', count);
  const made = Array.from({ length: count }, (_, i) => {
    const key = PrivateKey.generate();
    return { id: first + i, key };
  });
  store.saveOwnPrekeys(
    'one-time',
    made.map(({ id, key }) => ({
      id,
      record: PreKeyRecord.new(id, key.getPublicKey(), key).serialize(),
    })),
  );
  return made.map(({ id, key }) => ({ id, publicKey: key.getPublicKey().serialize() }));
}
