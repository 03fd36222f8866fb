/**
 * Published Merkle log vectors, byte for byte: Certificate Transparency's reference tree (roots,
 * node hashes, audit paths, consistency proofs), transparency-dev/merkle's verification probes,
 * and the accumulated subtree vectors of draft-ietf-plants-merkle-tree-certs (every inclusion and
 * consistency proof for trees of up to 130 leaves). Origins: test/fixtures/transparency/README.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MemoryMerkleTree,
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  leafHashSource,
  rootHash,
  subtreeHash,
  verifyConsistency,
  verifyInclusion,
  type MerkleNodeSource,
} from '../../../common/transparency/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/transparency/${name}`, import.meta.url), 'utf8'));
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const b64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface ReferenceTree {
  emptyRoot: string;
  leaves: string[];
  rootsBySize: string[];
  nodeHashesByLevel: string[][];
  inclusionProofs: { leafNumber: number; size: number; proof: string[] }[];
  consistencyProofs: { first: number; second: number; proof: string[] }[];
}
interface InclusionProbe {
  file: string;
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[];
  desc: string;
  wantErr: boolean;
}
interface ConsistencyProbe {
  file: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
  desc: string;
  wantErr: boolean;
}
interface SubtreeVectors {
  leafCount: number;
  sha256OfAllLines: { subtreeHash: string; subtreeInclusion: string; subtreeConsistency: string };
}

const REF = fixture('rfc6962-reference-tree.json') as ReferenceTree;
const refTree = new MemoryMerkleTree();
for (const leaf of REF.leaves) refTree.append(leafHash(hex(leaf)));
const refLeafHashes = REF.leaves.map((leaf) => leafHash(hex(leaf)));

describe('Certificate Transparency reference tree (RFC 6962 test data)', () => {
  it('hashes the empty tree to SHA-256("")', () => {
    expect(toHex(emptyRoot())).toBe(REF.emptyRoot);
    expect(toHex(rootHash(refTree, 0))).toBe(REF.emptyRoot);
  });

  it('computes the root of every size 0..8, from stored nodes and from leaf hashes alone', () => {
    REF.rootsBySize.forEach((root, size) => {
      expect(toHex(rootHash(refTree, size))).toBe(root);
      const fromLeaves = leafHashSource(size, (i) => refLeafHashes[i]!);
      expect(toHex(rootHash(fromLeaves))).toBe(root);
    });
  });

  it('computes every complete subtree hash', () => {
    REF.nodeHashesByLevel.forEach((level, l) => {
      level.forEach((node, i) => {
        expect(toHex(refTree.perfectNode(l, i))).toBe(node);
        expect(toHex(subtreeHash(refTree, i * 2 ** l, (i + 1) * 2 ** l))).toBe(node);
      });
    });
  });

  it.each(REF.inclusionProofs)(
    'builds and checks the audit path of leaf $leafNumber in a tree of $size',
    ({ leafNumber, size, proof }) => {
      const index = leafNumber - 1;
      const built = inclusionProof(refTree, index, size);
      expect(built.map(toHex)).toEqual(proof);
      const root = hex(REF.rootsBySize[size]!);
      expect(verifyInclusion(refLeafHashes[index]!, index, size, proof.map(hex), root)).toBe(true);
    },
  );

  it.each(REF.consistencyProofs)(
    'builds and checks the consistency proof from $first to $second',
    ({ first, second, proof }) => {
      expect(consistencyProof(refTree, first, second).map(toHex)).toEqual(proof);
      const [r1, r2] = [hex(REF.rootsBySize[first]!), hex(REF.rootsBySize[second]!)];
      expect(verifyConsistency(first, second, r1, r2, proof.map(hex))).toBe(true);
    },
  );
});

/**
 * Probes where Komrade is stricter than transparency-dev/merkle, on purpose: every root is 32
 * bytes (their verifier compares roots of any length when the sizes are equal).
 */
const STRICTER: Record<string, boolean> = {
  'consistency/additional/sizes-are-equal-one-and-proof-is-empty.json': true,
};

describe('transparency-dev/merkle verification probes', () => {
  const inclusion = fixture('transparency-dev-inclusion-probes.json') as {
    probes: InclusionProbe[];
  };
  const consistency = fixture('transparency-dev-consistency-probes.json') as {
    probes: ConsistencyProbe[];
  };

  it('has the probes it should (both accepted and refused)', () => {
    expect(inclusion.probes.length).toBeGreaterThan(90);
    expect(consistency.probes.length).toBeGreaterThan(90);
    expect(inclusion.probes.some((p) => !p.wantErr)).toBe(true);
    expect(consistency.probes.some((p) => !p.wantErr)).toBe(true);
  });

  it.each(inclusion.probes)('inclusion $file ($desc)', (p) => {
    const ok = verifyInclusion(
      b64(p.leafHash),
      p.leafIdx,
      p.treeSize,
      p.proof.map(b64),
      b64(p.root),
    );
    expect(ok).toBe(!(p.wantErr || STRICTER[p.file] === true));
  });

  it.each(consistency.probes)('consistency $file ($desc)', (p) => {
    const ok = verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), p.proof.map(b64));
    expect(ok).toBe(!(p.wantErr || STRICTER[p.file] === true));
  });
});

