/** The server's side (the Operator): evaluate blinded elements with a proof, and evaluate in the clear. */
import { KomradeError } from '../../errors/index.js';
import { lib } from '../sodium.js';
import { generateProof } from './dleq-proof.js';
import { decodeElement, decodeScalar, inputElement } from './group.js';
import { checkOprfSecretKey, type OprfKeyPair } from './key-pair.js';
import { outputHash } from './output-hash.js';
import { infoScalar } from './poprf-tweak.js';
import type { OprfParams } from './suite.js';

/** What the server returns for a batch: one evaluated element per blinded one, and one proof. */
export interface OprfEvaluation {
  readonly evaluatedElements: readonly Uint8Array[];
  readonly proof: Uint8Array;
}

/** Test seam for {@link blindEvaluate}. */
export interface BlindEvaluateOptions {
  /**
   * The proof's random scalar r. Only for the RFC's known-answer vectors: a repeated r under one
   * key reveals the key.
   */
  readonly dangerousTestOnlyProofScalar?: Uint8Array;
}

/** Most elements one {@link blindEvaluate} call takes (the composite index is 2 bytes). */
export const OPRF_MAX_BATCH = 0xffff;

/**
 * The scalar the elements are multiplied by, and the proof's secret t: skS for VOPRF; 1/t with
 * t = skS + m for POPRF.
 */
function evaluationKey(
  params: OprfParams,
  secretKey: Uint8Array,
): { multiplier: Uint8Array; t: Uint8Array } {
  const key = checkOprfSecretKey(secretKey);
  if (params.mode === 'VOPRF') return { multiplier: key, t: key };
  const sodium = lib();
  const t = sodium.crypto_core_ristretto255_scalar_add(key, infoScalar(params.info));
  if (sodium.is_zero(t)) {
    throw new KomradeError('KEY_INVALID', 'This OPRF key cannot serve this info (skS + m = 0).');
  }
  return { multiplier: sodium.crypto_core_ristretto255_scalar_invert(t), t };
}

/**
 * BlindEvaluate for a batch, with one batched DLEQ proof (RFC 9497 §3.3.2 and §3.3.3).
 *
 * @param params - the mode and, for POPRF, the public info (the epoch)
 * @param keyPair - the server's key
 * @param blindedElements - the client's blinded elements, as received
 * @param options - test seam only
 * @returns the evaluated elements, in order, and the proof
 * @throws KomradeError `BAD_REQUEST` when the batch is empty or too large, or an element is not a
 *   canonical non-identity ristretto255 encoding; `KEY_INVALID` for a malformed secret key
 * @example
 * ```ts
 * const { evaluatedElements, proof } = blindEvaluate({ mode: 'POPRF', info: epoch }, key, blinded);
 * ```
 */
export function blindEvaluate(
  params: OprfParams,
  keyPair: OprfKeyPair,
  blindedElements: readonly Uint8Array[],
  options: BlindEvaluateOptions = {},
): OprfEvaluation {
  if (blindedElements.length === 0 || blindedElements.length > OPRF_MAX_BATCH) {
    throw new KomradeError('BAD_REQUEST', 'An OPRF batch must hold 1 to 65535 elements.');
  }
  const blinded = blindedElements.map((element) => {
    const decoded = decodeElement(element);
    if (decoded === undefined) {
      throw new KomradeError(
        'BAD_REQUEST',
        'A blinded element is not a valid ristretto255 element.',
      );
    }
    return decoded;
  });
  const r = options.dangerousTestOnlyProofScalar;
  if (r !== undefined && (decodeScalar(r) === undefined || lib().is_zero(r))) {
    throw new Error('dangerousTestOnlyProofScalar must be a canonical non-zero scalar');
  }
  const sodium = lib();
  const { multiplier, t } = evaluationKey(params, keyPair.secretKey);
  const evaluated = blinded.map((element) =>
    sodium.crypto_scalarmult_ristretto255(multiplier, element),
  );
  // POPRF proves t·evaluated = blinded against t·G, so the proof runs from evaluated to blinded.
  const proof =
    params.mode === 'VOPRF'
      ? generateProof(params.mode, t, keyPair.publicKey, blinded, evaluated, r)
      : generateProof(
          params.mode,
          t,
          sodium.crypto_scalarmult_ristretto255_base(t),
          evaluated,
          blinded,
          r,
        );
  return { evaluatedElements: evaluated, proof };
}

/**
 * Evaluate: the output for `input` computed directly with the secret key, as the client's
 * Finalize computes it blindly. The Operator uses it to check a spent token.
 *
 * @throws KomradeError `BAD_REQUEST` when `input` is longer than 65535 bytes; `KEY_INVALID` for a
 *   malformed secret key or one that cannot serve this info
 */
export function evaluate(params: OprfParams, secretKey: Uint8Array, input: Uint8Array): Uint8Array {
  const { multiplier } = evaluationKey(params, secretKey);
  const element = lib().crypto_scalarmult_ristretto255(
    multiplier,
    inputElement(params.mode, input),
  );
  return outputHash(params, input, element);
}

/**
 * Evaluate bound to one key and one info (one token epoch): the key's inverse and the info's
 * tweak are computed once, so checking each spent token costs one hash to the group, one scalar
 * multiplication and one SHA-512.
 *
 * @throws KomradeError `KEY_INVALID` for a malformed secret key or one that cannot serve this info
 * @example
 * ```ts
 * const check = evaluator({ mode: 'POPRF', info: tokenEpochInfo(epoch) }, secretKey);
 * const expected = check(token.input);
 * ```
 */
export function evaluator(
  params: OprfParams,
  secretKey: Uint8Array,
): (input: Uint8Array) => Uint8Array {
  const { multiplier } = evaluationKey(params, secretKey);
  const sodium = lib();
  return (input) =>
    outputHash(
      params,
      input,
      sodium.crypto_scalarmult_ristretto255(multiplier, inputElement(params.mode, input)),
    );
}
