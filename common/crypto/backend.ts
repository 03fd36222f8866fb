/**
 * The libsodium calls common/crypto makes, behind one interface so the same functions run on
 * native libsodium (sodium-native) or on its WebAssembly build. Both are libsodium: the bytes are
 * the same, and test/unit/common/crypto-backends.test.ts checks it. Every function returns fresh
 * Uint8Arrays; on a wrong length or a refused key it throws, as libsodium's wrappers do.
 */

/** Which libsodium build runs the hot paths. */
export type CryptoBackendName = 'native' | 'wasm';

/** A key pair as libsodium makes it. */
export interface RawKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface CryptoBackend {
  readonly name: CryptoBackendName;

  signKeypair(): RawKeyPair;
  signSeedKeypair(seed: Uint8Array): RawKeyPair;
  signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** False for a bad signature; throws for a signature or key of the wrong length. */
  verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  isValidEd25519Point(point: Uint8Array): boolean;

  boxKeypair(): RawKeyPair;
  scalarmultBase(scalar: Uint8Array): Uint8Array;
  /** Throws for a low-order point (the product would be all zeros). */
  scalarmult(scalar: Uint8Array, point: Uint8Array): Uint8Array;
  seal(plaintext: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** `undefined` when the box was not sealed to this key or was altered. */
  sealOpen(
    ciphertext: Uint8Array,
    publicKey: Uint8Array,
    secretKey: Uint8Array,
  ): Uint8Array | undefined;

  generichash(length: number, data: Uint8Array): Uint8Array;
  /** `crypto_kdf_derive_from_key`: subkey `id` of a 32-byte key, under an 8-character context. */
  kdfDerive(length: number, id: number, context: string, key: Uint8Array): Uint8Array;
  /** `sodium_pad` (ISO/IEC 7816-4) to the next multiple of `blockSize` above `bytes.length`. */
  pad(bytes: Uint8Array, blockSize: number): Uint8Array;
  auth(message: Uint8Array, key: Uint8Array): Uint8Array;
  authVerify(mac: Uint8Array, message: Uint8Array, key: Uint8Array): boolean;

  kxKeypair(): RawKeyPair;
  /** The client's transmit key (`crypto_kx_client_session_keys`' tx). */
  kxClientTx(
    clientPublic: Uint8Array,
    clientSecret: Uint8Array,
    serverPublic: Uint8Array,
  ): Uint8Array;
  /** The server's receive key (`crypto_kx_server_session_keys`' rx), equal to the client's tx. */
  kxServerRx(
    serverPublic: Uint8Array,
    serverSecret: Uint8Array,
    clientPublic: Uint8Array,
  ): Uint8Array;

  aeadEncrypt(
    plaintext: Uint8Array,
    associatedData: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): Uint8Array;
  /** `undefined` when the key is wrong or anything was altered. */
  aeadDecrypt(
    ciphertext: Uint8Array,
    associatedData: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): Uint8Array | undefined;

  /** Argon2id v1.3 (`crypto_pwhash`) of the passphrase's UTF-8 bytes. */
  argon2id(
    length: number,
    passphrase: string,
    salt: Uint8Array,
    opsLimit: number,
    memLimitBytes: number,
  ): Uint8Array;
}
