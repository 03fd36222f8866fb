/**
 * `RegistryAuditor`: the client's side of the registry's transparency log. It checks that every
 * receipt the Operator hands out is in a tree the Operator signed, remembers the newest checkpoint
 * it verified, and accepts another one only with a consistency proof (or, at the same size, an
 * equal root). When two things the Operator signed cannot both be true it keeps the evidence and
 * stops the client for good: `LOG_INCONSISTENT`, never a silent retry.
 */
import { KomradeError, isKomradeError, type Result } from '../../common/errors/index.js';
import {
  emptyRoot,
  leafHash,
  noteVerifier,
  openCheckpoint,
  sameHash,
  verifyConsistency,
  verifyInclusion,
  type CheckpointTrust,
  type VerifiedCheckpoint,
} from '../../common/transparency/index.js';
import {
  receiptLeaf,
  registryOrigin,
  toBase64url,
  type LogProof,
  type Receipt,
} from '../../common/wire/index.js';
import type { OperatorClient } from '../operator-client/operator-client.js';
import {
  logInconsistentError,
  type CheckpointSource,
  type LogEvidence,
  type LogEvidenceKind,
} from './log-evidence.js';

/** What the auditor keeps: the local store's part for the log (see `LocalStore`). */
export interface LogAuditStore {
  /** The newest checkpoint note (as signed) this client verified, if any. */
  logCheckpoint(): string | undefined;
  saveLogCheckpoint(note: string): void;
  /** Evidence of an inconsistent log, once found; while it is kept the client is stopped. */
  logEvidence(): LogEvidence | undefined;
  saveLogEvidence(evidence: LogEvidence): void;
  clearLogEvidence(): void;
}

/** What a {@link RegistryAuditor} is built from. */
export interface RegistryAuditorDeps {
  /**
   * Where checkpoints and consistency proofs come from: the Operator itself, not a wrapper that
   * refuses calls once the client is stopped.
   */
  readonly operator: Pick<OperatorClient, 'logCheckpoint' | 'logConsistency'>;
  readonly store: LogAuditStore;
  /** The pinned Operator signing key (the log's key; its origin is derived from it). */
  readonly operatorKey: () => Promise<Uint8Array>;
  /** The clock (ms since the epoch), for the evidence's time. */
  readonly now: () => number;
}

/** What {@link openCheckpoint} needs to open the log's checkpoints of the Operator `signKey`. */
export function registryTrust(operatorSignKey: Uint8Array): CheckpointTrust {
  const origin = registryOrigin(operatorSignKey);
  return { origin, log: noteVerifier(origin, operatorSignKey) };
}

/**
 * Opens a checkpoint note of the registry log of the Operator `operatorSignKey`: its signature
 * and origin must be that Operator's. Never throws.
 */
export function openRegistryCheckpoint(
  note: string,
  operatorSignKey: Uint8Array,
): Result<VerifiedCheckpoint> {
  return openCheckpoint(note, registryTrust(operatorSignKey));
}

/** Why {@link checkReceiptProof} refused a receipt's proof. */
export type ReceiptProofFailure =
  /** No proof, a checkpoint the key did not sign, or sizes that do not fit: a malformed answer. */
  | { readonly kind: 'malformed'; readonly reason: string }
  /** A well-formed proof from a signed checkpoint that does not lead to its root: a provable lie. */
  | { readonly kind: 'not-included'; readonly checkpoint: VerifiedCheckpoint };

/**
 * Checks a receipt's log proof alone (no remembered checkpoint): its checkpoint is signed by
 * `operatorSignKey`, of the proof's size, and the receipt's leaf is at the proof's index in it.
 * The signature of the receipt itself is the caller's to check (`verifyReceipt`).
 */
export function checkReceiptProof(
  receipt: Receipt,
  operatorSignKey: Uint8Array,
):
  | { readonly ok: true; readonly checkpoint: VerifiedCheckpoint; readonly proof: LogProof }
  | ({ readonly ok: false } & ReceiptProofFailure) {
  const proof = receipt.proof;
  if (proof === undefined) return { ok: false, kind: 'malformed', reason: 'carries no log proof' };
  const opened = openRegistryCheckpoint(proof.checkpoint, operatorSignKey);
  if (!opened.ok) {
    return {
      ok: false,
      kind: 'malformed',
      reason: `has a log checkpoint its pinned key did not sign (${opened.error.message})`,
    };
  }
  const { size, rootHash } = opened.value.checkpoint;
  if (proof.size !== size || proof.index >= size) {
    return {
      ok: false,
      kind: 'malformed',
      reason: `has a log proof for leaf ${proof.index} of ${proof.size} with a checkpoint of ${size}`,
    };
  }
  if (!verifyInclusion(leafHash(receiptLeaf(receipt)), proof.index, size, proof.hashes, rootHash)) {
    return { ok: false, kind: 'not-included', checkpoint: opened.value };
  }
  return { ok: true, checkpoint: opened.value, proof };
}

