/** Opening a keystore with the key a running agent holds, so the command needs no passphrase. */
import type { FileKeystore, KeystoreSecrets } from '../../../client/index.js';
import { isKomradeError } from '../../../common/errors/index.js';
import { agentKey, stopAgent } from './agent-client.js';

/**
 * The keystore's secrets via the agent of `home`, or `undefined` when there is no usable agent
 * (none, a stale socket, or a key that no longer opens the keystore): the caller then asks for
 * the passphrase, without a word about the agent.
 * @throws `KEYSTORE_MISSING`, `KEYSTORE_CORRUPT` as `FileKeystore.open`
 */
export async function openWithAgent(
  home: string,
  keystore: FileKeystore,
): Promise<KeystoreSecrets | undefined> {
  const key = await agentKey(home);
  if (key === undefined) return undefined;
  try {
    return keystore.openWithUnlockKey(key);
  } catch (error) {
    if (!isKomradeError(error, 'WRONG_PASSPHRASE')) throw error;
    // The passphrase changed since unlock: that agent is of no more use.
    await stopAgent(home);
    return undefined;
  } finally {
    key.fill(0);
  }
}
