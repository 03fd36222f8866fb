/**
 * Collective messages made by hand, as a (possibly hostile) sender's client would make them: the
 * body signed with any key, the content key sent in the sender's own ratchet sessions (a
 * `Ratchet` over the sender's store and keys). Bundles come from the recipients' own stores
 * (the signed and Kyber prekeys they published), so no token is spent.
 */
import {
  Ratchet,
  ratchetKeyOf,
  sealToMembers,
  type MemberKey,
  type MemberSealing,
  type RatchetStore,
} from '../../client/index.js';
import type { CollectiveMessage } from '../../common/collectives/index.js';
import type { IdentityKeys } from '../../common/crypto/index.js';
import type { PrekeyBundle } from '../../common/wire/index.js';

/** An identity with its store: a sender, or a member whose published prekeys are read. */
export interface SealingParty {
  readonly name: string;
  readonly keys: IdentityKeys;
  readonly store: RatchetStore;
}

/** The last-resort prekeys `party` published (made on first use, so the same ones). */
export function publishedBundle(party: SealingParty): PrekeyBundle {
  const upload = ratchetOf(party, () => Promise.reject(new Error('not here'))).prekeysToPublish(
    undefined,
  );
  const { signedPrekey, kyberPrekey } = upload;
  if (signedPrekey === undefined || kyberPrekey === undefined) throw new Error('no prekeys');
  return { name: party.name, signedPrekey, kyberPrekey };
}

function ratchetOf(
  party: SealingParty,
  fetchBundle: (name: string) => Promise<PrekeyBundle>,
): Ratchet {
  return new Ratchet({
    store: party.store,
    keys: party.keys,
    self: () => party.name,
    fetchBundle,
    now: Date.now,
  });
}

/** A member as the sender seals to them: their registered box and ratchet keys. */
export function memberKeyOf(party: SealingParty): MemberKey {
  return { name: party.name, boxKey: party.keys.boxPublic, ratchetKey: ratchetKeyOf(party.keys) };
}

/** `draft` signed with `signSecret`, its key sent to `members` in `sender`'s sessions. */
export async function handSealed(
  sender: SealingParty,
  draft: CollectiveMessage,
  signSecret: Uint8Array,
  members: readonly SealingParty[],
): Promise<MemberSealing> {
  const ratchet = ratchetOf(sender, (name) => {
    const member = members.find((m) => m.name === name);
    return member === undefined
      ? Promise.reject(new Error(`no member ${name}`))
      : Promise.resolve(publishedBundle(member));
  });
  return sealToMembers(draft, signSecret, members.map(memberKeyOf), ratchet);
}
