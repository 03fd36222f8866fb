/**
 * Following has one home, each identity's letter store (as for the CLI). Versions before kept the
 * bots' follow lists in the bridge store; this moves them, once, at engine start.
 */
import type { BridgeStore } from '../identity-vault/bridge-store.js';
import type { Sessions } from './sessions.js';

/**
 * Copies each legacy follow list into its identity's letter store, then drops it from the bridge
 * store. Copying twice changes nothing, so a crash in between is harmless: the next start repeats.
 * @returns how many identities' lists were moved
 */
export function moveLegacyFollows(
  store: BridgeStore,
  sessions: Sessions,
  now: () => number,
): number {
  const lists = store.legacyFollows();
  for (const { identity, names } of lists) {
    const local = sessions.get(identity)?.local;
    for (const name of names) local?.addFollowing(name, now());
    store.dropLegacyFollows(identity);
  }
  return lists.length;
}
