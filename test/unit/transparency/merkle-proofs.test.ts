/**
 * Proof properties beyond the vectors: every proof the module builds verifies, every one-bit
 * change to a proof, leaf, root, index or size fails, the edge cases of RFC 9162's algorithms
 * behave, and hostile input is refused with false (verifiers) or BAD_REQUEST (builders).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKomradeError } from '../../../common/errors/index.js';
import {
  MAX_PROOF_HASHES,
  MemoryMerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  leafHashSource,
  nodeHash,
  rootHash,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
  type MerkleNodeSource,
} from '../../../common/transparency/index.js';

/** Deterministic pseudo-random integers (xorshift32), so a failure reproduces. */
function prng(seed: number): (below: number) => number {
  let s = seed >>> 0 || 1;
  return (below) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return Math.floor((s / 0x1_0000_0000) * below);
  };
}

const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
};

function treeOf(size: number): { tree: MemoryMerkleTree; leaves: Uint8Array[] } {
  const tree = new MemoryMerkleTree(16);
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < size; i += 1) {
    const leaf = leafHash(Buffer.from(`entry ${i}`));
    leaves.push(leaf);
    tree.append(leaf);
  }
  return { tree, leaves };
}

/** RFC 6962 §2.1 MTH, straight from the definition (independent of the module's recursion). */
function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

const expectBadRequest = (fn: () => unknown): void => {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isKomradeError(thrown, 'BAD_REQUEST')).toBe(true);
};

describe('Merkle proofs: properties on random trees', () => {
  const { tree: big, leaves: bigLeaves } = treeOf(3000);
  const random = prng(20261203);
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1023, 1024, 1025, 2999, 3000];
  for (let i = 0; i < 8; i += 1) sizes.push(1 + random(3000));

  it('stored nodes, leaf hashes alone and the RFC definition agree on every root', () => {
    const fromLeaves = leafHashSource(3000, (i) => bigLeaves[i]!);
    for (const size of sizes) {
      const root = rootHash(big, size);
      expect(rootHash(fromLeaves, size)).toEqual(root);
      expect(referenceRoot(bigLeaves.slice(0, size))).toEqual(root);
    }
  });

  it('every inclusion proof verifies at every index of each size; one random bit flip fails', () => {
    for (const size of sizes) {
      const root = rootHash(big, size);
      for (let index = 0; index < size; index += 1) {
        const proof = inclusionProof(big, index, size);
        const leaf = bigLeaves[index]!;
        expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
        if (proof.length > 0) {
          const at = random(proof.length);
          const bad = proof.map((h, j) => (j === at ? flip(h, random(256)) : h));
          expect(verifyInclusion(leaf, index, size, bad, root)).toBe(false);
        }
        expect(verifyInclusion(flip(leaf, random(256)), index, size, proof, root)).toBe(false);
      }
    }
  });

  it('every single-bit change anywhere in a sample of inclusion proofs fails', () => {
    for (const size of [3000, 1025, 7]) {
      const root = rootHash(big, size);
      for (const index of [0, size - 1, random(size), random(size)]) {
        const proof = inclusionProof(big, index, size);
        const leaf = bigLeaves[index]!;
        for (let j = 0; j < proof.length; j += 1) {
          for (let bit = 0; bit < 256; bit += 1) {
            const bad = proof.map((h, k) => (k === j ? flip(h, bit) : h));
            expect(verifyInclusion(leaf, index, size, bad, root)).toBe(false);
          }
        }
        for (let bit = 0; bit < 256; bit += 1) {
          expect(verifyInclusion(leaf, index, size, proof, flip(root, bit))).toBe(false);
          expect(verifyInclusion(flip(leaf, bit), index, size, proof, root)).toBe(false);
        }
        // The index is bound by the path. The size is not (a path of the same shape fits other
        // sizes): it is bound by the signed checkpoint that pairs it with the root.
        for (let bit = 0; bit < 13; bit += 1) {
          const otherIndex = index ^ (1 << bit);
          if (otherIndex < size) {
            expect(verifyInclusion(leaf, otherIndex, size, proof, root)).toBe(false);
          }
        }
        expect(verifyInclusion(leaf, index, size * 2, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, Math.ceil(size / 2), proof, root)).toBe(false);
      }
    }
  });

  it('every consistency proof between sizes of a range verifies; tampering fails', () => {
    const { tree, leaves } = treeOf(160);
    const roots = Array.from({ length: 161 }, (_, n) => rootHash(tree, n));
    for (let second = 1; second <= 160; second += 1) {
      for (let first = 1; first <= second; first += 1) {
        const proof = consistencyProof(tree, first, second);
        const [r1, r2] = [roots[first]!, roots[second]!];
        expect(verifyConsistency(first, second, r1, r2, proof)).toBe(true);
        expect(verifyConsistency(first, second, r2, r1, proof)).toBe(first === second);
        if (proof.length > 0) {
          const at = random(proof.length);
          const bad = proof.map((h, j) => (j === at ? flip(h, random(256)) : h));
          expect(verifyConsistency(first, second, r1, r2, bad)).toBe(false);
          expect(verifyConsistency(first, second, r1, r2, proof.slice(1))).toBe(false);
          expect(verifyConsistency(first, second, r1, r2, proof.slice(0, -1))).toBe(false);
          expect(verifyConsistency(first, second, r1, r2, [...proof, r2])).toBe(false);
          expect(verifyConsistency(first, second, r1, r2, [r1, ...proof])).toBe(false);
        }
        expect(verifyConsistency(first, second, flip(r1, random(256)), r2, proof)).toBe(false);
        expect(verifyConsistency(first, second, r1, flip(r2, random(256)), proof)).toBe(false);
      }
    }
    expect(leaves).toHaveLength(160);
  });

  it('random consistency proofs in the 3000-leaf tree verify; every bit flip in a sample fails', () => {
    for (let round = 0; round < 200; round += 1) {
      const second = 1 + random(3000);
      const first = 1 + random(second);
      const proof = consistencyProof(big, first, second);
      const [r1, r2] = [rootHash(big, first), rootHash(big, second)];
      expect(verifyConsistency(first, second, r1, r2, proof)).toBe(true);
      if (round % 40 === 0) {
        for (let j = 0; j < proof.length; j += 1) {
          for (let bit = 0; bit < 256; bit += 1) {
            const bad = proof.map((h, k) => (k === j ? flip(h, bit) : h));
            expect(verifyConsistency(first, second, r1, r2, bad)).toBe(false);
          }
        }
      }
      // A forked log: same first tree, a different entry after it.
      if (first < second) {
        const forkedLeaves = bigLeaves.slice(0, second);
        forkedLeaves[first + random(second - first)] = leafHash(randomBytes(8));
        const forked = leafHashSource(second, (i) => forkedLeaves[i]!);
        const forkedRoot = rootHash(forked);
        expect(verifyConsistency(first, second, r1, forkedRoot, proof)).toBe(false);
        expect(verifyConsistency(first, second, r1, r2, consistencyProof(forked, first))).toBe(
          false,
        );
      }
    }
  });
});

