/**
 * The backup file: a small versioned header (magic, version, Argon2id cost and salt) followed by
 * one XChaCha20-Poly1305 ciphertext of the keys, the storage key and the local store.
 */
import { z } from 'zod';
import {
  AEAD_KEY_BYTES,
  KDF_INTERACTIVE,
  KDF_MODERATE,
  KDF_SALT_BYTES,
  SEED_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  identityKeysFromSecrets,
  randomBytes,
  secretsOf,
  type IdentityKeys,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { decodeCanonical, encodeCanonical } from '../../common/wire/index.js';
import { stretchPassphrase } from '../keystore/stretch-passphrase.js';

/** The format version this code writes and reads. */
export const BACKUP_VERSION = 1;

/** The first bytes of every backup file, so a wrong file is named as such. */
const MAGIC = new TextEncoder().encode('komrade-backup');

/** magic ‖ version (1) ‖ opsLimit (u32 BE) ‖ memLimitBytes (u64 BE) ‖ salt (16). */
export const BACKUP_HEADER_BYTES = MAGIC.length + 1 + 4 + 8 + KDF_SALT_BYTES;

/** Refused before reading: far beyond any real local store, and it bounds memory use. */
export const MAX_BACKUP_BYTES = 512 * 1024 * 1024;

/** Same bounds as the keystore: a tampered header must not make guessing cheap or hang the reader. */
const KDF_CEILING: KdfParams = Object.freeze({ opsLimit: 20, memLimitBytes: 4 * 1024 ** 3 });

/** What a backup holds. */
export interface BackupContents {
  /** The komrade's identity. */
  readonly keys: IdentityKeys;
  /** The key the local store's letters are encrypted under. */
  readonly storageKey: Uint8Array;
  /** A consistent copy of the local SQLite store (an SQLite database image). */
  readonly store: Uint8Array;
  /** When the backup was taken (ms since the epoch). */
  readonly createdAt: number;
}

/** Options for {@link sealBackup}. */
export interface SealBackupOptions {
  /** Argon2id cost. @defaultValue `KDF_MODERATE` */
  readonly kdf?: KdfParams;
  /** Called before the passphrase is stretched. */
  readonly onDeriving?: () => void;
}

const bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32);
const payloadSchema = z.strictObject({
  v: z.literal(BACKUP_VERSION),
  signSeed: bytes32,
  boxSecret: bytes32,
  storageKey: bytes32,
  store: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
  createdAt: z.number().int().nonnegative(),
});

const invalid = (why: string): KomradeError =>
  new KomradeError('BACKUP_INVALID', `This is not a usable komrade backup: ${why}.`);

const belowFloor = (kdf: KdfParams) =>
  kdf.opsLimit < KDF_INTERACTIVE.opsLimit || kdf.memLimitBytes < KDF_INTERACTIVE.memLimitBytes;
const aboveCeiling = (kdf: KdfParams) =>
  kdf.opsLimit > KDF_CEILING.opsLimit || kdf.memLimitBytes > KDF_CEILING.memLimitBytes;

function encodeHeader(kdf: KdfParams, salt: Uint8Array): Uint8Array {
  const header = Buffer.alloc(BACKUP_HEADER_BYTES);
  header.set(MAGIC, 0);
  let at = header.writeUInt8(BACKUP_VERSION, MAGIC.length);
  at = header.writeUInt32BE(kdf.opsLimit, at);
  at = header.writeBigUInt64BE(BigInt(kdf.memLimitBytes), at);
  header.set(salt, at);
  return new Uint8Array(header);
}

/**
 * Encrypts `contents` under `passphrase`. The header is the associated data, so changing the
 * version or lowering the cost in the file breaks decryption.
 * @throws `CONFIG_INVALID` for a KDF cost outside the allowed range or a bad storage key
 */
