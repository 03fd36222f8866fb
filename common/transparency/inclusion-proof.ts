/** Inclusion proofs (audit paths): RFC 9162 §2.1.3.1 to build one, §2.1.3.2 to check one. */
import { KomradeError } from '../errors/index.js';
import { isHash, isHashList, isTreeSize, nodeHash, sameHash, splitPoint } from './merkle-hash.js';
import { subtreeHash, type MerkleNodeSource } from './merkle-nodes.js';

/**
 * Longest proof worth reading: a tree of at most 2^53 leaves (every safe size) has paths of at
 * most 53 hashes; anything longer is refused before any hashing.
 */
export const MAX_PROOF_HASHES = 64;

/**
 * PATH(index, D[0:size]): the sibling hashes from the leaf up to the root. Costs O(log size)
 * subtree hashes, each O(log size) reads from `source` (O(1) node hashes when it keeps nodes).
 * Throws BAD_REQUEST unless index is below size and size at most source.size.
 */
export function inclusionProof(
  source: MerkleNodeSource,
  index: number,
  size: number = source.size,
): Uint8Array[] {
  if (!isTreeSize(size) || size > source.size) {
    throw new KomradeError('BAD_REQUEST', 'tree size is beyond the log');
  }
  if (!isTreeSize(index) || index >= size) {
    throw new KomradeError('BAD_REQUEST', 'leaf index is outside the tree');
  }
  // Walk down from the root; the RFC lists the deepest sibling first, so reverse at the end.
  const siblings: Uint8Array[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      siblings.push(subtreeHash(source, start + k, end));
      end = start + k;
    } else {
      siblings.push(subtreeHash(source, start, start + k));
      start += k;
    }
  }
  return siblings.reverse();
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–3), or undefined when the proof
 * cannot belong to a tree of `size` leaves (wrong length, index out of range, malformed hashes).
 */
export function rootFromInclusionProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size || !isHash(leaf)) return undefined;
  if (!isHashList(proof, MAX_PROOF_HASHES)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Climb past the levels where this node is a right-edge child with no sibling.
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/**
 * True only when `proof` shows that `leaf` is entry `index` of the tree of `size` leaves whose root
 * is `root`. Hostile input (wrong types, lengths, sizes) is simply false; it never throws.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(root)) return false;
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  return computed !== undefined && sameHash(computed, root);
}