describe('Merkle proofs: edge cases', () => {
  const { tree, leaves } = treeOf(16);
  const root = (n: number): Uint8Array => rootHash(tree, n);

  it('a one-leaf tree: root is the leaf hash, the audit path is empty', () => {
    expect(root(1)).toEqual(leaves[0]);
    expect(inclusionProof(tree, 0, 1)).toEqual([]);
    expect(verifyInclusion(leaves[0]!, 0, 1, [], root(1))).toBe(true);
    expect(verifyInclusion(leaves[0]!, 0, 1, [leaves[0]!], root(1))).toBe(false);
  });

  it('equal sizes: empty proof and equal roots, nothing else', () => {
    expect(consistencyProof(tree, 5, 5)).toEqual([]);
    expect(verifyConsistency(5, 5, root(5), root(5), [])).toBe(true);
    expect(verifyConsistency(5, 5, root(5), root(4), [])).toBe(false);
    expect(verifyConsistency(5, 5, root(5), root(5), [root(5)])).toBe(false);
  });

  it('a first size that is a power of two omits its own root from the proof', () => {
    for (const first of [1, 2, 4, 8]) {
      const proof = consistencyProof(tree, first, 13);
      expect(proof.some((h) => Buffer.compare(h, root(first)) === 0)).toBe(false);
      expect(verifyConsistency(first, 13, root(first), root(13), proof)).toBe(true);
      expect(verifyConsistency(first, 13, root(first), root(13), [root(first), ...proof])).toBe(
        false,
      );
    }
  });

  it('from size 0 there is nothing to prove: refused both ways', () => {
    expectBadRequest(() => consistencyProof(tree, 0, 4));
    expect(verifyConsistency(0, 4, root(0), root(4), [])).toBe(false);
    expect(verifyConsistency(0, 0, root(0), root(0), [])).toBe(false);
  });

  it('builders refuse indexes and sizes outside the log with BAD_REQUEST', () => {
    expectBadRequest(() => inclusionProof(tree, 16, 16));
    expectBadRequest(() => inclusionProof(tree, 0, 0));
    expectBadRequest(() => inclusionProof(tree, 0, 17));
    expectBadRequest(() => inclusionProof(tree, -1, 4));
    expectBadRequest(() => inclusionProof(tree, 1.5, 4));
    expectBadRequest(() => inclusionProof(tree, Number.NaN, 4));
    expectBadRequest(() => consistencyProof(tree, 5, 4));
    expectBadRequest(() => consistencyProof(tree, 4, 17));
    expectBadRequest(() => rootHash(tree, 17));
    expectBadRequest(() => {
      tree.append(new Uint8Array(31));
    });
  });

  it('verifiers answer false, never throw, on hostile input', () => {
    const proof = inclusionProof(tree, 3, 16);
    const r = root(16);
    const leaf = leaves[3]!;
    const hostile: unknown[] = [
      null,
      undefined,
      'proof',
      [null],
      [new Uint8Array(31)],
      [new Uint8Array(33)],
      [...proof, new Uint8Array(0)],
      Array.from({ length: MAX_PROOF_HASHES + 1 }, () => r),
      Array.from({ length: 100_000 }, () => r),
      { length: 4, 0: r },
    ];
    for (const p of hostile) {
      expect(verifyInclusion(leaf, 3, 16, p as Uint8Array[], r)).toBe(false);
      expect(verifyConsistency(3, 16, root(3), r, p as Uint8Array[])).toBe(false);
    }
    const numbers: unknown[] = [-1, 1.5, Number.NaN, Infinity, 2 ** 53, '3', 3n, null];
    for (const n of numbers) {
      expect(verifyInclusion(leaf, n as number, 16, proof, r)).toBe(false);
      expect(verifyInclusion(leaf, 3, n as number, proof, r)).toBe(false);
      expect(verifyConsistency(n as number, 16, root(3), r, [])).toBe(false);
      expect(verifyConsistency(3, n as number, root(3), r, [])).toBe(false);
    }
    expect(verifyInclusion(leaf, 3, 16, proof, new Uint8Array(31))).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), 3, 16, proof, r)).toBe(false);
    expect(verifyInclusion(leaf, 16, 16, proof, r)).toBe(false);
    expect(verifyInclusion(leaf, 3, 0, [], r)).toBe(false);
    expect(verifyInclusion(leaf, 3, 16, proof, r)).toBe(true);
  });

  it('proofs at the largest safe sizes stay bounded and verify', () => {
    // A tree of 2^53 − 1 leaves cannot be built, but its proof lengths can be checked.
    const huge = Number.MAX_SAFE_INTEGER;
    // Every leaf the same, so a perfect node depends only on its level: a consistent tree.
    const byLevel = [leafHash(Buffer.from('same'))];
    for (let level = 1; level <= 53; level += 1) {
      byLevel.push(nodeHash(byLevel[level - 1]!, byLevel[level - 1]!));
    }
    const fake: MerkleNodeSource = { size: huge, perfectNode: (level) => byLevel[level]! };
    const proof = inclusionProof(fake, huge - 1, huge);
    expect(proof.length).toBeLessThanOrEqual(53);
    expect(verifyInclusion(byLevel[0]!, huge - 1, huge, proof, rootHash(fake))).toBe(true);
    const c = consistencyProof(fake, 2 ** 40 + 3, huge);
    expect(c.length).toBeLessThanOrEqual(MAX_PROOF_HASHES);
    expect(
      verifyConsistency(2 ** 40 + 3, huge, rootHash(fake, 2 ** 40 + 3), rootHash(fake), c),
    ).toBe(true);
  });

  it('a leaf-hash accessor that returns no 32-byte hash fails loudly, not with a wrong root', () => {
    const broken = leafHashSource(4, (i) => (i === 2 ? new Uint8Array(31) : leaves[i]!));
    let thrown: unknown;
    try {
      rootHash(broken);
    } catch (error) {
      thrown = error;
    }
    expect(isKomradeError(thrown, 'INTERNAL')).toBe(true);
    expect(rootHash(broken, 2)).toEqual(root(2));
  });

  it('proof hashes are copies: changing one does not change the tree', () => {
    const proof = inclusionProof(tree, 0, 16);
    proof[0]!.fill(0);
    expect(verifyInclusion(leaves[0]!, 0, 16, inclusionProof(tree, 0, 16), root(16))).toBe(true);
  });
});