export async function sealBackup(
  contents: BackupContents,
  passphrase: string,
  options: SealBackupOptions = {},
): Promise<Uint8Array> {
  const kdf = options.kdf ?? KDF_MODERATE;
  if (belowFloor(kdf) || aboveCeiling(kdf)) {
    throw new KomradeError(
      'CONFIG_INVALID',
      'Backup KDF cost must be between the INTERACTIVE preset and the ceiling.',
    );
  }
  if (contents.storageKey.length !== AEAD_KEY_BYTES) {
    throw new KomradeError('CONFIG_INVALID', 'The storage key must be 32 bytes.');
  }
  const salt = randomBytes(KDF_SALT_BYTES);
  const header = encodeHeader(kdf, salt);
  const key = await stretchPassphrase(passphrase, salt, kdf, options);
  const { signSeed, boxSecret } = secretsOf(contents.keys);
  const payload = encodeCanonical({
    v: BACKUP_VERSION,
    signSeed,
    boxSecret,
    storageKey: contents.storageKey,
    store: contents.store,
    createdAt: contents.createdAt,
  });
  const sealed = aeadEncrypt(payload, key, header);
  key.fill(0);
  payload.fill(0);
  signSeed.fill(0);
  boxSecret.fill(0);
  const file = new Uint8Array(header.length + sealed.length);
  file.set(header, 0);
  file.set(sealed, header.length);
  return file;
}

/**
 * Decrypts a backup file.
 * @param progress - `onDeriving` is called before the passphrase is stretched
 * @throws `BACKUP_INVALID` for a file that is not a backup, has another version, asks for a KDF
 * cost out of range, or does not decrypt (a wrong passphrase and a damaged file look the same)
 */
export async function openBackup(
  file: Uint8Array,
  passphrase: string,
  progress: { readonly onDeriving?: () => void } = {},
): Promise<BackupContents> {
  if (file.length > MAX_BACKUP_BYTES) throw invalid('the file is far too large');
  if (file.length < BACKUP_HEADER_BYTES || !startsWithMagic(file)) {
    throw invalid('the file does not start like one (wrong file, or truncated)');
  }
  const view = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let at = MAGIC.length;
  const version = view.readUInt8(at);
  at += 1;
  if (version !== BACKUP_VERSION) {
    throw invalid(`it has format version ${version}; this komrade reads ${BACKUP_VERSION}`);
  }
  const opsLimit = view.readUInt32BE(at);
  at += 4;
  const memLimit = view.readBigUInt64BE(at);
  at += 8;
  const salt = file.slice(at, at + KDF_SALT_BYTES);
  const kdf: KdfParams = {
    opsLimit,
    memLimitBytes: memLimit > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(memLimit),
  };
  if (belowFloor(kdf) || aboveCeiling(kdf)) {
    throw invalid('its header asks for a key derivation out of range (altered?)');
  }
  const key = await stretchPassphrase(passphrase, salt, kdf, progress);
  const payload = aeadDecrypt(
    file.subarray(BACKUP_HEADER_BYTES),
    key,
    file.subarray(0, BACKUP_HEADER_BYTES),
  );
  key.fill(0);
  if (payload === undefined) {
    throw new KomradeError(
      'BACKUP_INVALID',
      'The backup cannot be decrypted: either the backup passphrase is wrong or the file is damaged, truncated or altered (the encryption cannot tell these apart).',
    );
  }
  try {
    const parsed = payloadSchema.safeParse(decodeCanonical(payload, 'backup'));
    if (!parsed.success) throw invalid('its contents have the wrong shape');
    const { signSeed, boxSecret, storageKey, store, createdAt } = parsed.data;
    if (signSeed.length !== SEED_BYTES) throw invalid('its contents have the wrong shape');
    return {
      keys: identityKeysFromSecrets(signSeed, boxSecret),
      storageKey: Uint8Array.from(storageKey),
      store: Uint8Array.from(store),
      createdAt,
    };
  } catch (cause) {
    if (cause instanceof KomradeError && cause.code === 'BACKUP_INVALID') throw cause;
    throw invalid('its contents cannot be decoded');
  } finally {
    payload.fill(0);
  }
}

function startsWithMagic(file: Uint8Array): boolean {
  return MAGIC.every((byte, i) => file[i] === byte);
}
