/** @module Crypto: libsodium's high-level constructions, and nothing home-made. */
export {
  cryptoBackendName,
  initCrypto,
  type CryptoBackendChoice,
  type InitCryptoOptions,
} from './sodium.js';
export type { CryptoBackendName } from './backend.js';
export { randomBytes } from './random.js';
export { blake2b } from './hash.js';
export { deriveSubkey } from './subkey.js';
export {
  PUBLIC_KEY_BYTES,
  SEED_BYTES,
  SIGNATURE_BYTES,
  generateIdentityKeys,
  identityKeysFromSecrets,
  signKeysFromSeed,
  secretsOf,
  publicKeysOf,
  type IdentityKeys,
  type PublicKeys,
} from './keys.js';
export { signDetached, verifyDetached } from './sign.js';
export {
  SESSION_KEY_BYTES,
  SESSION_MAC_BYTES,
  clientSessionKey,
  serverSessionKey,
  sessionKeyPair,
  sessionMac,
  sessionMacVerifies,
  type SessionKeyPair,
} from './session-keys.js';
export { checkPublicKeys, isValidBoxKey, isValidSignKey } from './public-key-check.js';
export { SEAL_OVERHEAD_BYTES, openSeal, seal } from './seal.js';
export { PAD_MARKER_BYTES, pad, unpad } from './pad.js';
export {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  aeadEncryptWithNonce,
} from './aead.js';
export {
  KDF_INTERACTIVE,
  KDF_MODERATE,
  KDF_SALT_BYTES,
  deriveKeyFromPassphrase,
  type KdfParams,
} from './password-kdf.js';
export {
  OPRF_ELEMENT_BYTES,
  OPRF_MAX_BATCH,
  OPRF_OUTPUT_BYTES,
  OPRF_PROOF_BYTES,
  OPRF_SCALAR_BYTES,
  blind,
  blindEvaluate,
  checkOprfPublicKey,
  checkOprfSecretKey,
  deriveOprfKeyPair,
  evaluate,
  evaluator,
  finalize,
  generateOprfKeyPair,
  type BlindEvaluateOptions,
  type BlindOptions,
  type BlindedBatch,
  type OprfEvaluation,
  type OprfKeyPair,
  type OprfMode,
  type OprfParams,
} from './oprf/index.js';
