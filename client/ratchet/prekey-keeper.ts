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

function newest(
  store: RatchetStore,
  kind: 'signed' | 'kyber',
): { id: number; record: Uint8Array; at: number } | undefined {
  const found = store.newestOwnPrekey(kind);
  if (found === undefined) return undefined;
  const bytes = owned(found.record);
  const at =
    kind === 'signed'
      ? SignedPreKeyRecord.deserialize(bytes).timestamp()
      : KyberPreKeyRecord.deserialize(bytes).timestamp();
  return { ...found, at };
}

/**
 * Deletes the prekeys of `kind` other than `current` that were replaced more than
 * {@link LAST_RESORT_GRACE_MS} ago (a prekey is replaced when its successor is made, which is at
 * most {@link LAST_RESORT_ROTATION_MS} after it was).
 */
function retire(store: RatchetStore, kind: 'signed' | 'kyber', current: number, now: number): void {
  const all = store.ownLastResortPrekeys(kind).map(({ id, record }) => {
    const bytes = owned(record);
    const at =
      kind === 'signed'
        ? SignedPreKeyRecord.deserialize(bytes).timestamp()
        : KyberPreKeyRecord.deserialize(bytes).timestamp();
    return { id, at };
  });
  // Each one was replaced when the next newer one was made.
  const sorted = all.sort((a, b) => a.id - b.id);
  const old = sorted.filter((key, i) => {
    const successor = sorted[i + 1];
    return (
      key.id !== current && successor !== undefined && now - successor.at >= LAST_RESORT_GRACE_MS
    );
  });
  if (old.length > 0)
    store.deleteOwnPrekeys(
      kind,
      old.map((key) => key.id),
    );
}

/**
 * The signed and Kyber prekeys to publish: made on first use, and again when the newest is older
 * than {@link LAST_RESORT_ROTATION_MS}; those replaced more than {@link LAST_RESORT_GRACE_MS} ago
 * are deleted.
 */
export function lastResortPrekeys(
  store: RatchetStore,
  identity: IdentityKeyPair,
  now: number,
): Required<Pick<PrekeyUpload, 'signedPrekey' | 'kyberPrekey'>> {
  let signed = newest(store, 'signed');
  if (signed === undefined || now - signed.at >= LAST_RESORT_ROTATION_MS) {
    const id = store.reservePrekeyIds('signed', 1);
    const key = PrivateKey.generate();
    const signature = identity.privateKey.sign(key.getPublicKey().serialize());
    const record = SignedPreKeyRecord.new(id, now, key.getPublicKey(), key, signature).serialize();
    store.saveOwnPrekeys('signed', [{ id, record }]);
    signed = { id, record, at: now };
  }
  let kyber = newest(store, 'kyber');
  if (kyber === undefined || now - kyber.at >= LAST_RESORT_ROTATION_MS) {
    const id = store.reservePrekeyIds('kyber', 1);
    const pair = KEMKeyPair.generate();
    const signature = identity.privateKey.sign(pair.getPublicKey().serialize());
    const record = KyberPreKeyRecord.new(id, now, pair, signature).serialize();
    store.saveOwnPrekeys('kyber', [{ id, record }]);
    kyber = { id, record, at: now };
  }
  retire(store, 'signed', signed.id, now);
  retire(store, 'kyber', kyber.id, now);
  const s = SignedPreKeyRecord.deserialize(owned(signed.record));
  const k = KyberPreKeyRecord.deserialize(owned(kyber.record));
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
