/** The `Keystore` port: where a komrade's secrets live, locked by a passphrase. */
import type { IdentityKeys } from '../../common/crypto/index.js';

/** What a keystore holds once unlocked. Keep it in memory only as long as needed. */
export interface KeystoreSecrets {
  /** The komrade's identity (signing and box key pairs). */
  readonly keys: IdentityKeys;
  /** A random 32-byte key that encrypts the local store's letters at rest. */
  readonly storageKey: Uint8Array;
}

/** Hooks for slow steps, so a user interface can say what is happening. */
export interface KeystoreProgress {
  /** Called before the passphrase is stretched (about a second with the default cost). */
  readonly onDeriving?: () => void;
}

/**
 * A passphrase-locked store of {@link KeystoreSecrets}.
 *
 * `create` throws `KEYSTORE_EXISTS`; `open` and `changePassphrase` throw `KEYSTORE_MISSING`,
 * `WRONG_PASSPHRASE` or `KEYSTORE_CORRUPT`. No error ever carries a secret or the passphrase.
 */
export interface Keystore {
  exists(): boolean;
  create(passphrase: string, secrets: KeystoreSecrets, progress?: KeystoreProgress): Promise<void>;
  open(passphrase: string, progress?: KeystoreProgress): Promise<KeystoreSecrets>;
  /** Locks the same secrets under a new passphrase; afterwards only the new one opens them. */
  changePassphrase(
    oldPassphrase: string,
    newPassphrase: string,
    progress?: KeystoreProgress,
  ): Promise<void>;
}
