/** The on-disk form of the Operator's encrypted keys (`<dataDir>/operator-keys.json`). */
import { z } from 'zod';
import { base64urlBytes } from '../../common/wire/index.js';

/** How the key-encryption key is obtained. */
export const PROTECTIONS = ['passphrase', 'master-key-file'] as const;
export type Protection = (typeof PROTECTIONS)[number];

/** The key file's JSON. Argon2id parameters are stored so they can be raised later. */
export const operatorKeyFileSchema = z.strictObject({
  v: z.literal(1),
  protection: z.enum(PROTECTIONS),
  kdf: z
    .strictObject({
      salt: base64urlBytes({ exact: 16 }),
      opsLimit: z.number().int().positive(),
      memLimitBytes: z.number().int().positive(),
    })
    .optional(),
  /** XChaCha20-Poly1305 nonce ‖ ciphertext of the CBOR `{ signSeed, feedSecret }`. */
  sealed: base64urlBytes({ max: 1_024 }),
});
