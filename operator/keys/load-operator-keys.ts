/**
 * The Operator's own identity: an Ed25519 key that signs receipts, and the X25519 `@komrades` key
 * posts are sealed to. Generated on first start, stored encrypted at rest.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  generateIdentityKeys,
  identityKeysFromSecrets,
  secretsOf,
  type IdentityKeys,
  type KdfParams,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { decodeCanonical, encodeCanonical, parseWith } from '../../common/wire/index.js';
import { writeFileDurably } from './durable-file.js';
import { KeyProtection, MASTER_KEY_FILE, PASSPHRASE_ENV } from './key-protection.js';
import { readSealedSecretFile } from './sealed-secret-file.js';

/** The key file's name inside the data folder. */
export const KEY_FILE = 'operator-keys.json';

/** Options for {@link loadOperatorKeys}. */
export interface LoadOperatorKeysOptions {
  readonly dataDir: string;
  /** From `KOMRADE_OPERATOR_PASSPHRASE`; without it a `master.key` file protects the keys. */
  readonly passphrase?: string | undefined;
  readonly logger: Logger;
  /** Argon2id cost for new key files (ignored when `protection` is given). @defaultValue KDF_MODERATE */
  readonly kdf?: KdfParams;
  /**
   * The protection to seal and open with, shared with the onion key so one start derives the
   * passphrase key once. @defaultValue one built from `dataDir`, `passphrase`, `logger` and `kdf`
   */
  readonly protection?: KeyProtection;
}

const secretsSchema = z.strictObject({
  signSeed: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length === 32),
  feedSecret: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length === 32),
});

function seal(keys: IdentityKeys, path: string, protection: KeyProtection): void {
  const { signSeed, boxSecret } = secretsOf(keys);
  const file = protection.seal(
    encodeCanonical({ signSeed, feedSecret: boxSecret }),
    'operator-keys',
  );
  writeFileDurably(path, `${JSON.stringify(file, null, 2)}\n`);
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
  const protection =
    options.protection ??
    new KeyProtection({
      dataDir,
      passphrase,
      logger,
      ...(options.kdf === undefined ? {} : { kdf: options.kdf }),
    });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, KEY_FILE);
  const file = readSealedSecretFile(path, 'Operator key file');
  if (file === undefined) {
    const keys = generateIdentityKeys();
    seal(keys, path, protection);
    logger.info('operator.keys.created', {
      protection: protection.protection === 'passphrase' ? 'kdf' : 'file',
    });
    return keys;
  }
  const { plaintext, reseal } = protection.open(file, 'operator-keys', path);
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
  if (reseal) {
    seal(keys, path, protection);
    logger.warn('operator.keys.reencrypted', {
      detail: `The Operator's keys are now encrypted under ${PASSPHRASE_ENV}; securely delete ${MASTER_KEY_FILE} once a start with Tor has re-encrypted the onion key too.`,
    });
  }
  return keys;
}
