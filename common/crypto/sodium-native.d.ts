/**
 * The part of sodium-native 5 (native libsodium) that common/crypto/native-backend.ts calls. The
 * package ships no types. Every function writes into the output buffers it is given and throws
 * (an assertion error) when a length is wrong, before anything reaches C.
 */
declare module 'sodium-native' {
  type Bytes = Uint8Array;

  const sodium: {
    readonly crypto_sign_BYTES: number;
    readonly crypto_sign_PUBLICKEYBYTES: number;
    readonly crypto_sign_SECRETKEYBYTES: number;
    readonly crypto_box_PUBLICKEYBYTES: number;
    readonly crypto_box_SECRETKEYBYTES: number;
    readonly crypto_box_SEALBYTES: number;
    readonly crypto_auth_BYTES: number;
    readonly crypto_kx_PUBLICKEYBYTES: number;
    readonly crypto_kx_SECRETKEYBYTES: number;
    readonly crypto_kx_SESSIONKEYBYTES: number;
    readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
    readonly crypto_pwhash_ALG_ARGON2ID13: number;

    crypto_sign_keypair(pk: Bytes, sk: Bytes): void;
    crypto_sign_seed_keypair(pk: Bytes, sk: Bytes, seed: Bytes): void;
    crypto_sign_detached(sig: Bytes, m: Bytes, sk: Bytes): void;
    crypto_sign_verify_detached(sig: Bytes, m: Bytes, pk: Bytes): boolean;
    crypto_core_ed25519_is_valid_point(p: Bytes): boolean;

    crypto_box_keypair(pk: Bytes, sk: Bytes): void;
    crypto_scalarmult_base(q: Bytes, n: Bytes): void;
    crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void;
    crypto_box_seal(c: Bytes, m: Bytes, pk: Bytes): void;
    crypto_box_seal_open(m: Bytes, c: Bytes, pk: Bytes, sk: Bytes): boolean;

    /** Returns the padded length; libsodium's error is not reported (lengths are checked first). */
    sodium_pad(buf: Bytes, unpaddedLength: number, blockSize: number): number;
    crypto_auth(out: Bytes, input: Bytes, k: Bytes): void;
    crypto_auth_verify(h: Bytes, input: Bytes, k: Bytes): boolean;

    crypto_kx_keypair(pk: Bytes, sk: Bytes): void;
    crypto_kx_client_session_keys(
      rx: Bytes | null,
      tx: Bytes | null,
      clientPk: Bytes,
      clientSk: Bytes,
      serverPk: Bytes,
    ): void;
    crypto_kx_server_session_keys(
      rx: Bytes | null,
      tx: Bytes | null,
      serverPk: Bytes,
      serverSk: Bytes,
      clientPk: Bytes,
    ): void;

    /** Returns the ciphertext's length. */
    crypto_aead_xchacha20poly1305_ietf_encrypt(
      c: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number;
    /** Returns the plaintext's length; throws when the tag does not verify. */
    crypto_aead_xchacha20poly1305_ietf_decrypt(
      m: Bytes,
      nsec: null,
      c: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): number;

    crypto_pwhash(
      out: Bytes,
      passwd: Bytes,
      salt: Bytes,
      opslimit: number,
      memlimit: number,
      alg: number,
    ): void;
  };
  export default sodium;
}
