/**
 * The Operator's own identity: an Ed25519 key that signs receipts, and the X25519 `@komrades` key
 * posts are sealed to. Generated on first start, stored encrypted at rest.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  AEAD_KEY_BYTES,
  KDF_MODERATE,
  KDF_SALT_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  deriveKeyFromPassphrase,
  generateIdentityKeys,
  identityKeysFromSecrets,
  randomBytes,
  secretsOf,
  type IdentityKeys,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import {
  decodeCanonical,
  encodeCanonical,
  parseWith,
  toBase64url,
} from '../../common/wire/index.js';
import { operatorKeyFileSchema, type Protection } from './operator-key-file.js';

/** File names inside the data folder. */
export const KEY_FILE = 'operator-keys.json';
export const MASTER_KEY_FILE = 'master.key';

/** The environment variable main.ts reads the passphrase from. */
export const PASSPHRASE_ENV = 'KOMRADE_OPERATOR_PASSPHRASE';

/** Options for {@link loadOperatorKeys}. */
export interface LoadOperatorKeysOptions {
  readonly dataDir: string;
  /** From `KOMRADE_OPERATOR_PASSPHRASE`; without it a `master.key` file protects the keys. */
  readonly passphrase?: string | undefined;
  readonly logger: Logger;
  /** Argon2id cost for new key files. @defaultValue KDF_MODERATE */
  readonly kdf?: KdfParams;
}

const secretsSchema = z.strictObject({
  signSeed: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length === 32),
  feedSecret: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length === 32),
});

const associatedData = (protection: Protection) =>
  new TextEncoder().encode(`komrade/operator-keys/v1/${protection}`);

function writeFileDurably(path: string, data: Uint8Array | string): void {
  const temp = `${path}.${toBase64url(randomBytes(6))}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function masterKey(dataDir: string, logger: Logger, create: boolean): Uint8Array {
  const path = join(dataDir, MASTER_KEY_FILE);
  let key = readIfExists(path);
  if (key === undefined) {
    if (!create) {
      throw new KomradeError(
        'KEYSTORE_MISSING',
        `The Operator's keys are protected by ${path}, which is missing.`,
      );
    }
    key = nodeRandomBytes(AEAD_KEY_BYTES);
    writeFileDurably(path, key);
  }
  if (key.length !== AEAD_KEY_BYTES) {
    throw new KomradeError('KEYSTORE_CORRUPT', `${path} is not a 32-byte key.`);
  }
  logger.warn('operator.keys.unprotected', {
    detail: `The Operator's keys are protected only by the permissions of ${MASTER_KEY_FILE}. Set ${PASSPHRASE_ENV} to encrypt them under a passphrase instead; the next start re-encrypts them.`,
  });
  return new Uint8Array(key);
}

function seal(
  keys: IdentityKeys,
  dataDir: string,
  passphrase: string | undefined,
  kdf: KdfParams,
  logger: Logger,
): void {
  const { signSeed, boxSecret } = secretsOf(keys);
  const plaintext = encodeCanonical({ signSeed, feedSecret: boxSecret });
  let file: z.input<typeof operatorKeyFileSchema>;
  if (passphrase === undefined) {
    const key = masterKey(dataDir, logger, true);
    file = {
      v: 1,
      protection: 'master-key-file',
      sealed: toBase64url(aeadEncrypt(plaintext, key, associatedData('master-key-file'))),
    };
  } else {
    const salt = randomBytes(KDF_SALT_BYTES);
    const key = deriveKeyFromPassphrase(passphrase, salt, kdf);
    file = {
      v: 1,
      protection: 'passphrase',
      kdf: { salt: toBase64url(salt), ...kdf },
      sealed: toBase64url(aeadEncrypt(plaintext, key, associatedData('passphrase'))),
    };
  }
  writeFileDurably(join(dataDir, KEY_FILE), `${JSON.stringify(file, null, 2)}\n`);
}

/**
 * Loads the Operator's keys from the data folder, creating them on first start.
 * With a passphrase, keys are encrypted under Argon2id(passphrase); without one, under a random
 * `master.key` (0600) with a loud warning. Keys found under `master.key` while a passphrase is set
 * are re-encrypted under the passphrase.
 * @throws KomradeError `WRONG_PASSPHRASE` (wrong or missing passphrase), `KEYSTORE_CORRUPT`,
 * `KEYSTORE_MISSING` (master.key deleted)
 */
export function loadOperatorKeys(options: LoadOperatorKeysOptions): IdentityKeys {
  const { dataDir, passphrase, logger } = options;
  const kdf = options.kdf ?? KDF_MODERATE;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, KEY_FILE);
  const raw = readIfExists(path);
  if (raw === undefined) {
    const keys = generateIdentityKeys();
    seal(keys, dataDir, passphrase, kdf, logger);
    logger.info('operator.keys.created', { protection: passphrase === undefined ? 'file' : 'kdf' });
    return keys;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new KomradeError('KEYSTORE_CORRUPT', `${path} is not valid JSON.`, { cause });
  }
  const parsed = parseWith(operatorKeyFileSchema, json, 'KEYSTORE_CORRUPT', 'Operator key file');
  if (!parsed.ok) throw parsed.error;
  const file = parsed.value;

  let key: Uint8Array;
  if (file.protection === 'passphrase') {
    if (passphrase === undefined) {
      throw new KomradeError(
        'WRONG_PASSPHRASE',
        `The Operator's keys in ${path} are encrypted under a passphrase: set ${PASSPHRASE_ENV}.`,
      );
    }
    if (file.kdf === undefined) {
      throw new KomradeError('KEYSTORE_CORRUPT', `${path} lacks its key-derivation parameters.`);
    }
    key = deriveKeyFromPassphrase(passphrase, file.kdf.salt, file.kdf);
  } else {
    key = masterKey(dataDir, logger, false);
  }
  const plaintext = aeadDecrypt(file.sealed, key, associatedData(file.protection));
  if (plaintext === undefined) {
    throw file.protection === 'passphrase'
      ? new KomradeError(
          'WRONG_PASSPHRASE',
          `${PASSPHRASE_ENV} does not decrypt the Operator's keys in ${path}: wrong passphrase.`,
        )
      : new KomradeError(
          'KEYSTORE_CORRUPT',
          `${MASTER_KEY_FILE} does not decrypt the Operator's keys in ${path}.`,
        );
  }
  let secrets: z.output<typeof secretsSchema>;
  try {
    const decoded = parseWith(
      secretsSchema,
      decodeCanonical(plaintext, 'Operator keys'),
      'KEYSTORE_CORRUPT',
      'Operator keys',
    );
    if (!decoded.ok) throw decoded.error;
    secrets = decoded.value;
  } catch (cause) {
    throw new KomradeError('KEYSTORE_CORRUPT', `${path} holds malformed keys.`, { cause });
  }
  const keys = identityKeysFromSecrets(secrets.signSeed, secrets.feedSecret);
  if (file.protection === 'master-key-file' && passphrase !== undefined) {
    seal(keys, dataDir, passphrase, kdf, logger);
    logger.warn('operator.keys.reencrypted', {
      detail: `The Operator's keys are now encrypted under ${PASSPHRASE_ENV}; securely delete ${MASTER_KEY_FILE}.`,
    });
  }
  return keys;
}
