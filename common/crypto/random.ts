/**
 * Randomness from node:crypto (the OS CSPRNG through OpenSSL): libsodium's WebAssembly
 * `randombytes` costs ~150 µs a call here, node:crypto ~1–5 µs, a slice of a pool ~0.2 µs.
 *
 * The pool serves only requests shorter than {@link POOLED_BELOW} bytes: letter and session ids,
 * request and AEAD nonces, salts, temporary-file suffixes, none of them secret. Every key, seed
 * and scalar in Komrade is 32 bytes or more, so key material never passes through the pool: it
 * is drawn straight into its own buffer. The pool holds only bytes not yet handed out; each slice
 * is copied out and its place in the pool wiped at once.
 */
import { randomFillSync } from 'node:crypto';

/** Requests this long or longer bypass the pool (keys are 32 bytes or more). */
const POOLED_BELOW = 32;
/** Refill size: one call to the CSPRNG serves 256 ids of 16 bytes. */
const POOL_BYTES = 4_096;

const pool = new Uint8Array(POOL_BYTES);
let next = POOL_BYTES;

/** `length` cryptographically random bytes, in a Uint8Array of their own. */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError('random length must be a non-negative integer');
  }
  if (length >= POOLED_BELOW) return randomFillSync(new Uint8Array(length));
  if (next + length > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  const out = pool.slice(next, next + length);
  pool.fill(0, next, next + length);
  next += length;
  return out;
}
