/** Argon2id (crypto_pwhash) to turn a passphrase into a key-encryption key. */
import { backend } from './sodium.js';

/** Argon2id cost parameters; stored beside the ciphertext so they can be raised later. */
export interface KdfParams {
  readonly opsLimit: number;
  readonly memLimitBytes: number;
}

/** libsodium's MODERATE preset (3 passes, 256 MiB): about 1.1 s on this machine. */
export const KDF_MODERATE: KdfParams = Object.freeze({ opsLimit: 3, memLimitBytes: 268_435_456 });
/** libsodium's INTERACTIVE preset (2 passes, 64 MiB): about 0.14 s; the floor a keystore accepts. */
export const KDF_INTERACTIVE: KdfParams = Object.freeze({ opsLimit: 2, memLimitBytes: 67_108_864 });
export const KDF_SALT_BYTES = 16;

/** Derives a 32-byte key from `passphrase` and a 16-byte salt with Argon2id v1.3. */
export function deriveKeyFromPassphrase(
  passphrase: string,
  salt: Uint8Array,
  params: KdfParams,
): Uint8Array {
  return backend().argon2id(32, passphrase, salt, params.opsLimit, params.memLimitBytes);
}
