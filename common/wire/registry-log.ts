/**
 * The registry's transparency log (protocol v2): every receipt the Operator signs, a registration
 * or a later key update, is appended as one leaf of an RFC 6962/9162 Merkle tree, and the Operator
 * signs the tree's head as a C2SP checkpoint. Every receipt it hands out carries a proof that it is
 * in the tree of a checkpoint; clients accept a newer checkpoint only with a consistency proof
 * from the one they remember, so the Operator cannot show one client a key it hides from others.
 */
import { z } from 'zod';
import { base64urlBytes, toBase64url } from './base64url.js';
import { bytesEqual, encodeCanonical } from './canonical.js';
import type { Receipt } from './registration.js';

/** The routes of the log; all unsigned GETs, with query parameters. */
export const LOG_ROUTES = Object.freeze({
  /** The newest signed checkpoint: `{ checkpoint }`. */
  checkpoint: '/v1/log/checkpoint',
  /** `?from=A&to=B` (`0 < A ≤ B ≤ size`): the consistency proof between two tree sizes. */
  consistency: '/v1/log/consistency',
  /**
   * `?start=S&end=E` (`S < E`, `S ≤ size`, `E − S ≤` {@link MAX_LOG_ENTRIES}): the receipts of leaves S
   * to E − 1; an `end` beyond the log's size is cut to it, so a page may be shorter.
   */
  entries: '/v1/log/entries',
});

/** The leaf encoding's tag: a leaf is never signed, so it is not one of the signature `TAGS`. */
export const LEAF_TAG = 'komrade/log-leaf/v1';

/** Most entries one page of {@link LOG_ROUTES.entries} answers. */
export const MAX_LOG_ENTRIES = 1000;
/** Most hashes a proof may have (a tree of 2^64 leaves needs 64; ours stay below 2^53). */
export const MAX_LOG_PROOF_HASHES = 64;
/** Bytes a checkpoint note may have on the wire (ours are about 250; witnesses add lines). */
export const MAX_CHECKPOINT_NOTE_BYTES = 4096;

/**
 * Where a receipt sits in the log: its leaf index, the tree size of `checkpoint` and the inclusion
 * proof (RFC 9162 order, deepest sibling first) of its leaf in that tree.
 */
export interface LogProof {
  readonly index: number;
  readonly size: number;
  readonly hashes: readonly Uint8Array[];
  /** The Operator-signed checkpoint note (C2SP) of the tree the proof is for. */
  readonly checkpoint: string;
}

const hash = base64urlBytes({ exact: 32 });
const treeSize = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const checkpointNote = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_CHECKPOINT_NOTE_BYTES, 'checkpoint too long');

/** A {@link LogProof} as JSON. */
export const logProofSchema = z.strictObject({
  index: treeSize,
  size: treeSize,
  hashes: z.array(hash).max(MAX_LOG_PROOF_HASHES),
  checkpoint: checkpointNote,
});

/** GET {@link LOG_ROUTES.checkpoint}. */
export const checkpointResponseSchema = z.strictObject({ checkpoint: checkpointNote });

/** GET {@link LOG_ROUTES.consistency}. */
export const consistencyResponseSchema = z.strictObject({
  from: treeSize,
  to: treeSize,
  hashes: z.array(hash).max(MAX_LOG_PROOF_HASHES),
});
export type ConsistencyProof = z.output<typeof consistencyResponseSchema>;

/** A proof as JSON (for the Operator's answers). */
export function logProofJson(proof: LogProof): Record<string, unknown> {
  return {
    index: proof.index,
    size: proof.size,
    hashes: proof.hashes.map(toBase64url),
    checkpoint: proof.checkpoint,
  };
}

/**
 * The log's origin line (and the checkpoint signature's key name) for an Operator: derived from
 * its pinned signing key, so a client needs no other setting to know which log it audits.
 */
export function registryOrigin(operatorSignKey: Uint8Array): string {
  return `komrade.operator/${toBase64url(operatorSignKey)}/registry`;
}

/**
 * The exact bytes of a leaf: the receipt's signed value and the Operator's signature over it, in
 * canonical CBOR under their own tag (so a leaf can never pass as anything else). The leaf hash is
 * RFC 6962's `SHA-256(0x00 ‖ leaf)`. `ratchetKey` is in it only when present, as in the signature.
 */
export function receiptLeaf(receipt: Receipt): Uint8Array {
  return encodeCanonical([
    LEAF_TAG,
    {
      name: receipt.name,
      signKey: receipt.signKey,
      boxKey: receipt.boxKey,
      keyHolder: receipt.keyHolder,
      ...(receipt.ratchetKey === null ? {} : { ratchetKey: receipt.ratchetKey }),
      registeredAt: receipt.registeredAt,
      sig: receipt.sig,
    },
  ]);
}

/**
 * Whether `next` may follow `previous` as a later leaf of the same name: the one allowed change is
 * a name registered before ratchet keys adding its ratchet key, everything else unchanged. Any
 * other second leaf for a name is the Operator rewriting a registration: what monitors look for.
 */
export function isAllowedKeyUpdate(previous: Receipt, next: Receipt): boolean {
  return (
    previous.name === next.name &&
    previous.ratchetKey === null &&
    next.ratchetKey !== null &&
    previous.keyHolder === next.keyHolder &&
    previous.registeredAt === next.registeredAt &&
    bytesEqual(previous.signKey, next.signKey) &&
    bytesEqual(previous.boxKey, next.boxKey)
  );
}
