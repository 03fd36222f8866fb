/**
 * Native libsodium through sodium-native: Ed25519 about twice as fast as the WebAssembly build,
 * and a seal four times as fast (no four-bytes-at-a-time randomness). sodium-native's own
 * JavaScript checks every length before C sees it (its C asserts may be compiled out), so every
 * call here goes through those checks.
 *
 * BLAKE2b stays on the WebAssembly build: its prebuilt libsodium is no faster up to 1 KiB and
 * 1.2–1.5× slower at 64 KiB here (a request body is hashed once per request).
 */
import type sodium from 'libsodium-wrappers-sumo';
import type nativeSodium from 'sodium-native';
import type { CryptoBackend, RawKeyPair } from './backend.js';

type Native = typeof nativeSodium;

/** The backend over a loaded sodium-native module, with `wasm` for BLAKE2b. */
export function nativeBackend(s: Native, wasm: typeof sodium): CryptoBackend {
  const keyPair = (
    publicBytes: number,
    secretBytes: number,
    make: (pk: Uint8Array, sk: Uint8Array) => void,
  ): RawKeyPair => {
    const publicKey = new Uint8Array(publicBytes);
    const secretKey = new Uint8Array(secretBytes);
    make(publicKey, secretKey);
    return { publicKey, secretKey };
  };

  return {
    name: 'native',
    signKeypair: () =>
      keyPair(s.crypto_sign_PUBLICKEYBYTES, s.crypto_sign_SECRETKEYBYTES, (pk, sk) => {
        s.crypto_sign_keypair(pk, sk);
      }),
    signSeedKeypair: (seed) =>
      keyPair(s.crypto_sign_PUBLICKEYBYTES, s.crypto_sign_SECRETKEYBYTES, (pk, sk) => {
        s.crypto_sign_seed_keypair(pk, sk, seed);
      }),
    signDetached: (message, secretKey) => {
      const signature = new Uint8Array(s.crypto_sign_BYTES);
      s.crypto_sign_detached(signature, message, secretKey);
      return signature;
    },
    verifyDetached: (signature, message, publicKey) => {
      // sodium-native accepts a longer signature and reads its first 64 bytes; libsodium.js and
      // the callers here refuse it.
      if (signature.length !== s.crypto_sign_BYTES) throw new RangeError('bad signature length');
      return s.crypto_sign_verify_detached(signature, message, publicKey);
    },
    isValidEd25519Point: (point) => s.crypto_core_ed25519_is_valid_point(point),

    boxKeypair: () =>
      keyPair(s.crypto_box_PUBLICKEYBYTES, s.crypto_box_SECRETKEYBYTES, (pk, sk) => {
        s.crypto_box_keypair(pk, sk);
      }),
    scalarmultBase: (scalar) => {
      const point = new Uint8Array(s.crypto_box_PUBLICKEYBYTES);
      s.crypto_scalarmult_base(point, scalar);
      return point;
    },
    scalarmult: (scalar, point) => {
      const product = new Uint8Array(s.crypto_box_PUBLICKEYBYTES);
      s.crypto_scalarmult(product, scalar, point);
      return product;
    },
    seal: (plaintext, publicKey) => {
      const sealed = new Uint8Array(plaintext.length + s.crypto_box_SEALBYTES);
      s.crypto_box_seal(sealed, plaintext, publicKey);
      return sealed;
    },
    sealOpen: (ciphertext, publicKey, secretKey) => {
      if (ciphertext.length < s.crypto_box_SEALBYTES) return undefined;
      const plaintext = new Uint8Array(ciphertext.length - s.crypto_box_SEALBYTES);
      try {
        return s.crypto_box_seal_open(plaintext, ciphertext, publicKey, secretKey)
          ? plaintext
          : undefined;
      } catch {
        return undefined;
      }
    },

    generichash: (length, data) => wasm.crypto_generichash(length, data, null),

    kdfDerive: (length, id, context, key) =>
      wasm.crypto_kdf_derive_from_key(length, id, context, key),
    pad: (bytes, blockSize) => {
      // libsodium.js copies byte by byte (450 µs for 64 KiB); here one copy, then sodium_pad.
      if (blockSize > 0xffff_ffff) throw new RangeError('block size too large');
      const padded = new Uint8Array(bytes.length + blockSize - (bytes.length % blockSize));
      padded.set(bytes);
      s.sodium_pad(padded, bytes.length, blockSize);
      return padded;
    },
    auth: (message, key) => {
      const mac = new Uint8Array(s.crypto_auth_BYTES);
      s.crypto_auth(mac, message, key);
      return mac;
    },
    authVerify: (mac, message, key) => s.crypto_auth_verify(mac, message, key),

    kxKeypair: () =>
      keyPair(s.crypto_kx_PUBLICKEYBYTES, s.crypto_kx_SECRETKEYBYTES, (pk, sk) => {
        s.crypto_kx_keypair(pk, sk);
      }),
    kxClientTx: (clientPublic, clientSecret, serverPublic) => {
      const tx = new Uint8Array(s.crypto_kx_SESSIONKEYBYTES);
      s.crypto_kx_client_session_keys(null, tx, clientPublic, clientSecret, serverPublic);
      return tx;
    },
    kxServerRx: (serverPublic, serverSecret, clientPublic) => {
      const rx = new Uint8Array(s.crypto_kx_SESSIONKEYBYTES);
      s.crypto_kx_server_session_keys(rx, null, serverPublic, serverSecret, clientPublic);
      return rx;
    },

    aeadEncrypt: (plaintext, associatedData, nonce, key) => {
      const ciphertext = new Uint8Array(
        plaintext.length + s.crypto_aead_xchacha20poly1305_ietf_ABYTES,
      );
      s.crypto_aead_xchacha20poly1305_ietf_encrypt(
        ciphertext,
        plaintext,
        associatedData,
        null,
        nonce,
        key,
      );
      return ciphertext;
    },
    aeadDecrypt: (ciphertext, associatedData, nonce, key) => {
      if (ciphertext.length < s.crypto_aead_xchacha20poly1305_ietf_ABYTES) return undefined;
      const plaintext = new Uint8Array(
        ciphertext.length - s.crypto_aead_xchacha20poly1305_ietf_ABYTES,
      );
      try {
        s.crypto_aead_xchacha20poly1305_ietf_decrypt(
          plaintext,
          null,
          ciphertext,
          associatedData,
          nonce,
          key,
        );
        return plaintext;
      } catch {
        return undefined;
      }
    },

    argon2id: (length, passphrase, salt, opsLimit, memLimitBytes) => {
      // TextEncoder gives the passphrase its own buffer (Buffer.from may use Node's shared pool),
      // so wiping it afterwards wipes the only copy made here.
      const passwd = new TextEncoder().encode(passphrase);
      const key = new Uint8Array(length);
      try {
        s.crypto_pwhash(key, passwd, salt, opsLimit, memLimitBytes, s.crypto_pwhash_ALG_ARGON2ID13);
        return key;
      } finally {
        passwd.fill(0);
      }
    },
  };
}
