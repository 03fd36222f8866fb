/**
 * The Operator's own identity: an Ed25519 key that signs receipts, the X25519 `@komrades` key
 * posts are sealed to, and the RFC 9497 POPRF key anonymous tokens are issued under. Generated on
 * first start, stored encrypted at rest.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  deriveOprfKeyPair,
  generateIdentityKeys,
  identityKeysFromSecrets,
  randomBytes,
  secretsOf,
  type IdentityKeys,
  type KdfParams,
  type OprfKeyPair,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { decodeCanonical, encodeCanonical, parseWith } from '../../common/wire/index.js';
import { writeFileDurably } from './durable-file.js';
import { KeyProtection, MASTER_KEY_FILE, PASSPHRASE_ENV } from './key-protection.js';
import { readSealedSecretFile } from './sealed-secret-file.js';

/** The key file's name inside the data folder. */
export const KEY_FILE = 'operator-keys.json';

/** Everything the Operator holds secret: its identity, and the key tokens are issued under. */
export interface OperatorKeys extends IdentityKeys {
  /** The POPRF key pair; its public half is published as `tokenKey` and pinned by clients. */
  readonly token: OprfKeyPair;
  /** The 32-byte seed the token key is derived from: what the key file stores. */
  readonly tokenSeed: Uint8Array;
}

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
  /** Absent from key files written before anonymous tokens: one is added on the next start. */
  tokenSeed: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length === 32).optional(),
});

/** Binds the derived token key to its use (RFC 9497 DeriveKeyPair's info). */
const TOKEN_KEY_INFO = new TextEncoder().encode('komrade operator token key v1');

/** The Operator's keys from their stored secrets. */
function operatorKeysOf(signSeed: Uint8Array, feedSecret: Uint8Array, tokenSeed: Uint8Array) {
  const identity = identityKeysFromSecrets(signSeed, feedSecret);
  const token = deriveOprfKeyPair('POPRF', tokenSeed, TOKEN_KEY_INFO);
  const keys: OperatorKeys = { ...identity, token, tokenSeed: Uint8Array.from(tokenSeed) };
  return keys;
}

function seal(keys: OperatorKeys, path: string, protection: KeyProtection): void {
  const { signSeed, boxSecret } = secretsOf(keys);
  const file = protection.seal(
    encodeCanonical({ signSeed, feedSecret: boxSecret, tokenSeed: keys.tokenSeed }),
    'operator-keys',
  );
  writeFileDurably(path, `${JSON.stringify(file, null, 2)}\n`);
}

/**
 * Loads the Operator's keys from the data folder, creating them on first start (and adding a token
 * key to a key file written before there were tokens).
 * With a passphrase, keys are encrypted under Argon2id(passphrase); without one, under a random
 * `master.key` (0600) with a loud warning. Keys found under `master.key` while a passphrase is set
 * are re-encrypted under the passphrase.
 * @throws KomradeError `WRONG_PASSPHRASE` (wrong or missing passphrase), `KEYSTORE_CORRUPT`,
 * `KEYSTORE_MISSING` (master.key deleted)
 */
export function loadOperatorKeys(options: LoadOperatorKeysOptions): OperatorKeys {
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
    const { signSeed, boxSecret } = secretsOf(generateIdentityKeys());
    const keys = operatorKeysOf(signSeed, boxSecret, randomBytes(32));
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
  // A key file from before anonymous tokens gains a token key; its other keys stay as they are.
  const addToken = secrets.tokenSeed === undefined;
  const keys = operatorKeysOf(
    secrets.signSeed,
    secrets.feedSecret,
    secrets.tokenSeed ?? randomBytes(32),
  );
  if (addToken && !reseal) {
    seal(keys, path, protection);
    logger.info('operator.keys.token_key_added');
  }
  if (reseal) {
    seal(keys, path, protection);
    logger.warn('operator.keys.reencrypted', {
      detail: `The Operator's keys are now encrypted under ${PASSPHRASE_ENV}; securely delete ${MASTER_KEY_FILE} once a start with Tor has re-encrypted the onion key too.`,
    });
  }
  return keys;
}
