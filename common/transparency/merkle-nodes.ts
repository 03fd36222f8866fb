/**
 * Where proofs and roots read their hashes from: a source of perfect-subtree hashes. A store that
 * keeps only leaf hashes uses {@link leafHashSource}; one that also keeps interior nodes (like
 * {@link MemoryMerkleTree}, or tiles in SQLite later) answers each node in O(1).
 */
import { KomradeError } from '../errors/index.js';
import {
  emptyRoot,
  isHash,
  isPowerOfTwo,
  isTreeSize,
  nodeHash,
  splitPoint,
} from './merkle-hash.js';

/** A leaf-hash accessor: the 32-byte leaf hash of the entry at `index` (0-based). */
export type LeafHashAt = (index: number) => Uint8Array;

/** Read access to a log's tree: its size and the hash of any complete subtree inside it. */
export interface MerkleNodeSource {
  /** Leaves the log holds; roots and proofs may be asked for any tree size up to this. */
  readonly size: number;
  /**
   * Hash of the perfect subtree of 2^`level` leaves starting at leaf `index`·2^`level`; level 0 is
   * a leaf hash. Only asked for subtrees that lie wholly below {@link MerkleNodeSource.size}.
   */
  perfectNode(level: number, index: number): Uint8Array;
}

/**
 * A source backed by leaf hashes alone. A perfect node of level L costs 2^L − 1 node hashes, so a
 * root or a proof at size n costs about n hashes (≈ 1 µs each): fine for small logs and tests; a
 * store for a large log should keep interior nodes instead.
 */
export function leafHashSource(size: number, leafHashAt: LeafHashAt): MerkleNodeSource {
  if (!isTreeSize(size)) throw new KomradeError('BAD_REQUEST', 'tree size is not a safe integer');
  const perfectNode = (level: number, index: number): Uint8Array => {
    if (level === 0) {
      const leaf = leafHashAt(index);
      // A store handing back something else would silently produce a wrong root.
      if (!isHash(leaf)) throw new KomradeError('INTERNAL', 'leaf hash accessor gave no 32 bytes');
      return leaf;
    }
    return nodeHash(perfectNode(level - 1, index * 2), perfectNode(level - 1, index * 2 + 1));
  };
  return { size, perfectNode };
}

/** log2 of a power of two, by counting (exact for every safe integer). */
function levelOf(powerOfTwo: number): number {
  let level = 0;
  for (let p = 1; p < powerOfTwo; p *= 2) level += 1;
  return level;
}

/**
 * MTH(D[start:end]), always a fresh array. For the ranges the RFC's recursion visits (`start` a
 * multiple of the smallest power of two ≥ end − start: the whole tree, both halves of every split)
 * it costs O(log n) perfect-node reads and as many node hashes, since the range splits into one
 * perfect subtree per set bit of its length. Any other range is still hashed right, just slower.
 */
export function subtreeHash(source: MerkleNodeSource, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n <= 0) return emptyRoot();
  // A copy: a source may hand out views of its own storage.
  if (isPowerOfTwo(n) && start % n === 0) {
    return Uint8Array.from(source.perfectNode(levelOf(n), start / n));
  }
  const k = splitPoint(n);
  return nodeHash(subtreeHash(source, start, start + k), subtreeHash(source, start + k, end));
}

/** The root hash (MTH) of the first `size` leaves of `source`; H("") for size 0. */
export function rootHash(source: MerkleNodeSource, size: number = source.size): Uint8Array {
  if (!isTreeSize(size) || size > source.size) {
    throw new KomradeError('BAD_REQUEST', 'tree size is beyond the log');
  }
  return subtreeHash(source, 0, size);
}
