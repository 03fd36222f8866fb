/** Anonymous sealed boxes (crypto_box_seal: X25519 + XSalsa20-Poly1305, ephemeral sender key). */
import { backend } from './sodium.js';

/** Bytes a sealed box adds to its plaintext. */
export const SEAL_OVERHEAD_BYTES = 48;

/** Seals `plaintext` so only the holder of the secret half of `boxPublic` can open it. */
export function seal(plaintext: Uint8Array, boxPublic: Uint8Array): Uint8Array {
  return backend().seal(plaintext, boxPublic);
}

/** Opens a sealed box; `undefined` when it was not sealed to this key or was altered. */
export function openSeal(
  ciphertext: Uint8Array,
  boxPublic: Uint8Array,
  boxSecret: Uint8Array,
): Uint8Array | undefined {
  if (ciphertext.length < SEAL_OVERHEAD_BYTES) return undefined;
  try {
    return backend().sealOpen(ciphertext, boxPublic, boxSecret);
  } catch {
    return undefined;
  }
}
