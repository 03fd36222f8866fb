/** XChaCha20-Poly1305 (IETF) for data at rest: keystores and local mail. */
import { backend } from './sodium.js';
import { randomBytes } from './random.js';

export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 24;

/** Encrypts with a fresh random 24-byte nonce; returns nonce ‖ ciphertext. */
export function aeadEncrypt(
  plaintext: Uint8Array,
  key: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  return aeadEncryptWithNonce(plaintext, key, associatedData, randomBytes(AEAD_NONCE_BYTES));
}

/**
 * Encrypts with the given nonce. Only for known-answer vectors and {@link aeadEncrypt}: a nonce must
 * never repeat under one key, and 24 random bytes make that safe.
 */
export function aeadEncryptWithNonce(
  plaintext: Uint8Array,
  key: Uint8Array,
  associatedData: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  const ciphertext = backend().aeadEncrypt(plaintext, associatedData, nonce, key);
  const out = new Uint8Array(nonce.length + ciphertext.length);
  out.set(nonce, 0);
  out.set(ciphertext, nonce.length);
  return out;
}

/** Decrypts nonce ‖ ciphertext; `undefined` when the key is wrong or anything was altered. */
export function aeadDecrypt(
  sealed: Uint8Array,
  key: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < AEAD_NONCE_BYTES + 16) return undefined;
  try {
    return backend().aeadDecrypt(
      sealed.subarray(AEAD_NONCE_BYTES),
      associatedData,
      sealed.subarray(0, AEAD_NONCE_BYTES),
      key,
    );
  } catch {
    return undefined;
  }
}