const describe = (note: VerifiedCheckpoint) =>
  `size ${note.checkpoint.size}, root ${Buffer.from(note.checkpoint.rootHash).toString('base64')}`;

/**
 * Audits the Operator's registry log for one client. Observations run one at a time. Once
 * evidence is kept, every method that could talk to the Operator throws `LOG_INCONSISTENT`.
 *
 * @example
 * ```ts
 * const auditor = new RegistryAuditor({ operator, store, operatorKey: async () => pinned, now });
 * await auditor.checkReceipt(await operator.lookup('bob')); // throws unless in the signed log
 * await auditor.audit();                                    // the Operator's newest, checked
 * ```
 */
export class RegistryAuditor {
  readonly #deps: RegistryAuditorDeps;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: RegistryAuditorDeps) {
    this.#deps = deps;
  }

  /** The evidence kept, if the log was ever found inconsistent (for display; public data). */
  logEvidence(): LogEvidence | undefined {
    return this.#deps.store.logEvidence();
  }

  /**
   * Forgets the evidence, so the client talks to the Operator again: only for a komrade who
   * decided so (e.g. after moving to another Operator). Never called on its own.
   */
  clearLogEvidence(): void {
    this.#deps.store.clearLogEvidence();
  }

  /** The newest checkpoint note verified here (what letters gossip), if any. */
  newestCheckpoint(): string | undefined {
    return this.#deps.store.logCheckpoint();
  }

  /** @throws `LOG_INCONSISTENT` once evidence is kept */
  assertConsistent(): void {
    const evidence = this.#deps.store.logEvidence();
    if (evidence !== undefined) throw logInconsistentError(evidence);
  }

  /**
   * Opens a checkpoint note with the pinned Operator key, without observing it (e.g. a gossiped
   * one, whose bad signature is the sender's lie, not the Operator's). Never throws but what
   * reading the pinned key throws.
   */
  async openCheckpoint(note: string): Promise<Result<VerifiedCheckpoint>> {
    return openRegistryCheckpoint(note, await this.#deps.operatorKey());
  }

  /**
   * Checks a receipt (already verified against the pinned key) is in the log: its proof's
   * checkpoint signed by the pinned key, of the proof's size, the receipt's leaf included at the
   * proof's index; then observes that checkpoint.
   * @throws `OPERATOR_ERROR` for a missing or malformed proof; `LOG_INCONSISTENT` (evidence kept)
   * for an inclusion proof that fails against the checkpoint the Operator signed, or a checkpoint
   * inconsistent with the one remembered; what fetching a consistency proof throws
   */
  async checkReceipt(receipt: Receipt): Promise<VerifiedCheckpoint> {
    return this.#serial(async () => {
      this.assertConsistent();
      const checked = checkReceiptProof(receipt, await this.#deps.operatorKey());
      if (!checked.ok) {
        if (checked.kind === 'malformed') {
          throw new KomradeError(
            'OPERATOR_ERROR',
            `The Operator's receipt for @${receipt.name} ${checked.reason}; refusing to use it.`,
          );
        }
        const proof = receipt.proof as LogProof;
        throw this.#found({
          kind: 'not-included',
          message: `The Operator's receipt for @${receipt.name} is not in the log it signed (leaf ${proof.index} of ${proof.size}).`,
          checked: `inclusion of @${receipt.name}'s receipt at leaf ${proof.index} in the checkpoint of ${describe(checked.checkpoint)}`,
          source: 'operator',
          presented: proof.checkpoint,
          index: proof.index,
          leaf: toBase64url(receiptLeaf(receipt)),
          hashes: proof.hashes.map(toBase64url),
        });
      }
      return this.#observe(checked.proof.checkpoint, checked.checkpoint, 'operator');
    });
  }

  /**
   * Compares a checkpoint with the newest one remembered: none yet, it is adopted; a newer one is
   * adopted once the Operator's consistency proof from the remembered one verifies; an older one
   * must be proven a prefix of the remembered one (which stays); one of the same size must have
   * the same root.
   * @param source - `operator`, or `gossip from @name` for one a letter carried
   * @throws `OPERATOR_ERROR` for a note the pinned key did not sign; `LOG_INCONSISTENT` (evidence
   * kept) when the Operator's own signatures disagree; a network failure as it came (not evidence)
   */
  async observe(note: string, source: CheckpointSource): Promise<VerifiedCheckpoint> {
    return this.#serial(async () => {
      this.assertConsistent();
      const opened = openRegistryCheckpoint(note, await this.#deps.operatorKey());
      if (!opened.ok) {
        throw new KomradeError(
          'OPERATOR_ERROR',
          `A registry checkpoint (${source}) is not signed by the pinned Operator key: ${opened.error.message}`,
        );
      }
      return this.#observe(note, opened.value, source);
    });
  }

  /**
   * Fetches the Operator's newest checkpoint and observes it: the consistency check on demand.
   * @throws as {@link RegistryAuditor.observe}
   */
  async audit(): Promise<VerifiedCheckpoint> {
    this.assertConsistent();
    return this.observe(await this.#deps.operator.logCheckpoint(), 'operator');
  }

  async #observe(
    note: string,
    presented: VerifiedCheckpoint,
    source: CheckpointSource,
  ): Promise<VerifiedCheckpoint> {
    const { store } = this.#deps;
    const p = presented.checkpoint;
    const base = { source, presented: note };
    if (p.size === 0 && !sameHash(p.rootHash, emptyRoot())) {
      throw this.#found({
        ...base,
        kind: 'inconsistent',
        message: 'The Operator signed an empty registry log whose root is not the empty root.',
        checked: `the root of a checkpoint of size 0 (${describe(presented)})`,
        hashes: [],
      });
    }
    const rememberedNote = store.logCheckpoint();
    if (rememberedNote === note) return presented;
    const opened =
      rememberedNote === undefined
        ? undefined
        : openRegistryCheckpoint(rememberedNote, await this.#deps.operatorKey());
    // Nothing remembered (or nothing this key signed, which cannot be ours): start from this one.
    if (opened === undefined || !opened.ok || rememberedNote === undefined) {
      store.saveLogCheckpoint(note);
      return presented;
    }
    const remembered = opened.value;
    const r = remembered.checkpoint;
    const pair = { ...base, remembered: rememberedNote };
    if (p.size === r.size) {
      if (sameHash(p.rootHash, r.rootHash)) return presented;
      throw this.#found({
        ...pair,
        kind: 'fork',
        message: `The Operator signed two different registry logs of ${p.size} entries (${source}).`,
        checked: `the roots of two checkpoints of size ${p.size}`,
        hashes: [],
      });
    }
    const newer = p.size > r.size;
    const [first, second] = newer ? [remembered, presented] : [presented, remembered];
    const from = first.checkpoint.size;
    const to = second.checkpoint.size;
    // Every tree extends the empty one (whose root was checked above): nothing to prove.
    if (from > 0) {
      const checked = `consistency ${from} → ${to} between the remembered checkpoint and one from ${source}`;
      let hashes: readonly Uint8Array[];
      try {
        hashes = await this.#deps.operator.logConsistency(from, to);
      } catch (error) {
        // Refusing to prove two sizes it signed is the Operator's answer, not a network failure.
        if (!isKomradeError(error, 'BAD_REQUEST')) throw error;
        throw this.#found({
          ...pair,
          kind: 'inconsistent',
          message: `The Operator refused to prove its registry log of ${from} entries is a prefix of the one of ${to} it signed (${source}).`,
          checked: `${checked}: refused (${error.message})`,
          from,
          to,
          hashes: [],
        });
      }
      if (
        !verifyConsistency(from, to, first.checkpoint.rootHash, second.checkpoint.rootHash, hashes)
      ) {
        throw this.#found({
          ...pair,
          kind: 'inconsistent',
          message: `The Operator's registry log of ${from} entries is not a prefix of the one of ${to} it signed (${source}).`,
          checked,
          from,
          to,
          hashes: hashes.map(toBase64url),
        });
      }
    }
    if (newer) store.saveLogCheckpoint(note);
    return newer ? presented : remembered;
  }

  /** Keeps the evidence (the client stops) and returns the error to throw. */
  #found(found: {
    readonly kind: LogEvidenceKind;
    readonly message: string;
    readonly checked: string;
    readonly source: CheckpointSource;
    readonly presented: string;
    readonly remembered?: string;
    readonly from?: number;
    readonly to?: number;
    readonly index?: number;
    readonly leaf?: string;
    readonly hashes: readonly string[];
  }): KomradeError {
    const evidence: LogEvidence = { v: 1, detectedAt: this.#deps.now(), ...found };
    // The first evidence stays: it is what the komrade is shown.
    if (this.#deps.store.logEvidence() === undefined) this.#deps.store.saveLogEvidence(evidence);
    return logInconsistentError(this.#deps.store.logEvidence() ?? evidence);
  }

  /** Runs `task` after every observation queued before it. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
