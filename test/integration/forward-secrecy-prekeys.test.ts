/**
 * First contact through a real Operator (real HTTP, SQLite): when the recipient's one-time
 * prekeys are all handed out, first contact still works from the signed and last-resort Kyber
 * prekeys; a first message replayed later (the same sealed bytes, paid with a fresh token) is
 * refused even after the recipient lost the session; and a lying Operator's bundle (altered
 * signature, swapped key, or keys the attacker holds and signed) is refused before anything is
 * sent or stored.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { IdentityKeyPair, KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ratchet, SqliteLocalStore } from '../../client/index.js';
import {
  LAST_RESORT_GRACE_MS,
  LAST_RESORT_ROTATION_MS,
} from '../../client/ratchet/prekey-keeper.js';
import { openRatchetLetter, type PrekeyBundle } from '../../common/wire/index.js';
import { attackerDecrypt } from '../support/attacker-libsignal.js';
import {
  ForwardSecrecyWorld,
  copySqlite,
  type FsKomrade,
} from '../support/forward-secrecy-world.js';

let world: ForwardSecrecyWorld;

beforeAll(async () => {
  world = await ForwardSecrecyWorld.start();
});

afterAll(async () => {
  await world.close();
});

/** Every bundle `komrade` is answered (after any bending), in order. */
function recordBundles(komrade: FsKomrade): PrekeyBundle[] {
  const bundles: PrekeyBundle[] = [];
  komrade.overrides.fetchPrekeyBundle = async (request) => {
    const bundle = await komrade.http.fetchPrekeyBundle(request);
    bundles.push(bundle);
    return bundle;
  };
  return bundles;
}

/** Deletes `komrade`'s session with `peer` in its store file (a lost session), beside the client. */
function loseSession(komrade: FsKomrade, peer: string): void {
  const db = new Database(komrade.path, { fileMustExist: true });
  try {
    expect(db.prepare('DELETE FROM ratchet_sessions WHERE peer = ?').run(peer).changes).toBe(1);
  } finally {
    db.close();
  }
}

describe('one-time prekey exhaustion', () => {
  it('lets first contact work from the last-resort keys, and refuses a replayed first message after the session is lost', async () => {
    // Bob publishes only two one-time prekeys.
    const bob = world.komrade('bob');
    bob.limitOneTimePrekeys(2);
    await bob.client.register(bob.name);

    const senders = [
      await world.registered('carol'),
      await world.registered('dave'),
      await world.registered('alice'),
    ];
    const bundles = senders.map((sender) => recordBundles(sender));
    for (const sender of senders) {
      bob.client.accept(sender.name);
      await sender.client.send(bob.name, `first contact from ${sender.name}`);
    }
    // The first two took the one-time prekeys; the third found none left.
    expect(bundles.map((b) => b.map((bundle) => bundle.oneTimePrekey !== undefined))).toEqual([
      [true],
      [true],
      [false],
    ]);
    expect(await bob.client.checkInbox()).toMatchObject({
      received: 3,
      rejected: 0,
      sessionResets: [],
    });
    expect(bob.inboxTexts().sort()).toEqual(
      senders.map((sender) => `first contact from ${sender.name}`).sort(),
    );
    // The sessions work both ways.
    await bob.client.send(senders[2]?.name ?? '', 'answer to the last-resort contact');
    const alice = senders[2];
    if (alice === undefined) throw new Error('no alice');
    expect(await alice.client.checkInbox()).toMatchObject({ received: 1 });

    // Bob loses the sessions (both kinds of first contact: one-time and last resort); an
    // attacker re-sends the first messages, recorded off the wire, paid with fresh tokens.
    const mallory = await world.registered('mallory');
    for (const sender of [senders[0], alice]) {
      if (sender === undefined) throw new Error('no sender');
      const [first] = sender.sentTo(bob.name);
      if (first === undefined) throw new Error('nothing recorded');
      const outer = openRatchetLetter(first, bob.keys);
      expect(outer.ok && outer.value.type).toBe('prekey');
      loseSession(bob, sender.name);
      await mallory.client.deliver({ to: bob.name, sealed: first });
    }
    expect(await world.waiting(bob.name)).toBe(2);
    const replayed = await bob.client.checkInbox();
    expect(replayed).toMatchObject({ received: 0, duplicates: 2, sessionResets: [] });
    // Refused by the ratchet itself: no session was started from them again…
    expect(bob.store.ratchetSession(alice.name)).toBeUndefined();
    expect(bob.store.ratchetSession(senders[0]?.name ?? '')).toBeUndefined();
    // …nothing was shown twice, and no reset letter went to anyone.
    expect(bob.inboxTexts()).toHaveLength(3);
    expect(bob.sentTo(alice.name)).toHaveLength(1);
    expect(await world.waiting(alice.name)).toBe(0);
  });
});

