/**
 * `FileKeystore`: one JSON file (mode 0600, replaced atomically) holding the identity secrets and
 * the local storage key, encrypted with XChaCha20-Poly1305 under an Argon2id key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  AEAD_KEY_BYTES,
  KDF_INTERACTIVE,
  KDF_MODERATE,
  KDF_SALT_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  identityKeysFromSecrets,
  randomBytes,
  secretsOf,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  TAGS,
  base64urlBytes,
  decodeCanonical,
  encodeCanonical,
  signedBytes,
} from '../../common/wire/index.js';
import { writeFileAtomically } from './atomic-file.js';
import type { Keystore, KeystoreProgress, KeystoreSecrets } from './keystore.js';
import { stretchPassphrase } from './stretch-passphrase.js';

/** The file format version this code writes and reads. */
export const KEYSTORE_VERSION = 1;

/**
 * The highest cost a keystore file may ask for. A tampered file could otherwise ask for terabytes
 * of memory or hours of work before the passphrase is even checked.
 */
const KDF_CEILING: KdfParams = Object.freeze({ opsLimit: 20, memLimitBytes: 4 * 1024 ** 3 });

const fileSchema = z.strictObject({
  format: z.literal('komrade-keystore'),
  version: z.literal(KEYSTORE_VERSION),
  kdf: z.strictObject({
    alg: z.literal('argon2id13'),
    opsLimit: z.number().int().positive(),
    memLimitBytes: z.number().int().positive(),
    salt: base64urlBytes({ exact: KDF_SALT_BYTES }),
  }),
  sealed: base64urlBytes({ max: 4_096 }),
});

const bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32);
const plaintextSchema = z.strictObject({
  signSeed: bytes32,
  boxSecret: bytes32,
  storageKey: bytes32,
});

/** Options for {@link FileKeystore}. */
export interface FileKeystoreOptions {
  /** Argon2id cost for new keystores. @defaultValue `KDF_MODERATE` */
  readonly kdf?: KdfParams;
}

/**
 * Associated data: binds the format version and KDF parameters to the ciphertext, so lowering
 * the cost in the file (to make guessing cheaper) breaks decryption.
 */
function associatedData(kdf: KdfParams, salt: Uint8Array): Uint8Array {
  return signedBytes(TAGS.keystore, {
    version: KEYSTORE_VERSION,
    alg: 'argon2id13',
    opsLimit: kdf.opsLimit,
    memLimitBytes: kdf.memLimitBytes,
    salt,
  });
}

const belowFloor = (kdf: KdfParams) =>
  kdf.opsLimit < KDF_INTERACTIVE.opsLimit || kdf.memLimitBytes < KDF_INTERACTIVE.memLimitBytes;
const aboveCeiling = (kdf: KdfParams) =>
  kdf.opsLimit > KDF_CEILING.opsLimit || kdf.memLimitBytes > KDF_CEILING.memLimitBytes;

/** Implements {@link Keystore} as a single encrypted JSON file. */
export class FileKeystore implements Keystore {
  readonly #path: string;
  readonly #kdf: KdfParams;

  /**
   * @param path - the keystore file, e.g. `~/.komrade/keystore.json`
   * @param options - the KDF cost for new keystores
   * @throws `CONFIG_INVALID` when the KDF cost is below libsodium's INTERACTIVE preset
   */
  constructor(path: string, options: FileKeystoreOptions = {}) {
    const kdf = options.kdf ?? KDF_MODERATE;
    if (belowFloor(kdf) || aboveCeiling(kdf)) {
      throw new KomradeError(
        'CONFIG_INVALID',
        'Keystore KDF cost must be between the INTERACTIVE preset and the ceiling.',
      );
    }
    this.#path = path;
    this.#kdf = kdf;
  }

  /** The file this keystore lives in. */
  get path(): string {
    return this.#path;
  }

