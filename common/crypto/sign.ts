/** Ed25519 detached signatures (libsodium crypto_sign). */
import { backend } from './sodium.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './keys.js';

/** Signs `message` with a 64-byte Ed25519 secret key. */
export function signDetached(message: Uint8Array, signSecret: Uint8Array): Uint8Array {
  return backend().signDetached(message, signSecret);
}

/** True only for a valid signature; malformed keys or signatures are simply false. */
export function verifyDetached(
  signature: Uint8Array,
  message: Uint8Array,
  signPublic: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES || signPublic.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return backend().verifyDetached(signature, message, signPublic);
  } catch {
    return false;
  }
}
