/**
 * RFC 6962 / RFC 9162 §2.1.1 hashing on SHA-256: leaves and interior nodes carry different
 * one-byte prefixes so a leaf can never be passed off as a node (second-preimage resistance).
 */
import { createHash } from 'node:crypto';

/** Bytes of every hash in the log: SHA-256. */
export const HASH_BYTES = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** MTH of the empty tree: SHA-256 of the empty string. */
export function emptyRoot(): Uint8Array {
  return new Uint8Array(createHash('sha256').digest());
}

/** Leaf hash: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(entry).digest());
}

/** Interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest(),
  );
}

/** True for two equal hashes. Log hashes are public, so no constant-time compare is needed. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** True for a byte array of exactly {@link HASH_BYTES} bytes. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}

/** True for an array of at most `max` hashes (checked before any element is read). */
export function isHashList(value: unknown, max: number): value is readonly Uint8Array[] {
  return Array.isArray(value) && value.length <= max && value.every(isHash);
}

/** True for a tree size or leaf index this module accepts: a safe non-negative integer. */
export function isTreeSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The RFC's split point k for n ≥ 2 leaves: the largest power of two strictly below n. A loop, not
 * Math.log2: floating-point logarithms round wrongly just under large powers of two.
 */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** True when n is a power of two (1, 2, 4, …); exact for every safe integer. */
export function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}
