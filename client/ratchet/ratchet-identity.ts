/**
 * The ratchet identity key: a libsignal Curve25519 identity derived from the identity's Ed25519
 * seed with libsodium's KDF, so it needs no storage of its own (a backup of the keys restores it)
 * and is still a separate key from the signing and box keys.
 */
import { IdentityKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { deriveSubkey, type IdentityKeys } from '../../common/crypto/index.js';

/** Bytes of a ratchet key as registered (libsignal's serialization: type byte 0x05, then 32). */
export const RATCHET_KEY_BYTES = 33;

// crypto_kdf's context: exactly 8 characters, used for nothing else.
const CONTEXT = 'kmratchE';
const SUBKEY_ID = 1;

/** A copy libsignal accepts (it wants an ArrayBuffer-backed array). */
export function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/** The identity's libsignal identity key pair. */
export function ratchetIdentityOf(keys: IdentityKeys): IdentityKeyPair {
  const secret = deriveSubkey(keys.signSecret.subarray(0, 32), SUBKEY_ID, CONTEXT);
  try {
    const privateKey = PrivateKey.deserialize(owned(secret));
    return new IdentityKeyPair(privateKey.getPublicKey(), privateKey);
  } finally {
    secret.fill(0);
  }
}

/** The public ratchet key registered for `keys` (33 bytes). */
export function ratchetKeyOf(keys: IdentityKeys): Uint8Array {
  return ratchetIdentityOf(keys).publicKey.serialize();
}
