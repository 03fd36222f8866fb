/**
 * What a restored backup's store needs before use. Its sessions are behind the peers' (letters
 * sent and opened since the backup advanced them), so each is archived: the next letter to anyone
 * starts a new session (marked renewed, so they are told), while letters already on their way
 * still open in the archived state. Its prekeys are dropped: the records of which first messages
 * were opened since the backup are lost, so the old prekeys would open a replayed one again. New
 * prekeys (ids skipping ahead) replace them, and all one-time prekeys at the Operator, at the next
 * chance; a first message made from an old prekey meanwhile cannot be opened, and the reset that
 * follows tells both sides.
 */
import { SessionRecord } from '@signalapp/libsignal-client';
import { owned } from './ratchet-identity.js';
import type { RatchetStore } from './ratchet-store.js';

/** One-time prekey ids skipped after a restore: more than could have been made since. */
const RESTORE_ID_SKIP = 1_000_000;

/** Prepares a restored store; @returns how many sessions were archived. */
export function prepareRestoredStore(store: RatchetStore): number {
  const sessions = new Map<string, Uint8Array>();
  for (const peer of store.ratchetPeers()) {
    const bytes = store.ratchetSession(peer);
    if (bytes === undefined) continue;
    const record = SessionRecord.deserialize(owned(bytes));
    record.archiveCurrentState();
    sessions.set(peer, record.serialize());
  }
  store.commitRatchet({ sessions, spentOneTime: [], kyberUses: [] });
  store.deleteOwnOneTimePrekeys();
  for (const kind of ['signed', 'kyber'] as const) {
    store.deleteOwnPrekeys(
      kind,
      store.ownLastResortPrekeys(kind).map((key) => key.id),
    );
    store.reservePrekeyIds(kind, RESTORE_ID_SKIP);
  }
  store.reservePrekeyIds('one-time', RESTORE_ID_SKIP);
  store.setPrekeysPublishedAt(0);
  store.setOneTimeReplaceDue(true);
  return sessions.size;
}
