/**
 * Letters moved between senders, through a real Operator (real HTTP, SQLite): whoever holds
 * Bob's box key (the Operator with a stolen key, say) can open a letter's seal and seal its
 * ratchet message again under another `from`; a registered komrade can put a letter someone
 * else signed, or one claiming another sender, in her own session with Bob. Each is refused
 * (never shown), and the letter it was taken from still opens afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ratchet, ratchetKeyOf, type OperatorClient } from '../../client/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import {
  openRatchetLetter,
  sealRatchetLetter,
  signLetter,
  type Letter,
} from '../../common/wire/index.js';
import { ForwardSecrecyWorld, type FsKomrade } from '../support/forward-secrecy-world.js';

let world: ForwardSecrecyWorld;

beforeAll(async () => {
  world = await ForwardSecrecyWorld.start();
});

afterAll(async () => {
  await world.close();
});

/** Alice, Bob and Mallory; Bob accepts both; Mallory and Bob already have a session. */
async function three(): Promise<{ alice: FsKomrade; bob: FsKomrade; mallory: FsKomrade }> {
  const alice = await world.registered('alice');
  const bob = await world.registered('bob');
  const mallory = await world.registered('mallory');
  bob.client.accept(alice.name);
  bob.client.accept(mallory.name);
  await mallory.client.send(bob.name, 'hello from mallory');
  expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
  await bob.client.send(mallory.name, 'hello mallory');
  expect(await mallory.client.checkInbox()).toMatchObject({ received: 1 });
  return { alice, bob, mallory };
}

/** Bob's fetches answer the letters whose ids are in `first` before the others. */
function forgedFirst(bob: FsKomrade, first: Uint8Array[]): void {
  const key = (id: Uint8Array) => Buffer.from(id).toString('hex');
  const ids = new Set(first.map(key));
  bob.overrides.fetch = async (signer, options) => {
    const batch = await bob.http.fetch(signer, options);
    const forged = batch.letters.filter((l) => ids.has(key(l.id)));
    const rest = batch.letters.filter((l) => !ids.has(key(l.id)));
    return { ...batch, letters: [...forged, ...rest] };
  };
}

/** Alice's letters to Bob stay in a hold until the test lets them go. */
function holdLetters(alice: FsKomrade): Uint8Array[] {
  const held: Uint8Array[] = [];
  alice.overrides.sendAnonymously = (letter: Parameters<OperatorClient['sendAnonymously']>[0]) => {
    held.push(Uint8Array.from(letter.sealed));
    // Answered as the Operator would: an id and a time (nothing reaches it).
    return Promise.resolve({ id: randomBytes(16), receivedAt: Date.now() } as Awaited<
      ReturnType<OperatorClient['sendAnonymously']>
    >);
  };
  return held;
}

