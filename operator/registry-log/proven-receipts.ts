/** Receipts with their log proofs, as every answer that carries a receipt gives them. */
import type { LogProof } from '../../common/wire/index.js';
import type { RegistryLog } from '../store/registry-log.js';
import type { RegisteredKomrade } from '../store/registry.js';
import type { CheckpointSigner } from './checkpoint-signer.js';

/** A name's newest receipt (its newest leaf) and the proof that the signed checkpoint has it. */
export interface ProvenReceipt {
  readonly receipt: RegisteredKomrade;
  readonly proof: LogProof;
}

/**
 * The newest receipt of each name with its proof, all proved against one checkpoint: the head
 * and the proofs are read at one moment, so the checkpoint's size is every proof's size. The
 * receipt answered is the leaf's, so it always matches its proof, even if a ratchet-key update
 * landed since the caller read the name.
 * @throws Error when a name has no leaf (a registered name always has one: a damaged store)
 */
export async function provenReceipts(
  log: RegistryLog,
  checkpoints: CheckpointSigner,
  names: readonly string[],
): Promise<ProvenReceipt[]> {
  const { head, proofs } = await log.logInclusions(names);
  const checkpoint = checkpoints.note(head);
  return names.map((name) => {
    const found = proofs.get(name);
    if (found === undefined) throw new Error('a registered name has no leaf in the registry log');
    return {
      receipt: found.entry,
      proof: { index: found.index, size: head.size, hashes: found.hashes, checkpoint },
    };
  });
}

/** {@link provenReceipts} for one name. */
export async function provenReceipt(
  log: RegistryLog,
  checkpoints: CheckpointSigner,
  name: string,
): Promise<ProvenReceipt> {
  const [proven] = await provenReceipts(log, checkpoints, [name]);
  if (proven === undefined) throw new Error('no proven receipt for one name');
  return proven;
}
