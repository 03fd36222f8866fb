/** @module Transparency: an RFC 6962/9162 Merkle log's hashing and proofs, and C2SP checkpoints. */
export {
  HASH_BYTES,
  emptyRoot,
  isHash,
  isPowerOfTwo,
  isTreeSize,
  leafHash,
  nodeHash,
  sameHash,
  splitPoint,
} from './merkle-hash.js';
export {
  leafHashSource,
  rootHash,
  subtreeHash,
  type LeafHashAt,
  type MerkleNodeSource,
} from './merkle-nodes.js';
export { MemoryMerkleTree } from './memory-merkle-tree.js';
export {
  MAX_PROOF_HASHES,
  inclusionProof,
  rootFromInclusionProof,
  verifyInclusion,
} from './inclusion-proof.js';
export { consistencyProof, verifyConsistency } from './consistency-proof.js';
export {
  MAX_KEY_NAME_BYTES,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  cosignNote,
  decodeBase64Strict,
  formatSignedNote,
  isNoteKeyName,
  noteKeyId,
  noteSignatureLine,
  noteSigner,
  noteVerifier,
  openSignedNote,
  parseSignedNote,
  signNote,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type SignedNote,
  type VerifiedNote,
} from './signed-note.js';
export {
  MAX_CHECKPOINT_EXTENSIONS,
  MAX_CHECKPOINT_LINE_BYTES,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type CheckpointTrust,
  type VerifiedCheckpoint,
} from './checkpoint.js';
export { benchMerkle, type MerkleBenchResult, type ProofFigures } from './bench-merkle.js';