  exists(): boolean {
    return existsSync(this.#path);
  }

  async create(
    passphrase: string,
    secrets: KeystoreSecrets,
    progress: KeystoreProgress = {},
  ): Promise<void> {
    if (this.exists()) {
      throw new KomradeError(
        'KEYSTORE_EXISTS',
        `A keystore already exists at ${this.#path}; it was not touched.`,
      );
    }
    if (secrets.storageKey.length !== AEAD_KEY_BYTES) {
      throw new KomradeError('CONFIG_INVALID', 'The storage key must be 32 bytes.');
    }
    writeNewFileAtomically(this.#path, await this.#seal(passphrase, secrets, progress));
  }

  /**
   * Re-encrypts the keystore under a new passphrase (and this keystore's KDF cost). The new file
   * replaces the old one by rename: a crash leaves the old passphrase or the new one working.
   * @throws `WRONG_PASSPHRASE`, `KEYSTORE_MISSING`, `KEYSTORE_CORRUPT` as {@link FileKeystore.open};
   * the file is then untouched
   */
  async changePassphrase(
    oldPassphrase: string,
    newPassphrase: string,
    progress: KeystoreProgress = {},
  ): Promise<void> {
    const secrets = await this.open(oldPassphrase, progress);
    try {
      const contents = await this.#seal(newPassphrase, secrets, progress);
      writeFileAtomically(this.#path, contents, { replace: true });
    } finally {
      secrets.storageKey.fill(0);
    }
  }

  /** The keystore file's text for `secrets` under `passphrase`. */
  async #seal(
    passphrase: string,
    secrets: KeystoreSecrets,
    progress: KeystoreProgress,
  ): Promise<string> {
    const salt = randomBytes(KDF_SALT_BYTES);
    const key = await stretchPassphrase(passphrase, salt, this.#kdf, progress);
    const { signSeed, boxSecret } = secretsOf(secrets.keys);
    const plaintext = encodeCanonical({ signSeed, boxSecret, storageKey: secrets.storageKey });
    const sealed = aeadEncrypt(plaintext, key, associatedData(this.#kdf, salt));
    key.fill(0);
    plaintext.fill(0);
    signSeed.fill(0);
    boxSecret.fill(0);
    const file = {
      format: 'komrade-keystore',
      version: KEYSTORE_VERSION,
      kdf: {
        alg: 'argon2id13',
        opsLimit: this.#kdf.opsLimit,
        memLimitBytes: this.#kdf.memLimitBytes,
        salt: Buffer.from(salt).toString('base64url'),
      },
      sealed: Buffer.from(sealed).toString('base64url'),
    };
    return `${JSON.stringify(file, null, 2)}\n`;
  }

  async open(passphrase: string, progress: KeystoreProgress = {}): Promise<KeystoreSecrets> {
    const file = this.#read();
    const key = await derive(passphrase, file, progress);
    try {
      return this.#decrypt(file, key);
    } finally {
      key.fill(0);
    }
  }

  /**
   * The key that the passphrase derives for this keystore file, checked to open it: what an agent
   * may hold so later commands skip the slow derivation. It opens only this file; after a
   * passphrase change (new salt) it no longer does.
   * @throws `WRONG_PASSPHRASE`, `KEYSTORE_MISSING`, `KEYSTORE_CORRUPT` as {@link FileKeystore.open}
   */
  async deriveUnlockKey(passphrase: string, progress: KeystoreProgress = {}): Promise<Uint8Array> {
    const file = this.#read();
    const key = await derive(passphrase, file, progress);
    try {
      const secrets = this.#decrypt(file, key);
      secrets.storageKey.fill(0);
      return key;
    } catch (error) {
      key.fill(0);
      throw error;
    }
  }

  /**
   * Opens the keystore with a key from {@link FileKeystore.deriveUnlockKey}, without deriving.
   * @throws `WRONG_PASSPHRASE` when the key does not open this file (the passphrase changed),
   * `KEYSTORE_MISSING`, `KEYSTORE_CORRUPT`
   */
  openWithUnlockKey(key: Uint8Array): KeystoreSecrets {
    return this.#decrypt(this.#read(), key);
  }

  /** The keystore file, parsed and checked, before anything is derived. */
  #read(): ParsedFile {
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') {
        throw new KomradeError('KEYSTORE_MISSING', `No keystore at ${this.#path}.`, { cause });
      }
      throw new KomradeError('KEYSTORE_CORRUPT', `The keystore at ${this.#path} cannot be read.`, {
        cause,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw corrupt(this.#path, 'it is not valid JSON (truncated or overwritten?)');
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw corrupt(this.#path, 'it does not have the keystore format');
    const { kdf } = parsed.data;
    if (belowFloor(kdf)) {
      throw corrupt(this.#path, 'it asks for a key derivation weaker than allowed (altered?)');
    }
    if (aboveCeiling(kdf)) {
      throw corrupt(this.#path, 'it asks for an unreasonably costly key derivation (altered?)');
    }
    return parsed.data;
  }

  #decrypt({ kdf, sealed }: ParsedFile, key: Uint8Array): KeystoreSecrets {
    const plaintext =
      key.length === AEAD_KEY_BYTES
        ? aeadDecrypt(sealed, key, associatedData(kdf, kdf.salt))
        : undefined;
    if (plaintext === undefined) {
      throw new KomradeError(
        'WRONG_PASSPHRASE',
        'Wrong passphrase, or the keystore file was altered.',
      );
    }
    try {
      const inner = plaintextSchema.safeParse(decodeCanonical(plaintext, 'keystore'));
      if (!inner.success) throw corrupt(this.#path, 'its contents have the wrong shape');
      const keys = identityKeysFromSecrets(inner.data.signSeed, inner.data.boxSecret);
      return { keys, storageKey: Uint8Array.from(inner.data.storageKey) };
    } catch (cause) {
      if (cause instanceof KomradeError && cause.code === 'KEYSTORE_CORRUPT') throw cause;
      throw corrupt(this.#path, 'its contents cannot be decoded');
    } finally {
      plaintext.fill(0);
    }
  }
}

type ParsedFile = z.infer<typeof fileSchema>;

/** Stretches the passphrase with the file's own salt and cost (the slow part). */
function derive(
  passphrase: string,
  { kdf }: ParsedFile,
  progress: KeystoreProgress,
): Promise<Uint8Array> {
  return stretchPassphrase(passphrase, kdf.salt, kdf, progress);
}

function corrupt(path: string, why: string): KomradeError {
  return new KomradeError('KEYSTORE_CORRUPT', `The keystore at ${path} is damaged: ${why}.`);
}

/** Writes a new keystore file; refuses (`KEYSTORE_EXISTS`) to replace one that appeared meanwhile. */
function writeNewFileAtomically(path: string, contents: string): void {
  try {
    writeFileAtomically(path, contents, { replace: false });
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'EEXIST') {
      throw new KomradeError('KEYSTORE_EXISTS', `A keystore already exists at ${path}.`, { cause });
    }
    throw cause;
  }
}
