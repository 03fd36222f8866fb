/** BLAKE2b (libsodium's generichash). */
import { lib } from './sodium.js';

/** BLAKE2b of `data` with an output of `length` bytes (16 to 64). */
export function blake2b(data: Uint8Array, length = 32): Uint8Array {
  return lib().crypto_generichash(length, data, null);
}
