/**
 * Forward-secret sessions between two real clients through a real Operator (real HTTP, SQLite on
 * both sides): both directions with letters fetched out of order and crossing in flight, letters
 * fetched twice before the ack or re-delivered by the Operator (shown once), and restarts of
 * either side between letters (the session continues from the store: no new bundle, no reset).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxCheck } from '../../client/index.js';
import { openRatchetLetter, type RatchetLetter } from '../../common/wire/index.js';
import { ForwardSecrecyWorld, shuffled, type FsKomrade } from '../support/forward-secrecy-world.js';

let world: ForwardSecrecyWorld;

beforeAll(async () => {
  world = await ForwardSecrecyWorld.start();
});

afterAll(async () => {
  await world.close();
});

/** Two komrades who accept each other's letters. */
async function pair(): Promise<{ alice: FsKomrade; bob: FsKomrade }> {
  const alice = await world.registered('alice');
  const bob = await world.registered('bob');
  alice.client.accept(bob.name);
  bob.client.accept(alice.name);
  return { alice, bob };
}

/** Every fetch of `komrade` answers its letters in a shuffled order. */
function fetchShuffled(komrade: FsKomrade): void {
  komrade.overrides.fetch = async (signer, options) => {
    const batch = await komrade.http.fetch(signer, options);
    return { ...batch, letters: shuffled(batch.letters) };
  };
}

/** The outer frame of the `index`th letter `from` sent `to`, opened with the recipient's keys. */
function frameOf(from: FsKomrade, to: FsKomrade, index: number): RatchetLetter {
  const sealed = from.sentTo(to.name).at(index);
  if (sealed === undefined) throw new Error('no such letter');
  const outer = openRatchetLetter(sealed, to.keys);
  if (!outer.ok) throw outer.error;
  return outer.value;
}

/** A check that only received letters: nothing refused, duplicated or reset. */
function clean(received: number): Partial<InboxCheck> {
  return { received, rejected: 0, duplicates: 0, sessionResets: [] };
}

const texts = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

describe('both directions, out of order', () => {
  it('opens every letter fetched in a shuffled order, in both directions', async () => {
    const { alice, bob } = await pair();
    fetchShuffled(alice);
    fetchShuffled(bob);

    // First messages (prekey), shuffled: each names the same session start.
    const first = texts('a→b', 5);
    for (const text of first) await alice.client.send(bob.name, text);
    expect(frameOf(alice, bob, 0).type).toBe('prekey');
    expect(frameOf(alice, bob, 4).type).toBe('prekey');
    expect(await bob.client.checkInbox()).toMatchObject(clean(5));
    expect(bob.inboxTexts().sort()).toEqual(first.sort());

    // Replies: Bob's first messages in the session Alice started, shuffled at Alice.
    const replies = texts('b→a', 4);
    for (const text of replies) await bob.client.send(alice.name, text);
    expect(frameOf(bob, alice, 0).type).toBe('message');
    expect(await alice.client.checkInbox()).toMatchObject(clean(4));
    expect(alice.inboxTexts().sort()).toEqual(replies.sort());

    // Crossing in flight: both write before either fetches, several ratchet steps apart.
    const crossA = texts('a→b crossing', 3);
    const crossB = texts('b→a crossing', 3);
    for (let i = 0; i < 3; i++) {
      await alice.client.send(bob.name, crossA[i] ?? '');
      await bob.client.send(alice.name, crossB[i] ?? '');
    }
    expect(frameOf(alice, bob, -1).type).toBe('message');
    expect(await bob.client.checkInbox()).toMatchObject(clean(3));
    expect(await alice.client.checkInbox()).toMatchObject(clean(3));
    expect(bob.inboxTexts().sort()).toEqual([...first, ...crossA].sort());
    expect(alice.inboxTexts().sort()).toEqual([...replies, ...crossB].sort());
    // One bundle for the whole conversation: Alice's, for her first letter.
    expect(alice.bundleFetches).toEqual([bob.name]);
    expect(bob.bundleFetches).toEqual([]);
  });

  it('opens letters whose batches arrive out of order across fetches (one at a time, newest first)', async () => {
    const { alice, bob } = await pair();
    const sent = texts('a→b', 4);
    for (const text of sent) await alice.client.send(bob.name, text);
    expect(await bob.client.checkInbox()).toMatchObject(clean(4));
    for (const text of texts('b→a', 1)) await bob.client.send(alice.name, text);
    expect(await alice.client.checkInbox()).toMatchObject(clean(1));
    // A new chain from Alice; Bob's Operator hands the newest first, one letter a fetch.
    const later = texts('a→b later', 4);
    for (const text of later) await alice.client.send(bob.name, text);
    bob.overrides.fetch = async (signer, options) => {
      const batch = await bob.http.fetch(signer, { ...options, limit: 100 });
      const last = batch.letters.at(-1);
      return { ...batch, letters: last === undefined ? [] : [last] };
    };
    expect(await bob.client.checkInbox()).toMatchObject(clean(4));
    expect(bob.inboxTexts()).toEqual([...sent, ...[...later].reverse()]);
    expect(await world.waiting(bob.name)).toBe(0);
  });
});

