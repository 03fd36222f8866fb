/**
 * The key-encryption key that protects every Operator secret at rest: Argon2id of
 * `KOMRADE_OPERATOR_PASSPHRASE`, or a random `master.key` file when no passphrase is set.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  AEAD_KEY_BYTES,
  KDF_MODERATE,
  KDF_SALT_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  deriveKeyFromPassphrase,
  randomBytes,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { readIfExists, writeFileDurably } from './durable-file.js';
import type { Protection, SealedSecretFile, SealedSecretFileJson } from './sealed-secret-file.js';

/** The master key's file name inside the data folder. */
export const MASTER_KEY_FILE = 'master.key';

/** The environment variable main.ts reads the passphrase from. */
export const PASSPHRASE_ENV = 'KOMRADE_OPERATOR_PASSPHRASE';

/**
 * What a sealed secret is, bound into its associated data so one file can never be opened as
 * another (the Operator's identity keys, the onion service's key).
 */
export type SecretPurpose = 'operator-keys' | 'operator-onion-key';

/** Options for {@link KeyProtection}. */
export interface KeyProtectionOptions {
  readonly dataDir: string;
  /** From `KOMRADE_OPERATOR_PASSPHRASE`; without it a `master.key` file protects the secrets. */
  readonly passphrase?: string | undefined;
  readonly logger: Logger;
  /** Argon2id cost for newly sealed files. @defaultValue KDF_MODERATE */
  readonly kdf?: KdfParams;
}

/** What {@link KeyProtection.open} found. */
export interface OpenedSecret {
  readonly plaintext: Uint8Array;
  /** True when the file is sealed under `master.key` although a passphrase is set: re-seal it. */
  readonly reseal: boolean;
}

const associatedData = (purpose: SecretPurpose, protection: Protection) =>
  new TextEncoder().encode(`komrade/${purpose}/v1/${protection}`);

const kdfId = (salt: Uint8Array, kdf: KdfParams) =>
  `${toBase64url(salt)}:${kdf.opsLimit}:${kdf.memLimitBytes}`;

/**
 * Seals and opens the Operator's secrets with XChaCha20-Poly1305 under one key-encryption key.
 * Derived keys are remembered for the life of the object, so a start that opens several files
 * runs Argon2id once: new files reuse the salt of a key already derived with the same cost.
 *
 * @example
 * ```ts
 * const protection = new KeyProtection({ dataDir, passphrase: env.KOMRADE_OPERATOR_PASSPHRASE, logger });
 * const file = protection.seal(secretBytes, 'operator-onion-key');
 * ```
 */
export class KeyProtection {
  readonly #dataDir: string;
  readonly #passphrase: string | undefined;
  readonly #logger: Logger;
  readonly #kdf: KdfParams;
  readonly #derived = new Map<
    string,
    { readonly salt: Uint8Array; readonly kdf: KdfParams; readonly key: Uint8Array }
  >();
  #master: Uint8Array | undefined;

  constructor(options: KeyProtectionOptions) {
    this.#dataDir = options.dataDir;
    this.#passphrase = options.passphrase;
    this.#logger = options.logger;
    this.#kdf = options.kdf ?? KDF_MODERATE;
  }

  /** How newly sealed files are protected. */
  get protection(): Protection {
    return this.#passphrase === undefined ? 'master-key-file' : 'passphrase';
  }

  /** Encrypts `plaintext` into a file body (creating `master.key` when it protects the secrets). */
  seal(plaintext: Uint8Array, purpose: SecretPurpose): SealedSecretFileJson {
    if (this.#passphrase === undefined) {
      const key = this.#masterKey(true);
      return {
        v: 1,
        protection: 'master-key-file',
        sealed: toBase64url(
          aeadEncrypt(plaintext, key, associatedData(purpose, 'master-key-file')),
        ),
      };
    }
    const { salt, kdf, key } = this.#sealingKey(this.#passphrase);
    return {
      v: 1,
      protection: 'passphrase',
      kdf: { salt: toBase64url(salt), ...kdf },
      sealed: toBase64url(aeadEncrypt(plaintext, key, associatedData(purpose, 'passphrase'))),
    };
  }

