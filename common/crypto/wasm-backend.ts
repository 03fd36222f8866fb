/**
 * libsodium's WebAssembly build (libsodium-wrappers-sumo): the fallback where sodium-native does
 * not load, and what `KOMRADE_CRYPTO=wasm` forces. Its `randombytes_buf` asks Node for four bytes
 * at a time, which is most of a seal's cost here.
 */
import type sodium from 'libsodium-wrappers-sumo';
import type { CryptoBackend, RawKeyPair } from './backend.js';

type Sodium = typeof sodium;

const pair = (keys: { publicKey: Uint8Array; privateKey: Uint8Array }): RawKeyPair => ({
  publicKey: keys.publicKey,
  secretKey: keys.privateKey,
});

/** The backend over a ready libsodium-wrappers instance. */
export function wasmBackend(s: Sodium): CryptoBackend {
  return {
    name: 'wasm',
    signKeypair: () => pair(s.crypto_sign_keypair()),
    signSeedKeypair: (seed) => pair(s.crypto_sign_seed_keypair(seed)),
    signDetached: (message, secretKey) => s.crypto_sign_detached(message, secretKey),
    verifyDetached: (signature, message, publicKey) =>
      s.crypto_sign_verify_detached(signature, message, publicKey),
    isValidEd25519Point: (point) => s.crypto_core_ed25519_is_valid_point(point),

    boxKeypair: () => pair(s.crypto_box_keypair()),
    scalarmultBase: (scalar) => s.crypto_scalarmult_base(scalar),
    scalarmult: (scalar, point) => s.crypto_scalarmult(scalar, point),
    seal: (plaintext, publicKey) => s.crypto_box_seal(plaintext, publicKey),
    sealOpen: (ciphertext, publicKey, secretKey) => {
      try {
        return s.crypto_box_seal_open(ciphertext, publicKey, secretKey);
      } catch {
        return undefined;
      }
    },

    generichash: (length, data) => s.crypto_generichash(length, data, null),

    kdfDerive: (length, id, context, key) => s.crypto_kdf_derive_from_key(length, id, context, key),
    pad: (bytes, blockSize) => s.pad(bytes, blockSize),
    auth: (message, key) => s.crypto_auth(message, key),
    authVerify: (mac, message, key) => s.crypto_auth_verify(mac, message, key),

    kxKeypair: () => pair(s.crypto_kx_keypair()),
    kxClientTx: (clientPublic, clientSecret, serverPublic) =>
      s.crypto_kx_client_session_keys(clientPublic, clientSecret, serverPublic).sharedTx,
    kxServerRx: (serverPublic, serverSecret, clientPublic) =>
      s.crypto_kx_server_session_keys(serverPublic, serverSecret, clientPublic).sharedRx,

    aeadEncrypt: (plaintext, associatedData, nonce, key) =>
      s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associatedData, null, nonce, key),
    aeadDecrypt: (ciphertext, associatedData, nonce, key) => {
      try {
        return s.crypto_aead_xchacha20poly1305_ietf_decrypt(
          null,
          ciphertext,
          associatedData,
          nonce,
          key,
        );
      } catch {
        return undefined;
      }
    },

    argon2id: (length, passphrase, salt, opsLimit, memLimitBytes) =>
      s.crypto_pwhash(
        length,
        passphrase,
        salt,
        opsLimit,
        memLimitBytes,
        s.crypto_pwhash_ALG_ARGON2ID13,
      ),
  };
}
