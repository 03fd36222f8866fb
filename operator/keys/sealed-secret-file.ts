/** The on-disk form of an Operator secret encrypted at rest (its keys, its onion key). */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KomradeError } from '../../common/errors/index.js';
import { base64urlBytes, parseWith } from '../../common/wire/index.js';

/** How the key-encryption key is obtained. */
export const PROTECTIONS = ['passphrase', 'master-key-file'] as const;
export type Protection = (typeof PROTECTIONS)[number];

/** The file's JSON. Argon2id parameters are stored so they can be raised later. */
export const sealedSecretFileSchema = z.strictObject({
  v: z.literal(1),
  protection: z.enum(PROTECTIONS),
  kdf: z
    .strictObject({
      salt: base64urlBytes({ exact: 16 }),
      opsLimit: z.number().int().positive(),
      memLimitBytes: z.number().int().positive(),
    })
    .optional(),
  /** XChaCha20-Poly1305 nonce ‖ ciphertext of the CBOR secret. */
  sealed: base64urlBytes({ max: 1_024 }),
});

/** A parsed sealed-secret file. */
export type SealedSecretFile = z.output<typeof sealedSecretFileSchema>;
/** A sealed-secret file as written (binary fields in base64url). */
export type SealedSecretFileJson = z.input<typeof sealedSecretFileSchema>;

/**
 * Reads and validates a sealed-secret file.
 *
 * @param label - what the file holds, for messages (e.g. `Operator key file`).
 * @returns the parsed file, or `undefined` when it does not exist.
 * @throws KomradeError `KEYSTORE_CORRUPT` when it is not valid JSON or not of this shape.
 */
export function readSealedSecretFile(path: string, label: string): SealedSecretFile | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new KomradeError('KEYSTORE_CORRUPT', `${path} is not valid JSON.`, { cause });
  }
  const parsed = parseWith(sealedSecretFileSchema, json, 'KEYSTORE_CORRUPT', label);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
