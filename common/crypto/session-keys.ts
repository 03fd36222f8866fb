/**
 * Mailbox session keys: an ephemeral X25519 key exchange (`crypto_kx`) made once per session, and
 * HMAC-SHA-512-256 (`crypto_auth`) on every request after it. The keys live in memory only.
 */
import { backend } from './sodium.js';

/** Bytes of a session's MAC key and of each MAC. */
export const SESSION_KEY_BYTES = 32;
export const SESSION_MAC_BYTES = 32;

/** One side's ephemeral key pair for a session handshake. */
export interface SessionKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** A fresh ephemeral key pair; used for one handshake and dropped. */
export function sessionKeyPair(): SessionKeyPair {
  return backend().kxKeypair();
}

/**
 * The key the client MACs its requests with, as the client derives it.
 * @throws Error from libsodium for a low-order server key (the exchange would be all zeros)
 */
export function clientSessionKey(client: SessionKeyPair, serverPublic: Uint8Array): Uint8Array {
  return backend().kxClientTx(client.publicKey, client.secretKey, serverPublic);
}

/**
 * The same key, as the Operator derives it (its receiving key).
 * @throws Error from libsodium for a low-order client key
 */
export function serverSessionKey(server: SessionKeyPair, clientPublic: Uint8Array): Uint8Array {
  return backend().kxServerRx(server.publicKey, server.secretKey, clientPublic);
}

/** The MAC of `message` under a session key. */
export function sessionMac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return backend().auth(message, key);
}

/** True only when `mac` is the MAC of `message` under `key` (compared in constant time). */
export function sessionMacVerifies(key: Uint8Array, mac: Uint8Array, message: Uint8Array): boolean {
  if (mac.length !== SESSION_MAC_BYTES || key.length !== SESSION_KEY_BYTES) return false;
  try {
    return backend().authVerify(mac, message, key);
  } catch {
    return false;
  }
}
