/** The server's OPRF key pair: random, or derived from a seed (RFC 9497 §3.2). */
import { KomradeError } from '../../errors/index.js';
import { lib } from '../sodium.js';
import { decodeElement, decodeScalar, hashToScalar, randomScalar } from './group.js';
import { OPRF_SCALAR_BYTES, ascii, concat, contextString, lengthPrefixed } from './suite.js';
import type { OprfMode } from './suite.js';

/** The server's key: a non-zero scalar and its public element skS·G. */
export interface OprfKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** GenerateKeyPair: a fresh random key. */
export function generateOprfKeyPair(): OprfKeyPair {
  const secretKey = randomScalar();
  return { secretKey, publicKey: lib().crypto_scalarmult_ristretto255_base(secretKey) };
}

/**
 * DeriveKeyPair(seed, info): the same 32-byte seed and `keyInfo` always give the same key, so a
 * server can keep only the seed. The mode is part of the derivation.
 *
 * @throws KomradeError `KEY_INVALID` when the seed is not 32 bytes
 */
export function deriveOprfKeyPair(
  mode: OprfMode,
  seed: Uint8Array,
  keyInfo: Uint8Array,
): OprfKeyPair {
  if (seed.length !== OPRF_SCALAR_BYTES) {
    throw new KomradeError('KEY_INVALID', `An OPRF key seed must be ${OPRF_SCALAR_BYTES} bytes.`);
  }
  const sodium = lib();
  const deriveInput = concat(seed, lengthPrefixed(keyInfo));
  const dst = concat(ascii('DeriveKeyPair'), contextString(mode));
  for (let counter = 0; counter <= 255; counter++) {
    const secretKey = hashToScalar(mode, concat(deriveInput, Uint8Array.of(counter)), dst);
    if (!sodium.is_zero(secretKey)) {
      return { secretKey, publicKey: sodium.crypto_scalarmult_ristretto255_base(secretKey) };
    }
  }
  // 256 zero scalars in a row from a hash: never, but the RFC names the failure.
  throw new KomradeError('KEY_INVALID', 'DeriveKeyPair found no non-zero key.');
}

/**
 * The public key of a server, checked: a canonical ristretto255 element that is not the identity.
 *
 * @throws KomradeError `KEY_INVALID` otherwise
 */
export function checkOprfPublicKey(publicKey: Uint8Array): Uint8Array {
  const element = decodeElement(publicKey);
  if (element === undefined) {
    throw new KomradeError(
      'KEY_INVALID',
      'The OPRF public key is not a valid ristretto255 element.',
    );
  }
  return element;
}

/**
 * The secret key of a server, checked: a canonical non-zero scalar.
 *
 * @throws KomradeError `KEY_INVALID` otherwise
 */
export function checkOprfSecretKey(secretKey: Uint8Array): Uint8Array {
  const scalar = decodeScalar(secretKey);
  if (scalar === undefined || lib().is_zero(scalar)) {
    throw new KomradeError('KEY_INVALID', 'The OPRF secret key is not a valid non-zero scalar.');
  }
  return scalar;
}
