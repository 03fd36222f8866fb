/**
 * Real libsignal sessions without an Operator: each party is a `Ratchet` over its own in-memory
 * `SqliteLocalStore`, and a bundle fetch reads the other party's prekeys directly (what the
 * Operator would hand out). For tests of the letter layers that need genuine ratchet messages.
 */
import {
  Ratchet,
  SqliteLocalStore,
  ratchetKeyOf,
  type RatchetPeer,
  type RatchetStore,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import {
  openRatchetLetter,
  openSignedLetter,
  sealRatchetLetter,
  signLetter,
  verifyLetter,
  type Letter,
  type PrekeyBundle,
} from '../../common/wire/index.js';
import type { FakeOperator } from './fake-operator.js';

/** What opening gave: the verified letter, or which layer refused it and why. */
export type OpenedAt =
  | { readonly ok: true; readonly letter: Letter }
  | {
      readonly ok: false;
      readonly layer: 'seal' | 'ratchet' | 'signed' | 'verify';
      readonly reason: string;
    };

/** One party: its keys, store and ratchet, and how others address it. */
export interface RatchetParty {
  readonly name: string;
  readonly keys: IdentityKeys;
  readonly store: SqliteLocalStore;
  readonly ratchet: Ratchet;
  /** As a verified receipt names it (its registered ratchet key). */
  readonly peer: RatchetPeer;
  /** How many bundles of this party were handed out. */
  bundlesFetched: number;
}

/** A bundle of `party`'s prekeys (with a fresh one-time prekey unless `oneTime` is false). */
export function bundleOf(party: RatchetParty, oneTime = true): PrekeyBundle {
  const upload = party.ratchet.prekeysToPublish(oneTime ? 0 : undefined);
  const { signedPrekey, kyberPrekey } = upload;
  if (signedPrekey === undefined || kyberPrekey === undefined) throw new Error('no prekeys');
  const oneTimePrekey = upload.oneTimePrekeys?.[0];
  return {
    name: party.name,
    signedPrekey,
    kyberPrekey,
    ...(oneTimePrekey === undefined ? {} : { oneTimePrekey }),
  };
}

/**
 * Parties who can reach each other by name. `oneTime` says whether bundles carry a one-time
 * prekey. Close their stores with {@link closeParties}.
 */
export function ratchetParties(
  names: readonly string[],
  options: { readonly oneTime?: boolean; readonly now?: () => number } = {},
): RatchetParty[] {
  const now = options.now ?? Date.now;
  const byName = new Map<string, RatchetParty>();
  for (const name of names) {
    const keys = generateIdentityKeys();
    const store = new SqliteLocalStore(':memory:', { storageKey: randomBytes(32) });
    const ratchet = new Ratchet({
      store,
      keys,
      self: () => name,
      fetchBundle: (peer) => {
        const party = byName.get(peer);
        if (party === undefined) return Promise.reject(new Error(`no party ${peer}`));
        party.bundlesFetched++;
        return Promise.resolve(bundleOf(party, options.oneTime ?? true));
      },
      now,
    });
    byName.set(name, {
      name,
      keys,
      store,
      ratchet,
      peer: { name, ratchetKey: ratchetKeyOf(keys) },
      bundlesFetched: 0,
    });
  }
  return names.map((name) => byName.get(name)!);
}

export function closeParties(parties: readonly RatchetParty[]): void {
  for (const party of parties) party.store.close();
}

/**
 * `letter`, signed by `signer` (default: the sender), encrypted in `from`'s session with `to` and
 * sealed to `to`; `frameFrom` is the name beside the ratchet message (default: `from.name`).
 */
export async function ratchetLetter(
  from: RatchetParty,
  to: RatchetParty,
  letter: Letter,
  options: { readonly signer?: IdentityKeys; readonly frameFrom?: string } = {},
): Promise<Uint8Array> {
  const signed = signLetter(letter, (options.signer ?? from.keys).signSecret);
  const message = await from.ratchet.encrypt(to.peer, signed);
  return sealRatchetLetter(
    { v: 2, from: options.frameFrom ?? from.name, ...message },
    to.keys.boxPublic,
  );
}

/**
 * What a client does with a sealed letter: opens the seal, decrypts the ratchet message in the
 * session with the sender the frame names (looked up among `senders`), and verifies the signed
 * letter against that sender's key, addressed to `at`. The error says which layer refused it.
 */
export async function openAt(
  at: RatchetParty,
  sealed: Uint8Array,
  senders: readonly RatchetParty[],
  operatorId: Uint8Array = randomBytes(16),
): Promise<OpenedAt> {
  return openWith(at.ratchet, at, sealed, senders, operatorId);
}

/** {@link openAt} with any ratchet, for a recipient `me` and `senders` known by their keys. */
export async function openWith(
  ratchet: Ratchet,
  me: { readonly name: string; readonly keys: IdentityKeys },
  sealed: Uint8Array,
  senders: readonly { readonly name: string; readonly keys: IdentityKeys }[],
  operatorId: Uint8Array = randomBytes(16),
): Promise<OpenedAt> {
  const outer = openRatchetLetter(sealed, me.keys);
  if (!outer.ok) return { ok: false, layer: 'seal', reason: outer.error.message };
  const sender = senders.find((s) => s.name === outer.value.from);
  if (sender === undefined) return { ok: false, layer: 'ratchet', reason: 'unknown sender' };
  const { type, msg, renewed } = outer.value;
  const opened = await ratchet.decrypt(
    peerOf(sender.name, sender.keys),
    { type, msg, ...(renewed === true ? { renewed } : {}) },
    operatorId,
    sealed,
  );
  if (opened.status !== 'opened') return { ok: false, layer: 'ratchet', reason: opened.status };
  const signed = openSignedLetter(opened.plaintext);
  if (!signed.ok) return { ok: false, layer: 'signed', reason: signed.error.message };
  const verified = verifyLetter(signed.value, sender.keys.signPublic, me.name, outer.value.from);
  return verified.ok
    ? { ok: true, letter: verified.value }
    : { ok: false, layer: 'verify', reason: verified.error.message };
}

/**
 * A ratchet of `keys` that calls itself `self`, over its own in-memory store unless given one:
 * for an attacker who builds letters by hand (a real session, a crafted plaintext).
 */
export function sideRatchet(
  keys: IdentityKeys,
  self: string,
  fetchBundle: (name: string) => PrekeyBundle,
  store: RatchetStore = new SqliteLocalStore(':memory:', { storageKey: randomBytes(32) }),
): Ratchet {
  return new Ratchet({
    store,
    keys,
    self: () => self,
    fetchBundle: (name) => Promise.resolve(fetchBundle(name)),
    now: Date.now,
  });
}

/** How a recipient with `keys` named `name` is addressed by a ratchet. */
export const peerOf = (name: string, keys: IdentityKeys): RatchetPeer => ({
  name,
  ratchetKey: ratchetKeyOf(keys),
});

/** A recipient by its keys, or by its registered record (its receipt). */
export type CraftedRecipient =
  | { readonly name: string; readonly keys: IdentityKeys }
  | { readonly name: string; readonly boxKey: Uint8Array; readonly ratchetKey: Uint8Array | null };

/**
 * `letter` signed with `signer`, encrypted by `ratchet` for `to`, sealed to `to`'s box key with
 * `frameFrom` beside the message.
 */
export async function craftedLetter(
  ratchet: Ratchet,
  to: CraftedRecipient,
  letter: Letter,
  signer: IdentityKeys,
  frameFrom: string,
): Promise<Uint8Array> {
  const [peer, boxKey] =
    'keys' in to
      ? [peerOf(to.name, to.keys), to.keys.boxPublic]
      : [{ name: to.name, ratchetKey: to.ratchetKey }, to.boxKey];
  const message = await ratchet.encrypt(peer, signLetter(letter, signer.signSecret));
  return sealRatchetLetter({ v: 2, from: frameFrom, ...message }, boxKey);
}

/** `name`'s signed and Kyber prekeys as a fake Operator holds them (what anyone may fetch). */
export function bundleAtFake(operator: FakeOperator, name: string): PrekeyBundle {
  const held = operator.prekeys.get(name);
  if (held?.signedPrekey === undefined || held.kyberPrekey === undefined) {
    throw new Error(`@${name} has no prekeys`);
  }
  return { name, signedPrekey: held.signedPrekey, kyberPrekey: held.kyberPrekey };
}
