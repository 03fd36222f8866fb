/**
 * The RegistryLog port: the registry's transparency log (protocol v2). Every receipt the Operator
 * signs, a registration or a later ratchet-key update, is one leaf (`receiptLeaf`) of an RFC
 * 6962/9162 Merkle tree, appended in the same transaction as the row it vouches for, at the index
 * equal to the log's size then: the index is gapless because it comes from that transaction, not
 * from a sequence that could skip.
 */
import type { RegisteredKomrade } from './registry.js';

/** The log's tree head: its size and the root hash of its first `size` leaves. */
export interface LogHead {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** A name's newest leaf and its inclusion proof in the tree of a {@link LogHead}'s size. */
export interface LogLeafProof {
  /** The receipt the leaf holds (for a name, the newest: what lookups answer). */
  readonly entry: RegisteredKomrade;
  readonly index: number;
  /** RFC 9162 order: the deepest sibling first. */
  readonly hashes: readonly Uint8Array[];
}

/** Proofs for several names, all in the tree of one head (read at one moment). */
export interface LogInclusions {
  readonly head: LogHead;
  /** By name; a name with no leaf (none registered) is absent. */
  readonly proofs: ReadonlyMap<string, LogLeafProof>;
}

/** Read access to the log; the appends happen inside `register` and `setRatchetKey`. */
export interface RegistryLog {
  /** The newest head. */
  logHead(): Promise<LogHead>;
  /**
   * The newest leaf of each name and its inclusion proof, with the head they are proved
   * against, all read at one moment (so the proofs' size is the head's size).
   */
  logInclusions(names: readonly string[]): Promise<LogInclusions>;
  /**
   * The inclusion proof of leaf `index` in the tree of `size` leaves.
   * @throws KomradeError `BAD_REQUEST` unless index is below size and size at most the log's
   */
  logInclusionAt(index: number, size: number): Promise<Uint8Array[]>;
  /**
   * The consistency proof from the tree of `from` leaves to the tree of `to` leaves.
   * @throws KomradeError `BAD_REQUEST` unless 1 ≤ from ≤ to ≤ the log's size
   */
  logConsistency(from: number, to: number): Promise<Uint8Array[]>;
  /**
   * The receipts of leaves `start` to `end` − 1, in log order.
   * @throws KomradeError `BAD_REQUEST` unless 0 ≤ start ≤ end ≤ the log's size
   */
  logEntries(start: number, end: number): Promise<RegisteredKomrade[]>;
}