describe('a first message that found no one-time prekey', () => {
  it('is readable with a stolen state only until its last-resort prekeys are rotated and retired', async () => {
    // Bob publishes no one-time prekey at all.
    const bob = world.komrade('bob');
    bob.limitOneTimePrekeys(0);
    await bob.client.register(bob.name);
    const alice = await world.registered('alice');
    bob.client.accept(alice.name);
    await alice.client.send(bob.name, 'first contact, last resort');
    expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
    await bob.client.send(alice.name, 'answer');
    expect(await alice.client.checkInbox()).toMatchObject({ received: 1 });
    await alice.client.send(bob.name, 'after the answer');
    expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
    const [first, later] = alice.sentTo(bob.name).map((sealed) => {
      const outer = openRatchetLetter(sealed, bob.keys);
      if (!outer.ok) throw outer.error;
      return outer.value;
    });
    if (first === undefined || later === undefined) throw new Error('nothing recorded');
    expect(first.type).toBe('prekey');

    const steal = async (label: string) => {
      const path = join(world.dir, `stolen-${label}.db`);
      copySqlite(bob.path, path);
      const stolen = new SqliteLocalStore(path, { storageKey: bob.storageKey });
      try {
        return await Promise.all(
          [first, later].map((m) =>
            attackerDecrypt(stolen, bob.keys, bob.name, alice.name, m.type, m.msg),
          ),
        );
      } finally {
        stolen.close();
      }
    };
    // NOT forward-secret while Bob keeps the signed and Kyber prekeys it used (documented):
    // from them and Bob's identity key the attacker derives the session's first chain again.
    // A letter after Bob's answer needs ratchet keys Bob no longer holds.
    const soon = await steal('soon');
    expect(soon[0]).toMatchObject({ opened: true });
    expect(soon[1]).toMatchObject({ opened: false });

    // Bob's client later: a new signed and Kyber prekey after a week, the old ones deleted after
    // the grace period (first messages already on their way had time to arrive).
    const later_ = (ms: number) =>
      new Ratchet({
        store: bob.store,
        keys: bob.keys,
        self: () => bob.name,
        fetchBundle: () => Promise.reject(new Error('no bundle needed')),
        now: () => Date.now() + ms,
      });
    const ids = (kind: 'signed' | 'kyber') =>
      bob.store.ownLastResortPrekeys(kind).map((key) => key.id);
    const used = { signed: ids('signed'), kyber: ids('kyber') };
    expect(used.signed).toHaveLength(1);
    later_(LAST_RESORT_ROTATION_MS).prekeysToPublish(undefined);
    // Rotated, the old ones kept for letters on their way: still readable.
    expect(ids('signed')).toHaveLength(2);
    expect((await steal('rotated'))[0]).toMatchObject({ opened: true });
    later_(LAST_RESORT_ROTATION_MS + LAST_RESORT_GRACE_MS + 60_000).prekeysToPublish(undefined);
    for (const kind of ['signed', 'kyber'] as const) {
      expect(ids(kind).filter((id) => used[kind].includes(id))).toEqual([]);
    }
    const afterwards = await steal('afterwards');
    expect(afterwards.map((outcome) => outcome.opened)).toEqual([false, false]);
  });
});

/** Ways a lying Operator alters a bundle; every one must be refused. */
const FORGERIES: Record<string, (bundle: PrekeyBundle) => PrekeyBundle> = {
  'a bit flipped in the signed prekey signature': (bundle) => {
    const signature = Uint8Array.from(bundle.signedPrekey.signature);
    signature[10] = (signature[10] ?? 0) ^ 0x01;
    return { ...bundle, signedPrekey: { ...bundle.signedPrekey, signature } };
  },
  "the attacker's signed prekey under the real signature": (bundle) => ({
    ...bundle,
    signedPrekey: {
      ...bundle.signedPrekey,
      publicKey: PrivateKey.generate().getPublicKey().serialize(),
    },
  }),
  "the attacker's key pair, signed by the attacker's identity key": (bundle) => {
    const attacker = IdentityKeyPair.generate();
    const signed = PrivateKey.generate().getPublicKey().serialize();
    const kyber = KEMKeyPair.generate().getPublicKey().serialize();
    return {
      ...bundle,
      signedPrekey: {
        id: bundle.signedPrekey.id,
        publicKey: signed,
        signature: attacker.privateKey.sign(signed),
      },
      kyberPrekey: {
        id: bundle.kyberPrekey.id,
        publicKey: kyber,
        signature: attacker.privateKey.sign(kyber),
      },
    };
  },
  'a bit flipped in the Kyber prekey signature': (bundle) => {
    const signature = Uint8Array.from(bundle.kyberPrekey.signature);
    signature[3] = (signature[3] ?? 0) ^ 0x80;
    return { ...bundle, kyberPrekey: { ...bundle.kyberPrekey, signature } };
  },
  "the attacker's Kyber prekey under the real signature": (bundle) => ({
    ...bundle,
    kyberPrekey: {
      ...bundle.kyberPrekey,
      publicKey: KEMKeyPair.generate().getPublicKey().serialize(),
    },
  }),
};

describe('a forged bundle', () => {
  for (const [how, forge] of Object.entries(FORGERIES)) {
    it(`refuses ${how}: OPERATOR_ERROR, nothing sent, no session stored`, async () => {
      const alice = await world.registered('alice');
      const bob = await world.registered('bob');
      alice.overrides.fetchPrekeyBundle = async (request) =>
        forge(await alice.http.fetchPrekeyBundle(request));
      await expect(alice.client.send(bob.name, 'to a forged bundle')).rejects.toMatchObject({
        code: 'OPERATOR_ERROR',
      });
      expect(alice.sent).toEqual([]);
      expect(await world.waiting(bob.name)).toBe(0);
      expect(alice.store.ratchetSession(bob.name)).toBeUndefined();
      expect(alice.store.ratchetPeers()).toEqual([]);

      // The honest Operator's bundle works (the refusal was the forgery's doing).
      delete alice.overrides.fetchPrekeyBundle;
      bob.client.accept(alice.name);
      await alice.client.send(bob.name, 'to the real bundle');
      expect(await bob.client.checkInbox()).toMatchObject({ received: 1, sessionResets: [] });
      expect(bob.inboxTexts()).toEqual(['to the real bundle']);
    });
  }
});
