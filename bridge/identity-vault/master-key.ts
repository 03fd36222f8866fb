/** Derives the bridge's working keys from the adapter operator's master key (HKDF-SHA256). */
import { hkdfSync } from 'node:crypto';
import { KomradeError } from '../../common/errors/index.js';

/** The keys an adapter that holds identities works with. */
export interface BridgeKeys {
  /** Seals identity secrets and chat addresses in the bridge store. */
  readonly vaultKey: Uint8Array;
  /** Keys the HMAC that finds a chat user's identity. */
  readonly lookupKey: Uint8Array;
  /** Seals outbox entries while they wait in Redis. */
  readonly queueKey: Uint8Array;
  /** Seed of the Ed25519 key the bot cosigns registry checkpoints with, as a witness. */
  readonly witnessSeed: Uint8Array;
}

/** Bytes of a master key. */
export const MASTER_KEY_BYTES = 32;

const derive = (master: Uint8Array, info: string) =>
  new Uint8Array(hkdfSync('sha256', master, 'komrade-bridge', info, 32));

/**
 * Reads a master key written as 64 hex characters or 43 base64url characters (32 bytes), and
 * derives the working keys from it.
 * @throws `CONFIG_INVALID` for anything else (the value is never echoed)
 */
export function deriveBridgeKeys(masterKeyText: string): BridgeKeys {
  const text = masterKeyText.trim();
  let master: Uint8Array | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) master = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9_-]{43}$/.test(text)) master = Buffer.from(text, 'base64url');
  if (master?.length !== MASTER_KEY_BYTES) {
    throw new KomradeError(
      'CONFIG_INVALID',
      'The master key must be 32 random bytes written as 64 hex characters (e.g. `openssl rand -hex 32`).',
    );
  }
  const keys = {
    vaultKey: derive(master, 'vault'),
    lookupKey: derive(master, 'lookup'),
    queueKey: derive(master, 'queue'),
    witnessSeed: derive(master, 'witness'),
  };
  master.fill(0);
  return Object.freeze(keys);
}
