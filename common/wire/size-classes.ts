/**
 * Size classes: every sealed letter (and every other sealed blob the Operator stores for a
 * recipient) is padded, before sealing, so that its sealed length is one of these. The Operator
 * then learns only the class, never whether it holds a follow, a post or a text, nor how long.
 */
import { PAD_MARKER_BYTES, pad, unpad } from '../crypto/index.js';
import { KomradeError } from '../errors/index.js';

/** Sealed lengths a letter may have (bytes). Small classes keep short letters cheap over Tor. */
export const SEALED_SIZE_CLASSES = Object.freeze([1_024, 4_096, 16_384, 65_536] as const);

/** Bytes `crypto_box_seal` adds to what it seals (an ephemeral key and a MAC). */
export const SEAL_OVERHEAD_BYTES = 48;

/** True when `length` is one of {@link SEALED_SIZE_CLASSES}. */
export function isSealedSizeClass(length: number): boolean {
  return (SEALED_SIZE_CLASSES as readonly number[]).includes(length);
}

/** The largest size class: nothing sealed to a recipient is longer. */
export const LARGEST_SIZE_CLASS: number = Math.max(...SEALED_SIZE_CLASSES);

/**
 * The smallest size class that holds `plainLength` bytes once padded (at least the 0x80 marker)
 * and sealed with `overhead` bytes; `undefined` when even the largest cannot.
 * @param overhead - what the encryption adds: {@link SEAL_OVERHEAD_BYTES} for a sealed box, the
 * nonce and tag for an AEAD body
 */
export function sizeClassFor(
  plainLength: number,
  overhead: number = SEAL_OVERHEAD_BYTES,
): number | undefined {
  return SEALED_SIZE_CLASSES.find((size) => plainLength + PAD_MARKER_BYTES + overhead <= size);
}

/** The most plaintext bytes that fit the largest class with `overhead`. */
export function largestPaddablePlaintext(overhead: number = SEAL_OVERHEAD_BYTES): number {
  return LARGEST_SIZE_CLASS - overhead - PAD_MARKER_BYTES;
}

/**
 * Pads `plaintext` (ISO/IEC 7816-4, libsodium's `sodium_pad`) so that, once encrypted with
 * `overhead` bytes, it is exactly {@link sizeClassFor} its length.
 * @throws KomradeError `LETTER_TOO_LARGE` when it does not fit the largest class
 */
export function padToSizeClass(
  plaintext: Uint8Array,
  overhead: number = SEAL_OVERHEAD_BYTES,
): Uint8Array {
  const size = sizeClassFor(plaintext.length, overhead);
  if (size === undefined) {
    throw new KomradeError(
      'LETTER_TOO_LARGE',
      `This is ${plaintext.length} bytes once encoded; at most ${largestPaddablePlaintext(overhead)} fit the largest size class (${LARGEST_SIZE_CLASS} bytes).`,
    );
  }
  // One block of exactly the room left: sodium_pad fills it to the end.
  return pad(plaintext, size - overhead);
}

/**
 * Removes the padding {@link padToSizeClass} added. `undefined` (never a throw) when `padded` is
 * not exactly a size class less `overhead`, or its padding is malformed (no 0x80 marker, a
 * non-zero byte after it, all zeros). Reads nothing outside `padded`.
 */
export function unpadFromSizeClass(
  padded: Uint8Array,
  overhead: number = SEAL_OVERHEAD_BYTES,
): Uint8Array | undefined {
  if (!isSealedSizeClass(padded.length + overhead)) return undefined;
  return unpad(padded, padded.length);
}
