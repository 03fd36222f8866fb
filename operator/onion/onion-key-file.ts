/** `EncryptedOnionKeyFile`: the onion service's key in `<dataDir>/onion-key.json`, sealed at rest. */
import { join } from 'node:path';
import { z } from 'zod';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { decodeCanonical, encodeCanonical, parseWith } from '../../common/wire/index.js';
import { writeFileDurably } from '../keys/durable-file.js';
import { PASSPHRASE_ENV, type KeyProtection } from '../keys/key-protection.js';
import { readSealedSecretFile } from '../keys/sealed-secret-file.js';
import type { OnionKeyStore } from './onion-key-store.js';

/** The onion key file's name inside the data folder. */
export const ONION_KEY_FILE = 'onion-key.json';

/** Options for {@link EncryptedOnionKeyFile}. */
export interface EncryptedOnionKeyFileOptions {
  /** The Operator's data folder; the file is `<dataDir>/onion-key.json`. */
  readonly dataDir: string;
  /** The same protection as the Operator's keys (passphrase or `master.key`). */
  readonly protection: KeyProtection;
  readonly logger: Logger;
}

const PREFIX = 'ED25519-V3:';
// 64 bytes of expanded ed25519 secret key, as tor prints them: 86 base64 characters and `==`.
const KEY_BLOB = /^ED25519-V3:([A-Za-z0-9+/]{86}(?:==)?)$/;

const plaintextSchema = z.strictObject({
  ed25519v3: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length === 64),
});

/**
 * Stores the onion key as the CBOR `{ ed25519v3: <64 bytes> }` sealed with XChaCha20-Poly1305
 * under the Operator's key protection, in a 0600 file written atomically.
 *
 * @example
 * ```ts
 * const keys = new EncryptedOnionKeyFile({ dataDir, protection, logger });
 * const saved = keys.load();
 * const added = await control.addOnion({ ports, ...(saved === undefined ? {} : { privateKey: saved }) });
 * if (added.privateKey !== undefined) keys.save(added.privateKey);
 * ```
 */
export class EncryptedOnionKeyFile implements OnionKeyStore {
  readonly #path: string;
  readonly #protection: KeyProtection;
  readonly #logger: Logger;

  constructor(options: EncryptedOnionKeyFileOptions) {
    this.#path = join(options.dataDir, ONION_KEY_FILE);
    this.#protection = options.protection;
    this.#logger = options.logger;
  }

  /** The file's path, for messages. */
  get path(): string {
    return this.#path;
  }

  /**
   * @throws KomradeError `WRONG_PASSPHRASE`, `KEYSTORE_CORRUPT`, `KEYSTORE_MISSING`
   */
  load(): string | undefined {
    const file = readSealedSecretFile(this.#path, 'onion key file');
    if (file === undefined) return undefined;
    const { plaintext, reseal } = this.#protection.open(file, 'operator-onion-key', this.#path);
    let secret: Uint8Array;
    try {
      const decoded = parseWith(
        plaintextSchema,
        decodeCanonical(plaintext, 'onion key'),
        'KEYSTORE_CORRUPT',
        'onion key',
      );
      if (!decoded.ok) throw decoded.error;
      secret = decoded.value.ed25519v3;
    } catch (cause) {
      throw new KomradeError('KEYSTORE_CORRUPT', `${this.#path} holds a malformed key.`, {
        cause,
      });
    }
    const privateKey = PREFIX + Buffer.from(secret).toString('base64');
    if (reseal) {
      this.save(privateKey);
      this.#logger.warn('operator.onion.key_reencrypted', {
        detail: `The onion service key is now encrypted under ${PASSPHRASE_ENV}.`,
      });
    }
    return privateKey;
  }

  /**
   * @throws KomradeError `KEYSTORE_CORRUPT` when `privateKey` is not an `ED25519-V3:` key blob
   */
  save(privateKey: string): void {
    const match = KEY_BLOB.exec(privateKey);
    const secret = match?.[1] === undefined ? undefined : Buffer.from(match[1], 'base64');
    if (secret?.length !== 64) {
      throw new KomradeError('KEYSTORE_CORRUPT', 'Tor returned an onion key of an unknown form.');
    }
    const file = this.#protection.seal(
      encodeCanonical({ ed25519v3: new Uint8Array(secret) }),
      'operator-onion-key',
    );
    writeFileDurably(this.#path, `${JSON.stringify(file, null, 2)}\n`);
  }
}
