/** expand_message_xmd with SHA-512 (RFC 9380 §5.3.1): the hash-to-field step of RFC 9497. */
import { lib } from '../sodium.js';
import { concat } from './suite.js';

const HASH_BYTES = 64;
const BLOCK_BYTES = 128;
const ZERO_PAD = new Uint8Array(BLOCK_BYTES);

/**
 * `length` uniform bytes from `message` under the domain-separation tag `dst`.
 *
 * @throws Error - when `dst` exceeds 255 bytes or `length` 255 hash blocks (a programming error:
 *   every caller passes a fixed tag and 64 bytes)
 */
export function expandMessageXmd(message: Uint8Array, dst: Uint8Array, length: number): Uint8Array {
  const blocks = Math.ceil(length / HASH_BYTES);
  if (blocks > 255 || length > 0xffff || dst.length > 255) {
    throw new Error('expand_message_xmd: tag or length out of range');
  }
  const sodium = lib();
  const dstPrime = concat(dst, Uint8Array.of(dst.length));
  const b0 = sodium.crypto_hash_sha512(
    concat(ZERO_PAD, message, Uint8Array.of(length >>> 8, length & 0xff, 0), dstPrime),
  );
  const out = new Uint8Array(blocks * HASH_BYTES);
  let previous = sodium.crypto_hash_sha512(concat(b0, Uint8Array.of(1), dstPrime));
  out.set(previous, 0);
  for (let i = 2; i <= blocks; i++) {
    const mixed = new Uint8Array(HASH_BYTES);
    for (let j = 0; j < HASH_BYTES; j++) mixed[j] = (b0[j] ?? 0) ^ (previous[j] ?? 0);
    previous = sodium.crypto_hash_sha512(concat(mixed, Uint8Array.of(i), dstPrime));
    out.set(previous, (i - 1) * HASH_BYTES);
  }
  return out.subarray(0, length);
}
