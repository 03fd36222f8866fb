/**
 * An append-only Merkle tree in memory that keeps every perfect subtree's hash, level by level, in
 * flat buffers: 2 × 32 bytes per leaf in all (64 MB at 1M leaves), O(1) amortised hashes per
 * append, O(1) per node read, so roots and proofs cost O(log n).
 */
import { KomradeError } from '../errors/index.js';
import { HASH_BYTES, isHash, nodeHash } from './merkle-hash.js';
import type { MerkleNodeSource } from './merkle-nodes.js';

export class MemoryMerkleTree implements MerkleNodeSource {
  /** levels[L] holds the hashes of the complete subtrees of 2^L leaves, in order. */
  private readonly levels: Buffer[] = [];
  private readonly counts: number[] = [];
  private leaves = 0;

  /** `capacity` preallocates room for that many leaves (the buffers grow by doubling past it). */
  constructor(private readonly capacity = 1024) {}

  get size(): number {
    return this.leaves;
  }

  /** Appends one 32-byte leaf hash and completes every subtree it closes. */
  append(leaf: Uint8Array): void {
    if (!isHash(leaf)) throw new KomradeError('BAD_REQUEST', 'a leaf hash is 32 bytes');
    let hash = leaf;
    let level = 0;
    for (;;) {
      const index = this.push(level, hash);
      if (index % 2 === 0) break;
      hash = nodeHash(this.perfectNode(level, index - 1), hash);
      level += 1;
    }
    this.leaves += 1;
  }

  perfectNode(level: number, index: number): Uint8Array {
    const buffer = this.levels[level];
    const count = this.counts[level] ?? 0;
    if (buffer === undefined || !Number.isSafeInteger(index) || index < 0 || index >= count) {
      throw new KomradeError('BAD_REQUEST', 'no such node in the tree');
    }
    // A view, not a copy: proof builders copy what they hand out.
    return buffer.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }

  /** Writes `hash` at the end of `level`; returns its index there. */
  private push(level: number, hash: Uint8Array): number {
    const count = this.counts[level] ?? 0;
    let buffer = this.levels[level];
    if (buffer === undefined) {
      const room = Math.max(1, Math.ceil(this.capacity / 2 ** level));
      buffer = Buffer.allocUnsafe(room * HASH_BYTES);
      this.levels[level] = buffer;
    }
    if ((count + 1) * HASH_BYTES > buffer.length) {
      const grown = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(grown, 0, 0, count * HASH_BYTES);
      buffer = grown;
      this.levels[level] = buffer;
    }
    buffer.set(hash, count * HASH_BYTES);
    this.counts[level] = count + 1;
    return count;
  }
}
