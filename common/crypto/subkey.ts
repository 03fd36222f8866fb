/** Subkeys of one secret for separate uses (libsodium's `crypto_kdf`, BLAKE2b underneath). */
import { backend } from './sodium.js';

/**
 * Subkey `id` of the 32-byte `key` for the use named by `context` (exactly 8 characters): keys
 * derived for different contexts or ids are independent, and none reveals `key`.
 */
export function deriveSubkey(
  key: Uint8Array,
  id: number,
  context: string,
  length = 32,
): Uint8Array {
  if (key.length !== 32) throw new RangeError('crypto_kdf needs a 32-byte key');
  if (context.length !== 8) throw new RangeError('crypto_kdf needs an 8-character context');
  return backend().kdfDerive(length, id, context, key);
}
