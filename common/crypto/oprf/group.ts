/** The ristretto255 group of RFC 9497 §4.1, all arithmetic done by libsodium. */
import { KomradeError } from '../../errors/index.js';
import { lib } from '../sodium.js';
import { randomBytes } from '../random.js';
import { expandMessageXmd } from './expand-message.js';
import { OPRF_ELEMENT_BYTES, OPRF_SCALAR_BYTES, ascii, concat, contextString } from './suite.js';
import type { OprfMode } from './suite.js';

const UNIFORM_BYTES = 64;
const ZERO_HIGH_HALF = new Uint8Array(32);

/** HashToGroup: 64 uniform bytes through ristretto255's one-way map. */
export function hashToGroup(mode: OprfMode, message: Uint8Array): Uint8Array {
  const dst = concat(ascii('HashToGroup-'), contextString(mode));
  return lib().crypto_core_ristretto255_from_hash(expandMessageXmd(message, dst, UNIFORM_BYTES));
}

/**
 * HashToGroup(input), refusing the identity as RFC 9497 asks (InvalidInputError; it takes a
 * preimage of the identity under the hash, so this never fires by chance).
 *
 * @throws KomradeError `BAD_REQUEST` for that input
 */
export function inputElement(mode: OprfMode, input: Uint8Array): Uint8Array {
  const element = hashToGroup(mode, input);
  if (isIdentity(element))
    throw new KomradeError('BAD_REQUEST', 'This OPRF input maps to the identity.');
  return element;
}

/** HashToScalar: 64 uniform bytes reduced mod ℓ; `dst` defaults to "HashToScalar-" ‖ context. */
export function hashToScalar(mode: OprfMode, message: Uint8Array, dst?: Uint8Array): Uint8Array {
  const tag = dst ?? concat(ascii('HashToScalar-'), contextString(mode));
  return lib().crypto_core_ristretto255_scalar_reduce(
    expandMessageXmd(message, tag, UNIFORM_BYTES),
  );
}

/**
 * A uniform non-zero scalar: 64 bytes from node:crypto reduced mod ℓ (libsodium's own
 * randombytes is ~150× slower here, see random.ts).
 */
export function randomScalar(): Uint8Array {
  const sodium = lib();
  for (;;) {
    const scalar = sodium.crypto_core_ristretto255_scalar_reduce(randomBytes(UNIFORM_BYTES));
    if (!sodium.is_zero(scalar)) return scalar;
  }
}

/** True for the encoding of the identity element (all zeros: ristretto encodings are unique). */
export function isIdentity(element: Uint8Array): boolean {
  return lib().is_zero(element);
}

/**
 * DeserializeElement: a canonical ristretto255 encoding that is not the identity, else
 * `undefined`. libsodium accepts the identity as a valid point, hence the extra check.
 */
export function decodeElement(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== OPRF_ELEMENT_BYTES) return undefined;
  const sodium = lib();
  if (!sodium.crypto_core_ristretto255_is_valid_point(bytes) || sodium.is_zero(bytes)) {
    return undefined;
  }
  return bytes;
}

/** DeserializeScalar: 32 little-endian bytes below ℓ, else `undefined`. */
export function decodeScalar(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== OPRF_SCALAR_BYTES) return undefined;
  const sodium = lib();
  // Canonical iff reducing it changes nothing; memcmp is constant-time.
  const reduced = sodium.crypto_core_ristretto255_scalar_reduce(concat(bytes, ZERO_HIGH_HALF));
  return sodium.memcmp(reduced, bytes) ? bytes : undefined;
}