describe('duplicates', () => {
  it('shows a letter fetched twice in one batch once', async () => {
    const { alice, bob } = await pair();
    bob.overrides.fetch = async (signer, options) => {
      const batch = await bob.http.fetch(signer, options);
      return { ...batch, letters: batch.letters.flatMap((l) => [l, l]) };
    };
    const sent = texts('twice', 3);
    for (const text of sent) await alice.client.send(bob.name, text);
    const check = await bob.client.checkInbox();
    expect(check).toMatchObject({ received: 3, duplicates: 3, rejected: 0, sessionResets: [] });
    expect(bob.inboxTexts()).toEqual(sent);
  });

  it('shows a letter fetched again after a crash before the ack once, and the session goes on', async () => {
    const { alice, bob } = await pair();
    let fetches = 0;
    bob.overrides.fetch = (signer, options) => {
      fetches++;
      // The fetch that would carry the ack never leaves: a crash after the letters were stored.
      if (fetches === 2) return Promise.reject(new Error('crashed before the ack'));
      return bob.http.fetch(signer, options);
    };
    await alice.client.send(bob.name, 'before the crash');
    await expect(bob.client.checkInbox()).rejects.toThrow('crashed before the ack');
    expect(await world.waiting(bob.name)).toBe(1);
    // The program restarts; the letter comes again; its message keys are spent: the kept copy
    // answers, and it is not shown twice.
    bob.restart();
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, duplicates: 1 });
    expect(bob.inboxTexts()).toEqual(['before the crash']);
    expect(await world.waiting(bob.name)).toBe(0);
    await alice.client.send(bob.name, 'after the crash');
    expect(await bob.client.checkInbox()).toMatchObject(clean(1));
    expect(bob.inboxTexts()).toEqual(['before the crash', 'after the crash']);
  });

  it('shows a letter whose ratchet step was committed but whose saving crashed, after a restart', async () => {
    const { alice, bob } = await pair();
    await alice.client.send(bob.name, 'opened, then the disk failed');
    await alice.client.send(bob.name, 'and another');
    // The ratchet commits each step (message keys spent) before the letters are saved: a crash
    // in between must not lose them.
    const save = bob.store.saveLetters.bind(bob.store);
    bob.store.saveLetters = () => {
      throw new Error('disk full');
    };
    await expect(bob.client.checkInbox()).rejects.toThrow('disk full');
    bob.store.saveLetters = save;
    expect(bob.inboxTexts()).toEqual([]);
    expect(await world.waiting(bob.name)).toBe(2);
    bob.restart();
    expect(await bob.client.checkInbox()).toMatchObject(clean(2));
    expect(bob.inboxTexts()).toEqual(['opened, then the disk failed', 'and another']);
    await alice.client.send(bob.name, 'the session goes on');
    expect(await bob.client.checkInbox()).toMatchObject(clean(1));
  });

  it('refuses a letter the Operator delivers again after the ack (a replay), in both directions', async () => {
    const { alice, bob } = await pair();
    await alice.client.send(bob.name, 'first contact');
    await alice.client.send(bob.name, 'second');
    expect(await bob.client.checkInbox()).toMatchObject(clean(2));
    await bob.client.send(alice.name, 'reply');
    expect(await alice.client.checkInbox()).toMatchObject(clean(1));

    // The same sealed bytes again, each under a new Operator id (the ratchet's kept copies are
    // gone: they were acked): a first message, a later one, and one the other way.
    const again = [
      ...alice.sentTo(bob.name).map((sealed) => ({ to: bob, sealed })),
      ...bob.sentTo(alice.name).map((sealed) => ({ to: alice, sealed })),
    ];
    for (const { to, sealed } of again) await world.deposit(to.name, sealed);
    expect(await bob.client.checkInbox()).toMatchObject({
      received: 0,
      duplicates: 2,
      sessionResets: [],
    });
    expect(await alice.client.checkInbox()).toMatchObject({
      received: 0,
      duplicates: 1,
      sessionResets: [],
    });
    expect(bob.inboxTexts()).toEqual(['first contact', 'second']);
    expect(alice.inboxTexts()).toEqual(['reply']);
    // Nothing was reset: the next letters open in the same session.
    await alice.client.send(bob.name, 'still here');
    expect(frameOf(alice, bob, -1).type).toBe('message');
    expect(await bob.client.checkInbox()).toMatchObject(clean(1));
  });
});

describe('restarts', () => {
  it('continues the session after either side restarts between letters: no new bundle, no reset', async () => {
    const { alice, bob } = await pair();
    const conversation: [FsKomrade, FsKomrade, string][] = [
      [alice, bob, 'hello'],
      [bob, alice, 'hi, after my restart'],
      [alice, bob, 'after mine'],
      [bob, alice, 'after both'],
      [alice, bob, 'again after both'],
    ];
    const restarts: FsKomrade[][] = [[], [bob], [alice], [alice, bob], [alice, bob]];
    for (const [index, [from, to, text]] of conversation.entries()) {
      for (const komrade of restarts[index] ?? []) komrade.restart();
      await from.client.send(to.name, text);
      to.restart();
      expect(await to.client.checkInbox()).toMatchObject(clean(1));
      expect(to.inboxTexts().at(-1)).toBe(text);
    }
    // Only Alice's first letter fetched a bundle; after it, every letter continues the session.
    expect(alice.bundleFetches).toEqual([bob.name]);
    expect(bob.bundleFetches).toEqual([]);
    expect(frameOf(alice, bob, 0).type).toBe('prekey');
    for (const [from, to, index] of [
      [alice, bob, 1],
      [alice, bob, 2],
      [bob, alice, 0],
      [bob, alice, 1],
    ] as const) {
      const frame = frameOf(from, to, index);
      expect(frame.type).toBe('message');
      expect(frame.renewed).toBeUndefined();
    }
  });
});
