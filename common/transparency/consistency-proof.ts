/** Consistency proofs between two sizes of one log: RFC 9162 §2.1.4.1 to build, §2.1.4.2 to check. */
import { KomradeError } from '../errors/index.js';
import {
  isHash,
  isHashList,
  isPowerOfTwo,
  isTreeSize,
  nodeHash,
  sameHash,
  splitPoint,
} from './merkle-hash.js';
import { MAX_PROOF_HASHES } from './inclusion-proof.js';
import { subtreeHash, type MerkleNodeSource } from './merkle-nodes.js';

/**
 * PROOF(first, D[0:second]): the hashes that show the tree of `first` leaves is a prefix of the
 * tree of `second`. Empty when the sizes are equal. Costs O(log second) subtree hashes. Throws
 * BAD_REQUEST unless first is at least 1, at most second, and second at most source.size: from the empty tree there is nothing to
 * prove, and a client with no checkpoint yet has nothing to check.
 */
export function consistencyProof(
  source: MerkleNodeSource,
  first: number,
  second: number = source.size,
): Uint8Array[] {
  if (!isTreeSize(second) || second > source.size) {
    throw new KomradeError('BAD_REQUEST', 'tree size is beyond the log');
  }
  if (!isTreeSize(first) || first === 0 || first > second) {
    throw new KomradeError('BAD_REQUEST', 'consistency needs 0 < first size ≤ second size');
  }
  // SUBPROOF(m, D[start:end], b), unrolled from the top; the RFC lists the deepest hash first.
  const hashes: Uint8Array[] = [];
  let m = first;
  let start = 0;
  let end = second;
  let whole = true; // b: the subtree of m leaves is the first tree's own root (the client has it)
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      hashes.push(subtreeHash(source, start + k, end));
      end = start + k;
    } else {
      hashes.push(subtreeHash(source, start, start + k));
      start += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) hashes.push(subtreeHash(source, start, end));
  return hashes.reverse();
}

/**
 * True only when `proof` shows that the tree of `first` leaves with root `firstRoot` is a prefix
 * of the tree of `second` leaves with root `secondRoot`. Equal sizes need an empty proof and equal
 * roots; a first size of 0 is refused (nothing to prove). Hostile input is false, never a throw.
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isTreeSize(first) || !isTreeSize(second) || first === 0 || first > second) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !isHashList(proof, MAX_PROOF_HASHES)) {
    return false;
  }
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  // RFC 9162 §2.1.4.2, step by step.
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const [seed, ...rest] = path;
  if (seed === undefined) return false;
  let fr = seed;
  let sr = seed;
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}
