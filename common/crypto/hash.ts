/** BLAKE2b (libsodium's generichash). */
import { backend } from './sodium.js';

/** BLAKE2b of `data` with an output of `length` bytes (16 to 64). */
export function blake2b(data: Uint8Array, length = 32): Uint8Array {
  // Checked here so both builds refuse the same lengths (libsodium.js alone would take 1 to 15).
  if (!Number.isInteger(length) || length < 16 || length > 64) {
    throw new RangeError('BLAKE2b output length must be 16 to 64 bytes');
  }
  return backend().generichash(length, data);
}
