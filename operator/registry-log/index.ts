/** @module The Operator's side of the registry log: signed checkpoints and proven receipts. */
export { CheckpointSigner } from './checkpoint-signer.js';
export { provenReceipt, provenReceipts, type ProvenReceipt } from './proven-receipts.js';
