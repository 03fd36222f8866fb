/** Turning a passphrase into a key, shared by the keystore file and the backup file. */
import { deriveKeyFromPassphrase, type KdfParams } from '../../common/crypto/index.js';
import type { KeystoreProgress } from './keystore.js';

/**
 * Stretches `passphrase` with `salt` at the cost `kdf` (the slow part), telling `progress` first.
 * The caller zeroes the returned key.
 */
export async function stretchPassphrase(
  passphrase: string,
  salt: Uint8Array,
  kdf: KdfParams,
  progress: KeystoreProgress,
): Promise<Uint8Array> {
  progress.onDeriving?.();
  // Lets a progress message render before the (synchronous) key derivation blocks the thread.
  await new Promise<void>((resolve) => setImmediate(resolve));
  return deriveKeyFromPassphrase(passphrase, salt, kdf);
}