describe('a ratchet message sealed again under another sender', () => {
  it('refuses a first message and a later one moved to another `from`; the originals still open', async () => {
    const { alice, bob, mallory } = await three();
    const held = holdLetters(alice);

    /** Moves each held letter to Mallory, then lets the originals go; returns Bob's checks. */
    const moveAndRelease = async (type: 'prekey' | 'message') => {
      const letters = held.splice(0);
      // The forger opens each seal with Bob's box key and seals the same ratchet message again,
      // claiming Mallory (who has a session with Bob) as the sender.
      const forgedIds: Uint8Array[] = [];
      for (const sealed of letters) {
        const outer = openRatchetLetter(sealed, bob.keys);
        if (!outer.ok) throw outer.error;
        expect(outer.value.type).toBe(type);
        const moved = sealRatchetLetter({ ...outer.value, from: mallory.name }, bob.keys.boxPublic);
        forgedIds.push(await world.deposit(bob.name, moved));
      }
      forgedFirst(bob, forgedIds);
      const forged = await bob.client.checkInbox();
      for (const sealed of letters) await world.deposit(bob.name, sealed);
      const original = await bob.client.checkInbox();
      return { forged, original, count: letters.length };
    };

    await alice.client.send(bob.name, 'first, from alice');
    await alice.client.send(bob.name, 'second, from alice');
    const first = await moveAndRelease('prekey');
    expect(first.forged).toMatchObject({ received: 0, rejected: 2 });
    // The letters they were taken from open as Alice's: no message key was spent on a forgery.
    expect(first.original).toMatchObject({ received: 2, rejected: 0, sessionResets: [] });

    await bob.client.send(alice.name, 'answer');
    expect(await alice.client.checkInbox()).toMatchObject({ received: 1 });
    await alice.client.send(bob.name, 'third, from alice');
    const later = await moveAndRelease('message');
    expect(later.forged).toMatchObject({ received: 0, rejected: 1 });
    // A forgery may cost the session it names (Mallory's: rate-limited), never Alice's.
    expect(later.forged.sessionResets.filter((r) => r.name !== mallory.name)).toEqual([]);
    expect(later.original).toMatchObject({ received: 1, rejected: 0, sessionResets: [] });

    expect(bob.inboxTexts()).toEqual([
      'hello from mallory',
      'first, from alice',
      'second, from alice',
      'third, from alice',
    ]);
    expect(bob.client.inbox().map((l) => l.from)).toEqual([
      mallory.name,
      alice.name,
      alice.name,
      alice.name,
    ]);
  });

  it("refuses Mallory's message sealed again as Alice's; Mallory's own letter still opens", async () => {
    const { alice, bob, mallory } = await three();
    bob.client.accept(alice.name);
    const held = holdLetters(mallory);
    await mallory.client.send(bob.name, 'from mallory, in her session');
    const [sealed] = held;
    if (sealed === undefined) throw new Error('nothing held');
    const outer = openRatchetLetter(sealed, bob.keys);
    if (!outer.ok) throw outer.error;
    const moved = sealRatchetLetter({ ...outer.value, from: alice.name }, bob.keys.boxPublic);
    forgedFirst(bob, [await world.deposit(bob.name, moved)]);
    const check = await bob.client.checkInbox();
    expect(check).toMatchObject({ received: 0, rejected: 1 });
    expect(bob.inboxTexts()).toEqual(['hello from mallory']);
    // Bob cannot tell a forgery from a letter of a session he lost: he tells his user and sends
    // Alice a reset letter (one: resets are rate-limited per komrade, so forging more letters
    // in Alice's name costs Bob nothing more).
    expect(check.sessionResets).toEqual([{ name: alice.name, lost: true }]);
    expect(bob.sentTo(alice.name)).toHaveLength(1);
    await world.deposit(bob.name, moved);
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, rejected: 1 });
    expect(bob.sentTo(alice.name)).toHaveLength(1);

    await world.deposit(bob.name, sealed);
    expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
    expect(bob.inboxTexts().at(-1)).toBe('from mallory, in her session');
  });
});

describe("a letter in Mallory's own session that is not hers", () => {
  /** Mallory's ratchet, encrypting as her client does, in her session with Bob. */
  function ratchetOf(mallory: FsKomrade): Ratchet {
    return new Ratchet({
      store: mallory.store,
      keys: mallory.keys,
      self: () => mallory.name,
      fetchBundle: () => Promise.reject(new Error('the session exists')),
      now: Date.now,
    });
  }

  const letter = (from: string, to: string, body: string): Letter => ({
    v: 2,
    kind: 'text',
    from,
    to,
    sentAt: Date.now(),
    id: randomBytes(16),
    body,
  });

  it('refuses a letter claiming Alice, signed by Mallory, sent in her session', async () => {
    const { alice, bob, mallory } = await three();
    const signed = signLetter(
      letter(alice.name, bob.name, 'signed by mallory as alice'),
      mallory.keys.signSecret,
    );
    const message = await ratchetOf(mallory).encrypt(
      { name: bob.name, ratchetKey: ratchetKeyOf(bob.keys) },
      signed,
    );
    // The frame names Mallory (her session opens it); the signed letter claims Alice.
    await mallory.client.deliver({
      to: bob.name,
      sealed: sealRatchetLetter({ v: 2, from: mallory.name, ...message }, bob.keys.boxPublic),
    });
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, rejected: 1 });
    expect(bob.inboxTexts()).toEqual(['hello from mallory']);
    expect(bob.client.inbox().map((l) => l.from)).toEqual([mallory.name]);
  });

  it("refuses a letter Alice signed, moved into Mallory's session", async () => {
    const { alice, bob, mallory } = await three();
    const signed = signLetter(
      letter(alice.name, bob.name, 'signed by alice, carried by mallory'),
      alice.keys.signSecret,
    );
    const message = await ratchetOf(mallory).encrypt(
      { name: bob.name, ratchetKey: ratchetKeyOf(bob.keys) },
      signed,
    );
    for (const from of [mallory.name, alice.name]) {
      await mallory.client.deliver({
        to: bob.name,
        sealed: sealRatchetLetter({ v: 2, from, ...message }, bob.keys.boxPublic),
      });
    }
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, rejected: 2 });
    expect(bob.inboxTexts()).toEqual(['hello from mallory']);
  });
});
