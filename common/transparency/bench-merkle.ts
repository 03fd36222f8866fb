/**
 * A micro-benchmark of the log's Merkle tree, for the lead's `npm run bench`: build a tree of
 * `leaves` leaf hashes in memory (2 × 32 bytes a leaf), then time proofs and their checks.
 */
import { performance } from 'node:perf_hooks';
import { KomradeError } from '../errors/index.js';
import { consistencyProof, verifyConsistency } from './consistency-proof.js';
import { inclusionProof, verifyInclusion } from './inclusion-proof.js';
import { HASH_BYTES, leafHash } from './merkle-hash.js';
import { rootHash } from './merkle-nodes.js';
import { MemoryMerkleTree } from './memory-merkle-tree.js';

/** Figures for one kind of proof: its size, and mean times to build and to check one. */
export interface ProofFigures {
  readonly samples: number;
  readonly meanHashes: number;
  readonly maxHashes: number;
  readonly maxBytes: number;
  readonly buildMicros: number;
  readonly verifyMicros: number;
}

export interface MerkleBenchResult {
  readonly leaves: number;
  /** Time to hash every entry and append it (leaf hashing included). */
  readonly appendMillis: number;
  readonly rootMicros: number;
  /** Bytes the tree's buffers hold (leaf hashes and every interior node). */
  readonly treeBytes: number;
  readonly inclusion: ProofFigures;
  readonly consistency: ProofFigures;
}

/** Deterministic sample positions (xorshift32): the same run on every machine. */
function sampler(seed: number): (below: number) => number {
  let state = seed >>> 0 || 1;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return Math.floor((state / 0x1_0000_0000) * below);
  };
}

function figures(
  samples: number,
  lengths: readonly number[],
  buildMs: number,
  verifyMs: number,
): ProofFigures {
  const total = lengths.reduce((sum, n) => sum + n, 0);
  const max = Math.max(0, ...lengths);
  return {
    samples,
    meanHashes: total / Math.max(1, samples),
    maxHashes: max,
    maxBytes: max * HASH_BYTES,
    buildMicros: (buildMs * 1000) / Math.max(1, samples),
    verifyMicros: (verifyMs * 1000) / Math.max(1, samples),
  };
}

/** Runs the benchmark; throws if any proof fails to verify (a broken tree is not a result). */
export function benchMerkle(
  options: { readonly leaves?: number; readonly samples?: number } = {},
): MerkleBenchResult {
  const leaves = options.leaves ?? 1_000_000;
  const samples = options.samples ?? 2_000;
  const tree = new MemoryMerkleTree(leaves);
  const entry = Buffer.alloc(8);
  let started = performance.now();
  for (let i = 0; i < leaves; i += 1) {
    entry.writeDoubleBE(i, 0);
    tree.append(leafHash(entry));
  }
  const appendMillis = performance.now() - started;
  started = performance.now();
  const root = rootHash(tree);
  const rootMicros = (performance.now() - started) * 1000;
  const next = sampler(0x5eed);

  const indexes = Array.from({ length: samples }, () => next(leaves));
  started = performance.now();
  const paths = indexes.map((index) => inclusionProof(tree, index));
  const buildInclusion = performance.now() - started;
  const leafHashes = indexes.map((index) => Uint8Array.from(tree.perfectNode(0, index)));
  started = performance.now();
  const inclusionFailures = paths.filter(
    (path, i) => !verifyInclusion(leafHashes[i] ?? root, indexes[i] ?? 0, leaves, path, root),
  ).length;
  const verifyInclusionMs = performance.now() - started;

  const firsts = Array.from({ length: samples }, () => 1 + next(Math.max(1, leaves - 1)));
  const firstRoots = firsts.map((first) => rootHash(tree, first));
  started = performance.now();
  const proofs = firsts.map((first) => consistencyProof(tree, first));
  const buildConsistency = performance.now() - started;
  started = performance.now();
  const consistencyFailures = proofs.filter(
    (proof, i) => !verifyConsistency(firsts[i] ?? 1, leaves, firstRoots[i] ?? root, root, proof),
  ).length;
  const verifyConsistencyMs = performance.now() - started;
  if (inclusionFailures + consistencyFailures > 0) {
    throw new KomradeError('INTERNAL', 'benchMerkle: a proof failed to verify');
  }

  let treeBytes = 0;
  for (let count = leaves; count >= 1; count = Math.floor(count / 2)) {
    treeBytes += count * HASH_BYTES;
  }
  return {
    leaves,
    appendMillis,
    rootMicros,
    treeBytes,
    inclusion: figures(
      samples,
      paths.map((p) => p.length),
      buildInclusion,
      verifyInclusionMs,
    ),
    consistency: figures(
      samples,
      proofs.map((p) => p.length),
      buildConsistency,
      verifyConsistencyMs,
    ),
  };
}
