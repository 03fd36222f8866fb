/** Checks public keys from outside before anything seals to them or verifies with them. */
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { PUBLIC_KEY_BYTES, type PublicKeys } from './keys.js';
import { randomBytes } from './random.js';
import { backend } from './sodium.js';

/**
 * True for a 32-byte Ed25519 key libsodium accepts as a point: canonical, on the curve, in the
 * prime-order subgroup and not of small order (every key `crypto_sign_keypair` makes is).
 */
export function isValidSignKey(key: Uint8Array): boolean {
  return key.length === PUBLIC_KEY_BYTES && backend().isValidEd25519Point(key);
}

/**
 * True for a 32-byte X25519 key that is not of low order. libsodium's `crypto_scalarmult` refuses
 * a low-order point (its result would be all zeros, the same for every secret), so one product
 * with a random scalar decides; no list of bad points is kept here.
 */
export function isValidBoxKey(key: Uint8Array): boolean {
  if (key.length !== PUBLIC_KEY_BYTES) return false;
  const scalar = randomBytes(PUBLIC_KEY_BYTES);
  try {
    const product = backend().scalarmult(scalar, key);
    // libsodium already throws on an all-zero product; checked again so a change there fails closed.
    return product.some((byte) => byte !== 0);
  } catch {
    return false;
  } finally {
    scalar.fill(0);
  }
}

/**
 * Checks both halves of a registered identity.
 * @param keys - the Ed25519 signing key and the X25519 box key
 * @param whose - who the keys belong to, for the message (e.g. `@alice`); never the key itself
 * @returns the same keys, or a `KEY_INVALID` error naming which key is refused
 */
export function checkPublicKeys(keys: PublicKeys, whose?: string): Result<PublicKeys> {
  const who = whose === undefined ? 'The' : `${whose}'s`;
  if (!isValidSignKey(keys.sign)) {
    return err(
      new KomradeError(
        'KEY_INVALID',
        `${who} signing key is not a valid Ed25519 public key (malformed or of small order).`,
      ),
    );
  }
  if (!isValidBoxKey(keys.box)) {
    return err(
      new KomradeError(
        'KEY_INVALID',
        `${who} box key is not a valid X25519 public key (malformed or of low order).`,
      ),
    );
  }
  return ok(keys);
}
