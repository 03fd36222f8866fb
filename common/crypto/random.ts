/** Randomness from node:crypto: libsodium's randombytes costs ~150 µs a call here, this ~1 µs. */
import { randomBytes as nodeRandomBytes } from 'node:crypto';

/** `length` cryptographically random bytes. */
export function randomBytes(length: number): Uint8Array {
  const buffer = nodeRandomBytes(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
