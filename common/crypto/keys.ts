/** A komrade's two key pairs: Ed25519 to sign, X25519 to receive sealed letters. */
import { backend } from './sodium.js';

/** Public half of an identity, as registered at the Operator. */
export interface PublicKeys {
  /** Ed25519 public key, 32 bytes. */
  readonly sign: Uint8Array;
  /** X25519 public key, 32 bytes. */
  readonly box: Uint8Array;
}

/** A full identity. The secret halves never leave the machine that generated them. */
export interface IdentityKeys {
  readonly signPublic: Uint8Array;
  /** Ed25519 secret key in libsodium's 64-byte form (seed ‖ public key). */
  readonly signSecret: Uint8Array;
  readonly boxPublic: Uint8Array;
  readonly boxSecret: Uint8Array;
}

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const SEED_BYTES = 32;

/** Fresh random identity keys. */
export function generateIdentityKeys(): IdentityKeys {
  const s = backend();
  const sign = s.signKeypair();
  const box = s.boxKeypair();
  return {
    signPublic: sign.publicKey,
    signSecret: sign.secretKey,
    boxPublic: box.publicKey,
    boxSecret: box.secretKey,
  };
}

/**
 * Rebuilds identity keys from their two 32-byte secrets (the Ed25519 seed and the X25519 secret
 * key): what a keystore stores, and what test vectors fix.
 */
export function identityKeysFromSecrets(signSeed: Uint8Array, boxSecret: Uint8Array): IdentityKeys {
  const s = backend();
  const sign = s.signSeedKeypair(signSeed);
  return {
    signPublic: sign.publicKey,
    signSecret: sign.secretKey,
    boxPublic: s.scalarmultBase(boxSecret),
    boxSecret: Uint8Array.from(boxSecret),
  };
}

/** An Ed25519 key pair from a 32-byte seed (e.g. a key derived for one purpose). */
export function signKeysFromSeed(seed: Uint8Array): {
  readonly signPublic: Uint8Array;
  readonly signSecret: Uint8Array;
} {
  const sign = backend().signSeedKeypair(seed);
  return { signPublic: sign.publicKey, signSecret: sign.secretKey };
}

/** The two 32-byte secrets {@link identityKeysFromSecrets} rebuilds `keys` from. */
export function secretsOf(keys: IdentityKeys): { signSeed: Uint8Array; boxSecret: Uint8Array } {
  return { signSeed: keys.signSecret.slice(0, SEED_BYTES), boxSecret: keys.boxSecret.slice() };
}

/** The public half of `keys`. */
export function publicKeysOf(keys: IdentityKeys): PublicKeys {
  return { sign: keys.signPublic, box: keys.boxPublic };
}