describe('draft-ietf-plants-merkle-tree-certs accumulated subtree vectors', () => {
  const V = fixture('mtc-subtree-vectors.json') as SubtreeVectors;
  const n = V.leafCount;
  const tree = new MemoryMerkleTree();
  for (let i = 0; i < n; i += 1) tree.append(leafHash(Uint8Array.of(i)));

  const bitCeil = (x: number): number => {
    let p = 1;
    while (p < x) p *= 2;
    return p;
  };
  const valid = (start: number, end: number): boolean =>
    start === 0 || start === end || start % bitCeil(end - start) === 0;
  /** The aligned subtree [start, start + size) seen as a tree of its own. */
  const shifted = (start: number, size: number): MerkleNodeSource => ({
    size,
    perfectNode: (level, index) => tree.perfectNode(level, index + start / 2 ** level),
  });
  const line = (prefix: string, proof: readonly Uint8Array[]): string =>
    `${prefix}${proof.map((h) => ` ${toHex(h)}`).join('')}\n`;
  const digest = (lines: Iterable<string>): string => {
    const h = createHash('sha256');
    for (const l of lines) h.update(l);
    return h.digest('hex');
  };
  function* validSubtrees(maxEnd: number): Generator<[number, number]> {
    for (let end = 0; end <= maxEnd; end += 1) {
      for (let start = 0; start <= end; start += 1) if (valid(start, end)) yield [start, end];
    }
  }

  it('every subtree hash (MTH of d[start:end])', () => {
    const lines = function* () {
      for (const [start, end] of validSubtrees(n)) {
        yield `[${start}, ${end}) ${toHex(subtreeHash(tree, start, end))}\n`;
      }
    };
    expect(digest(lines())).toBe(V.sha256OfAllLines.subtreeHash);
  });

  it('every inclusion proof, each checked by the verifier too', () => {
    let checked = 0;
    const lines = function* () {
      for (const [start, end] of validSubtrees(n)) {
        const source = shifted(start, end - start);
        const root = rootHash(source);
        for (let index = start; index < end; index += 1) {
          const proof = inclusionProof(source, index - start);
          expect(
            verifyInclusion(tree.perfectNode(0, index), index - start, end - start, proof, root),
          ).toBe(true);
          checked += 1;
          yield line(`${index} [${start}, ${end})`, proof);
        }
      }
    };
    expect(digest(lines())).toBe(V.sha256OfAllLines.subtreeInclusion);
    expect(checked).toBeGreaterThan(8000);
  });

  it('every consistency proof (start 0: the RFC proof between two sizes, each verified)', () => {
    let checked = 0;
    const lines = function* () {
      for (let size = 0; size <= n; size += 1) {
        for (const [start, end] of validSubtrees(size)) {
          yield line(`[${start}, ${end}) ${size}`, subtreeConsistency(start, end, size));
          if (start === 0 && end > 0) {
            const proof = consistencyProof(tree, end, size);
            const ok = verifyConsistency(
              end,
              size,
              rootHash(tree, end),
              rootHash(tree, size),
              proof,
            );
            expect(ok).toBe(true);
            checked += 1;
          }
        }
      }
    };
    expect(digest(lines())).toBe(V.sha256OfAllLines.subtreeConsistency);
    expect(checked).toBe((n * (n + 1)) / 2);
  });

  /**
   * The draft's subtree consistency proof, built from this module's parts: walk down the tree of
   * `size` leaves to the node whose leftmost part is [start, end), prove that prefix with the RFC
   * consistency proof inside that node, then add the siblings passed on the way down.
   */
  function subtreeConsistency(start: number, end: number, size: number): Uint8Array[] {
    if (start === end) return [];
    let [a, b] = [0, size];
    const siblings: Uint8Array[] = [];
    while (a !== start) {
      const k = bitCeil(b - a) / 2;
      if (end <= a + k) {
        siblings.push(subtreeHash(tree, a + k, b));
        b = a + k;
      } else {
        siblings.push(subtreeHash(tree, a, a + k));
        a += k;
      }
    }
    return [...consistencyProof(shifted(a, b - a), end - start), ...siblings.reverse()];
  }
});
