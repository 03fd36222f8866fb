/**
 * ISO/IEC 7816-4 padding (libsodium's `sodium_pad`/`sodium_unpad`): a 0x80 marker, then zeros,
 * up to a multiple of the block size. Unpadding runs in constant time over the last block.
 */
import { backend, lib } from './sodium.js';

/** Bytes the padding adds at least (the 0x80 marker). */
export const PAD_MARKER_BYTES = 1;

/** Pads `bytes` to the next multiple of `blockSize` strictly above its length minus one. */
export function pad(bytes: Uint8Array, blockSize: number): Uint8Array {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) {
    throw new RangeError('block size must be a positive integer');
  }
  return backend().pad(bytes, blockSize);
}

/**
 * Removes the padding {@link pad} added; `undefined` when `padded` is not a whole number of
 * blocks or its last block holds no well-formed marker (all zeros, a stray byte after it).
 */
export function unpad(padded: Uint8Array, blockSize: number): Uint8Array | undefined {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) return undefined;
  if (padded.length === 0 || padded.length % blockSize !== 0) return undefined;
  try {
    // Always libsodium.js: sodium-native's sodium_unpad does not report a malformed padding.
    return lib().unpad(padded, blockSize).slice();
  } catch {
    return undefined;
  }
}
