/**
 * The batched DLEQ proof of RFC 9497 §2.2: proves that k·Cᵢ = Dᵢ for every i and k·G = B, without
 * revealing k, so a client can tell that its elements were evaluated under the published key.
 */
import { lib } from '../sodium.js';
import { decodeScalar, hashToScalar, randomScalar } from './group.js';
import {
  OPRF_PROOF_BYTES,
  OPRF_SCALAR_BYTES,
  ascii,
  concat,
  contextString,
  lengthPrefixed,
} from './suite.js';
import type { OprfMode } from './suite.js';

const COMPOSITE = ascii('Composite');
const CHALLENGE = ascii('Challenge');

function seedOf(mode: OprfMode, b: Uint8Array): Uint8Array {
  const seedDst = concat(ascii('Seed-'), contextString(mode));
  return lib().crypto_hash_sha512(concat(lengthPrefixed(b), lengthPrefixed(seedDst)));
}

function compositeScalar(
  mode: OprfMode,
  seed: Uint8Array,
  index: number,
  c: Uint8Array,
  d: Uint8Array,
): Uint8Array {
  const transcript = concat(
    lengthPrefixed(seed),
    Uint8Array.of(index >>> 8, index & 0xff),
    lengthPrefixed(c),
    lengthPrefixed(d),
    COMPOSITE,
  );
  return hashToScalar(mode, transcript);
}

/** Σ dᵢ·Xᵢ with the composite weights dᵢ; libsodium throws if a term is the identity. */
function weightedSum(weights: readonly Uint8Array[], points: readonly Uint8Array[]): Uint8Array {
  const sodium = lib();
  let sum: Uint8Array | undefined;
  points.forEach((point, i) => {
    const term = sodium.crypto_scalarmult_ristretto255(weights[i] as Uint8Array, point);
    sum = sum === undefined ? term : sodium.crypto_core_ristretto255_add(sum, term);
  });
  if (sum === undefined) throw new Error('DLEQ over an empty batch');
  return sum;
}

function weightsOf(
  mode: OprfMode,
  b: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
): Uint8Array[] {
  if (c.length === 0 || c.length !== d.length || c.length > 0xffff) {
    throw new Error('DLEQ batch sizes differ or are out of range');
  }
  const seed = seedOf(mode, b);
  return c.map((ci, i) => compositeScalar(mode, seed, i, ci, d[i] as Uint8Array));
}

function challenge(
  mode: OprfMode,
  b: Uint8Array,
  m: Uint8Array,
  z: Uint8Array,
  t2: Uint8Array,
  t3: Uint8Array,
): Uint8Array {
  const transcript = concat(
    lengthPrefixed(b),
    lengthPrefixed(m),
    lengthPrefixed(z),
    lengthPrefixed(t2),
    lengthPrefixed(t3),
    CHALLENGE,
  );
  return hashToScalar(mode, transcript);
}

/**
 * GenerateProof(k, G, B, C, D) with ComputeCompositesFast: the prover knows k, so Z = k·M.
 * `r` is the proof's random scalar; only known-answer tests pass one.
 */
export function generateProof(
  mode: OprfMode,
  k: Uint8Array,
  b: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  r: Uint8Array = randomScalar(),
): Uint8Array {
  const sodium = lib();
  const m = weightedSum(weightsOf(mode, b, c, d), c);
  const z = sodium.crypto_scalarmult_ristretto255(k, m);
  const t2 = sodium.crypto_scalarmult_ristretto255_base(r);
  const t3 = sodium.crypto_scalarmult_ristretto255(r, m);
  const ch = challenge(mode, b, m, z, t2, t3);
  const s = sodium.crypto_core_ristretto255_scalar_sub(
    r,
    sodium.crypto_core_ristretto255_scalar_mul(ch, k),
  );
  return concat(ch, s);
}

/**
 * VerifyProof(G, B, C, D, proof) with ComputeComposites. False for any malformed proof or any
 * step that lands on the identity: an honest proof never does (but with negligible probability).
 */
export function verifyProof(
  mode: OprfMode,
  b: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  proof: Uint8Array,
): boolean {
  if (proof.length !== OPRF_PROOF_BYTES) return false;
  const ch = decodeScalar(proof.subarray(0, OPRF_SCALAR_BYTES));
  const s = decodeScalar(proof.subarray(OPRF_SCALAR_BYTES));
  if (ch === undefined || s === undefined) return false;
  const sodium = lib();
  try {
    const weights = weightsOf(mode, b, c, d);
    const m = weightedSum(weights, c);
    const z = weightedSum(weights, d);
    const t2 = sodium.crypto_core_ristretto255_add(
      sodium.crypto_scalarmult_ristretto255_base(s),
      sodium.crypto_scalarmult_ristretto255(ch, b),
    );
    const t3 = sodium.crypto_core_ristretto255_add(
      sodium.crypto_scalarmult_ristretto255(s, m),
      sodium.crypto_scalarmult_ristretto255(ch, z),
    );
    return sodium.memcmp(challenge(mode, b, m, z, t2, t3), ch);
  } catch {
    // libsodium throws when a product is the identity: no valid proof leads there.
    return false;
  }
}
