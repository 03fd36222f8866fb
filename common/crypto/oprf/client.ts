/** The client's side: blind inputs, then check the server's proof and unblind the outputs. */
import { KomradeError } from '../../errors/index.js';
import { lib } from '../sodium.js';
import { verifyProof } from './dleq-proof.js';
import { decodeElement, decodeScalar, inputElement, isIdentity, randomScalar } from './group.js';
import { checkOprfPublicKey } from './key-pair.js';
import { outputHash } from './output-hash.js';
import { infoScalar } from './poprf-tweak.js';
import type { OprfEvaluation } from './server.js';
import type { OprfMode, OprfParams } from './suite.js';

/** A blinded batch: the blinds stay with the client; the blinded elements go to the server. */
export interface BlindedBatch {
  readonly inputs: readonly Uint8Array[];
  readonly blinds: readonly Uint8Array[];
  readonly blindedElements: readonly Uint8Array[];
}

/** Test seam for {@link blind}. */
export interface BlindOptions {
  /**
   * One blind per input. Only for the RFC's known-answer vectors: a known blind makes the token
   * linkable to its issuance.
   */
  readonly dangerousTestOnlyBlinds?: readonly Uint8Array[];
}

/**
 * Blind: hashes each input to the group and multiplies it by a fresh random blind, so the server
 * learns nothing about the inputs (RFC 9497 §3.3.2).
 *
 * @param mode - VOPRF or POPRF (the hash-to-group tag depends on it)
 * @param inputs - the private inputs, e.g. random token nonces
 * @param options - test seam only
 * @throws KomradeError `BAD_REQUEST` for an input longer than 65535 bytes or one that maps to
 *   the identity
 * @example
 * ```ts
 * const batch = blind('POPRF', [randomBytes(32)]);
 * ```
 */
export function blind(
  mode: OprfMode,
  inputs: readonly Uint8Array[],
  options: BlindOptions = {},
): BlindedBatch {
  const fixed = options.dangerousTestOnlyBlinds;
  if (fixed !== undefined) {
    const usable = (b: Uint8Array) => decodeScalar(b) !== undefined && !lib().is_zero(b);
    if (fixed.length !== inputs.length || !fixed.every(usable)) {
      throw new Error('dangerousTestOnlyBlinds: one canonical non-zero scalar per input');
    }
  }
  const sodium = lib();
  const blinds: Uint8Array[] = [];
  const blindedElements: Uint8Array[] = [];
  inputs.forEach((input, i) => {
    if (input.length > 0xffff) {
      throw new KomradeError('BAD_REQUEST', 'An OPRF input is longer than 65535 bytes.');
    }
    const scalar = fixed?.[i] ?? randomScalar();
    blinds.push(scalar);
    blindedElements.push(sodium.crypto_scalarmult_ristretto255(scalar, inputElement(mode, input)));
  });
  return { inputs, blinds, blindedElements };
}

function refuse(reason: string): KomradeError {
  return new KomradeError('TOKEN_PROOF_INVALID', `The Operator's OPRF evaluation ${reason}.`);
}

/**
 * Finalize: verifies the server's batched proof against its public key (for POPRF, the key
 * tweaked by `info`), then unblinds each evaluated element and hashes it into the output.
 *
 * @param params - the mode and, for POPRF, the public info the server must have used
 * @param publicKey - the server's published OPRF key, pinned by the client
 * @param batch - what {@link blind} returned
 * @param evaluation - what the server answered
 * @returns one 64-byte output per input, in order
 * @throws KomradeError `TOKEN_PROOF_INVALID` when the answer has the wrong size, holds a
 *   malformed or identity element, or its proof does not verify (another key, another info, or
 *   altered elements: the server may be trying to tag this client); `KEY_INVALID` for a
 *   malformed public key, or one that cannot serve this info
 */
export function finalize(
  params: OprfParams,
  publicKey: Uint8Array,
  batch: BlindedBatch,
  evaluation: OprfEvaluation,
): Uint8Array[] {
  const sodium = lib();
  const pk = checkOprfPublicKey(publicKey);
  const count = batch.blindedElements.length;
  if (batch.inputs.length !== count || batch.blinds.length !== count) {
    throw new Error('finalize: the batch is not what blind() returned');
  }
  if (evaluation.evaluatedElements.length !== count) {
    throw refuse('has the wrong number of elements');
  }
  const evaluated: Uint8Array[] = [];
  for (const element of evaluation.evaluatedElements) {
    const decoded = decodeElement(element);
    if (decoded === undefined) throw refuse('holds an invalid element');
    evaluated.push(decoded);
  }
  let verified: boolean;
  if (params.mode === 'VOPRF') {
    verified = verifyProof(params.mode, pk, batch.blindedElements, evaluated, evaluation.proof);
  } else {
    const tweakedKey = sodium.crypto_core_ristretto255_add(
      sodium.crypto_scalarmult_ristretto255_base(infoScalar(params.info)),
      pk,
    );
    if (isIdentity(tweakedKey)) {
      throw new KomradeError('KEY_INVALID', 'This OPRF key cannot serve this info.');
    }
    verified = verifyProof(
      params.mode,
      tweakedKey,
      evaluated,
      batch.blindedElements,
      evaluation.proof,
    );
  }
  if (!verified) throw refuse('comes with a proof that does not verify against its published key');
  return evaluated.map((element, i) => {
    const unblind = sodium.crypto_core_ristretto255_scalar_invert(batch.blinds[i] as Uint8Array);
    const unblinded = sodium.crypto_scalarmult_ristretto255(unblind, element);
    return outputHash(params, batch.inputs[i] as Uint8Array, unblinded);
  });
}
