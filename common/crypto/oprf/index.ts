/**
 * @module OPRF: RFC 9497 verifiable and partially-oblivious PRFs over ristretto255-SHA512, on
 * libsodium's ristretto255 primitives. The groundwork of anonymous tokens (issue 11).
 */
export {
  OPRF_ELEMENT_BYTES,
  OPRF_OUTPUT_BYTES,
  OPRF_PROOF_BYTES,
  OPRF_SCALAR_BYTES,
  type OprfMode,
  type OprfParams,
} from './suite.js';
export {
  checkOprfPublicKey,
  checkOprfSecretKey,
  deriveOprfKeyPair,
  generateOprfKeyPair,
  type OprfKeyPair,
} from './key-pair.js';
// Client: blind, then finalize (which checks the server's proof).
export { blind, finalize, type BlindOptions, type BlindedBatch } from './client.js';
// Server: evaluate a blinded batch with a proof, or an input in the clear (to check a token).
export {
  OPRF_MAX_BATCH,
  blindEvaluate,
  evaluate,
  evaluator,
  type BlindEvaluateOptions,
  type OprfEvaluation,
} from './server.js';