  /**
   * Decrypts a file read from `path`.
   *
   * @throws KomradeError `WRONG_PASSPHRASE` (wrong or missing passphrase), `KEYSTORE_CORRUPT`
   * (altered file, or a `master.key` that does not open it), `KEYSTORE_MISSING` (`master.key`
   * deleted).
   */
  open(file: SealedSecretFile, purpose: SecretPurpose, path: string): OpenedSecret {
    let key: Uint8Array;
    if (file.protection === 'passphrase') {
      if (this.#passphrase === undefined) {
        throw new KomradeError(
          'WRONG_PASSPHRASE',
          `${path} is encrypted under a passphrase: set ${PASSPHRASE_ENV}.`,
        );
      }
      if (file.kdf === undefined) {
        throw new KomradeError('KEYSTORE_CORRUPT', `${path} lacks its key-derivation parameters.`);
      }
      key = this.#derive(this.#passphrase, file.kdf.salt, file.kdf);
    } else {
      key = this.#masterKey(false, path);
    }
    const plaintext = aeadDecrypt(file.sealed, key, associatedData(purpose, file.protection));
    if (plaintext === undefined) {
      throw file.protection === 'passphrase'
        ? new KomradeError(
            'WRONG_PASSPHRASE',
            `${PASSPHRASE_ENV} does not decrypt ${path}: wrong passphrase.`,
          )
        : new KomradeError('KEYSTORE_CORRUPT', `${MASTER_KEY_FILE} does not decrypt ${path}.`);
    }
    return {
      plaintext,
      reseal: file.protection === 'master-key-file' && this.#passphrase !== undefined,
    };
  }

  #derive(passphrase: string, salt: Uint8Array, kdf: KdfParams): Uint8Array {
    const id = kdfId(salt, kdf);
    let entry = this.#derived.get(id);
    if (entry === undefined) {
      const params = { opsLimit: kdf.opsLimit, memLimitBytes: kdf.memLimitBytes };
      entry = { salt, kdf: params, key: deriveKeyFromPassphrase(passphrase, salt, params) };
      this.#derived.set(id, entry);
    }
    return entry.key;
  }

  /** A key at the configured cost: one already derived (its salt reused), else a fresh salt. */
  #sealingKey(passphrase: string) {
    for (const entry of this.#derived.values()) {
      if (
        entry.kdf.opsLimit === this.#kdf.opsLimit &&
        entry.kdf.memLimitBytes === this.#kdf.memLimitBytes
      ) {
        return entry;
      }
    }
    const salt = randomBytes(KDF_SALT_BYTES);
    this.#derive(passphrase, salt, this.#kdf);
    const entry = this.#derived.get(kdfId(salt, this.#kdf));
    if (entry === undefined) throw new Error('derived key vanished');
    return entry;
  }

  #masterKey(create: boolean, protectedPath?: string): Uint8Array {
    if (this.#master !== undefined) return this.#master;
    const path = join(this.#dataDir, MASTER_KEY_FILE);
    let key = readIfExists(path);
    if (key === undefined) {
      if (!create) {
        throw new KomradeError(
          'KEYSTORE_MISSING',
          `${protectedPath ?? "The Operator's secrets"} is protected by ${path}, which is missing.`,
        );
      }
      mkdirSync(this.#dataDir, { recursive: true, mode: 0o700 });
      key = nodeRandomBytes(AEAD_KEY_BYTES);
      writeFileDurably(path, key);
    }
    if (key.length !== AEAD_KEY_BYTES) {
      throw new KomradeError('KEYSTORE_CORRUPT', `${path} is not a 32-byte key.`);
    }
    this.#logger.warn('operator.keys.unprotected', {
      detail: `The Operator's secrets are protected only by the permissions of ${MASTER_KEY_FILE}. Set ${PASSPHRASE_ENV} to encrypt them under a passphrase instead; the next start re-encrypts them.`,
    });
    this.#master = new Uint8Array(key);
    return this.#master;
  }
}
