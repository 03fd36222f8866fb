/** The engine's letter, request and feed flows, against an in-memory Operator with real crypto. */
import { describe, expect, it } from 'vitest';
import type { LocalStore } from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import {
  MAX_LETTER_TEXT_BYTES,
  openRatchetLetter,
  sealRatchetLetter,
  signLetter,
  signPost,
  signReceipt,
  type Letter,
} from '../../common/wire/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import { FakeOperator } from '../support/fake-operator.js';
import { bundleAtFake, craftedLetter, sideRatchet } from '../support/ratchet-pair.js';

const world = useClientWorld('komrade-client-');

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

const bundleAt = (name: string) => bundleAtFake(world.operator, name);

/** Delivers a sealed letter straight into a mailbox, as a misbehaving sender could. */
async function deliver(from: TestKomrade, fromName: string, to: string, sealed: Uint8Array) {
  await world.operator.send({ name: fromName, signSecret: from.keys.signSecret }, [{ to, sealed }]);
}

describe('KomradeClient registration and lookup', () => {
  it('registers, pins the Operator, and looks komrades up', async () => {
    const alice = world.komrade('alice');
    expect(alice.client.whoami().name).toBeNull();
    const solving: number[] = [];
    const profile = await alice.client.register('@Alice', {
      onSolving: ({ bits }) => solving.push(bits),
    });
    expect(solving).toEqual([world.operator.powBits]);
    expect(profile.name).toBe('alice');
    expect(alice.client.whoami().name).toBe('alice');
    expect(alice.store.pinnedOperator()?.signKey).toEqual(world.operator.keys.signPublic);
    expect((await alice.client.lookup('@alice')).signKey).toBe(profile.signKey);
    expect(await codeOf(alice.client.lookup('@nobody'))).toBe('NAME_UNKNOWN');
    expect(await codeOf(alice.client.register('alice2'))).toBe('USAGE');
  });

  it('refuses invalid, look-alike, reserved and taken names', async () => {
    await world.registered('alice');
    const other = world.komrade('other');
    expect(await codeOf(other.client.register('\u0430lice'))).toBe('NAME_INVALID');
    expect(await codeOf(other.client.register('operator'))).toBe('NAME_RESERVED');
    expect(await codeOf(other.client.register('alice'))).toBe('NAME_TAKEN');
  });

  it('adopts its own receipt when an earlier registration answer was lost', async () => {
    const keys = generateIdentityKeys();
    const first = world.komrade('first', { keys });
    await first.client.register('alice');
    const again = world.komrade('again', { keys });
    expect((await again.client.register('alice')).name).toBe('alice');
  });

  it('refuses a receipt the pinned key did not sign', async () => {
    const alice = await world.registered('alice');
    const impostor = generateIdentityKeys();
    const mallory = world.operator.receipts.get('alice')!;
    world.operator.receipts.set(
      'bob',
      signReceipt({ ...mallory, name: 'bob' }, impostor.signSecret),
    );
    expect(await codeOf(alice.client.lookup('bob'))).toBe('OPERATOR_ERROR');
  });

  it('detects a changed Operator key and refuses to go on', async () => {
    const alice = await world.registered('alice');
    const other = new FakeOperator(() => world.clock);
    other.receipts.set('alice', world.operator.receipts.get('alice')!);
    const client = world.client(alice.store, alice.keys, { operator: other });
    expect(await codeOf(client.send('bob', 'hi'))).toBe('OPERATOR_KEY_CHANGED');
    expect(await codeOf(client.checkInbox())).toBe('OPERATOR_KEY_CHANGED');
  });
});

describe('KomradeClient letters and requests', () => {
  it('holds a stranger’s letters as requests until accepted; replies go straight in', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    world.clock += 1_000;
    await alice.client.send('@bob', 'hello bob');
    const check = await bob.client.checkInbox();
    expect(check).toEqual({
      received: 0,
      requested: 1,
      blocked: 0,
      rejected: 0,
      duplicates: 0,
      posts: 0,
      follows: 0,
      stale: 0,
      unsolicited: 0,
      collective: 0,
      newFollowers: [],
      admitted: [],
      sessionResets: [],
    });
    expect(bob.client.inbox()).toEqual([]);
    const requests = bob.client.requests();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.from).toBe('alice');
    expect(requests[0]?.letters[0]?.text).toBe('hello bob');
    expect(world.operator.mailboxes.get('bob')).toEqual([]);

    expect(bob.client.accept('@alice')).toEqual({ name: 'alice', moved: 1 });
    expect(bob.client.requests()).toEqual([]);
    const [letter] = bob.client.inbox();
    expect(letter).toMatchObject({
      from: 'alice',
      to: 'bob',
      text: 'hello bob',
      sentAt: world.clock,
    });

    await bob.client.send('alice', 'hello alice');
    expect((await alice.client.checkInbox()).received).toBe(1);
    expect(alice.client.inbox().map((l) => l.text)).toEqual(['hello alice']);
    // Accepted senders go straight to the inbox too.
    await alice.client.send('bob', 'again');
    expect((await bob.client.checkInbox()).received).toBe(1);
  });

  it('fetches until no more are waiting and acknowledges them all', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    bob.client.accept('alice');
    for (let i = 0; i < 5; i++) await alice.client.send('bob', `letter ${i}`);
    const check = await bob.client.checkInbox();
    expect(check.received).toBe(5);
    expect(bob.client.inbox().map((l) => l.text)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `letter ${i}`),
    );
    expect(world.operator.mailboxes.get('bob')).toEqual([]);
  });

  it('does not acknowledge letters it could not store', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.send('bob', 'keep me');
    // The real store, except that saving fails (as on a full disk).
    const failing = new Proxy(bob.store, {
      get(target, property: keyof LocalStore) {
        if (property === 'saveLetters') {
          return () => {
            throw new Error('disk full');
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const client = world.client(failing, bob.keys);
    await expect(client.checkInbox()).rejects.toThrow('disk full');
    expect(world.operator.mailboxes.get('bob')).toHaveLength(1);
    expect((await bob.client.checkInbox()).requested).toBe(1);
  });

  it('counts a letter delivered twice once', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.send('bob', 'once');
    const copy = world.operator.mailboxes.get('bob')![0]!;
    await deliver(alice, 'alice', 'bob', copy.sealed);
    const check = await bob.client.checkInbox();
    expect(check).toMatchObject({ requested: 1, duplicates: 1 });
  });

  it('blocking deletes held letters and drops later ones (still acknowledged)', async () => {
    const mallory = await world.registered('mallory');
    const bob = await world.registered('bob');
    await mallory.client.send('bob', 'spam 1');
    await bob.client.checkInbox();
    expect(bob.client.block('@mallory')).toEqual({ name: 'mallory', deleted: 1 });
    expect(bob.client.requests()).toEqual([]);
    await mallory.client.send('bob', 'spam 2');
    expect(await bob.client.checkInbox()).toMatchObject({ blocked: 1, requested: 0 });
    expect(world.operator.mailboxes.get('bob')).toEqual([]);
    expect(bob.client.requests()).toEqual([]);
  });

  it('lists contacts, and unblocking makes a blocked komrade a stranger again', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await world.registered('carol');
    await bob.client.send('carol', 'hi carol');
    world.clock += 1;
    bob.client.block('alice');
    expect(bob.client.contacts()).toEqual([
      { name: 'alice', state: 'blocked', since: world.clock },
      { name: 'carol', state: 'accepted', since: world.clock - 1 },
    ]);
    expect(bob.client.unblock('@carol')).toEqual({ name: 'carol', unblocked: false });
    expect(bob.client.unblock('@alice')).toEqual({ name: 'alice', unblocked: true });
    expect(bob.client.contacts().map((c) => c.name)).toEqual(['carol']);
    expect(() => bob.client.unblock('b\u043eb')).toThrow(
      expect.objectContaining({ code: 'NAME_INVALID' }) as Error,
    );
    // Unblocked, a new letter is held as a request again, not dropped.
    await alice.client.send('bob', 'after the unblock');
    expect(await bob.client.checkInbox()).toMatchObject({ requested: 1, blocked: 0 });
  });

  it('rejects forged senders, re-addressed letters, tampering and unknown senders', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const carol = await world.registered('carol');
    const mallory = await world.registered('mallory');
    const letterOf = (from: string, to: string): Letter => ({
      v: 2,
      kind: 'text',
      from,
      to,
      sentAt: world.clock,
      id: randomBytes(16),
      body: 'x',
    });
    // Mallory's own sessions (her registered keys), built by hand.
    const malloryRatchet = sideRatchet(mallory.keys, 'mallory', bundleAt);

    // Mallory signs, with her own key, a letter that claims to come from alice, and sends it in
    // her real session with bob: the session opens it, but it is not signed by its author.
    await deliver(
      mallory,
      'mallory',
      'bob',
      await craftedLetter(malloryRatchet, bob, letterOf('alice', 'bob'), mallory.keys, 'mallory'),
    );
    // The same with alice's name beside the message: the session is not alice's.
    const asAlice = sideRatchet(mallory.keys, 'alice', bundleAt);
    await deliver(
      mallory,
      'mallory',
      'bob',
      await craftedLetter(asAlice, bob, letterOf('alice', 'bob'), mallory.keys, 'alice'),
    );
    // A letter from a name nobody registered.
    const ghost = sideRatchet(mallory.keys, 'ghost', bundleAt);
    await deliver(
      mallory,
      'mallory',
      'bob',
      await craftedLetter(ghost, bob, letterOf('ghost', 'bob'), mallory.keys, 'ghost'),
    );
    // A tampered ciphertext.
    await alice.client.send('bob', 'tamper with me');
    const box = world.operator.mailboxes.get('bob')!;
    const last = box[box.length - 1]!;
    const tampered = Uint8Array.from(last.sealed);
    tampered[tampered.length - 5]! ^= 0x40;
    box[box.length - 1] = { ...last, sealed: tampered };
    // Garbage that is not even a sealed box.
    await deliver(mallory, 'mallory', 'bob', randomBytes(10));

    // Alice writes to bob; bob passes her signed letter on to carol in his own session, under
    // his name (the signature is alice's) and under hers (the session is his).
    await alice.client.send('bob', 'for bob only');
    const aliceLetter = { ...letterOf('alice', 'bob'), body: 'for bob only' };
    const bobRatchet = sideRatchet(bob.keys, 'bob', bundleAt);
    await deliver(
      bob,
      'bob',
      'carol',
      await craftedLetter(bobRatchet, carol, aliceLetter, alice.keys, 'bob'),
    );
    const bobAsAlice = sideRatchet(bob.keys, 'alice', bundleAt);
    await deliver(
      bob,
      'bob',
      'carol',
      await craftedLetter(bobAsAlice, carol, aliceLetter, alice.keys, 'alice'),
    );

    expect(await bob.client.checkInbox()).toMatchObject({ rejected: 5, requested: 1 });
    expect(bob.client.requests()[0]?.letters.map((l) => l.text)).toEqual(['for bob only']);
    expect(await carol.client.checkInbox()).toMatchObject({ rejected: 2, requested: 0 });
    expect(carol.client.requests()).toEqual([]);
    expect(world.operator.mailboxes.get('bob')).toEqual([]);
    expect(world.operator.mailboxes.get('carol')).toEqual([]);
    // None of it made anyone send a reset letter: no session was lost.
    expect(world.operator.mailboxes.get('alice') ?? []).toEqual([]);
    expect(world.operator.mailboxes.get('mallory') ?? []).toEqual([]);
  });

  it('refuses a letter whose ratchet layer is a stand-in (a v1-style letter in a v2 frame)', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    bob.client.accept('alice');
    const letter: Letter = {
      v: 2,
      kind: 'text',
      from: 'alice',
      to: 'bob',
      sentAt: world.clock,
      id: randomBytes(16),
      body: 'no session',
    };
    // Alice's genuine signature, but no ratchet: the signed letter where the message goes.
    const framed = sealRatchetLetter(
      { v: 2, from: 'alice', type: 'message', msg: signLetter(letter, alice.keys.signSecret) },
      bob.keys.boxPublic,
    );
    await deliver(alice, 'alice', 'bob', framed);
    const check = await bob.client.checkInbox();
    expect(check).toMatchObject({ received: 0, rejected: 1 });
    expect(bob.client.inbox()).toEqual([]);
    // Bob's side took it for a lost session: alice is sent a reset letter (one, this hour).
    expect(check.sessionResets).toEqual([{ name: 'alice', lost: true }]);
    expect(world.operator.mailboxes.get('alice')).toHaveLength(1);
    const reset = openRatchetLetter(world.operator.mailboxes.get('alice')![0]!.sealed, alice.keys);
    expect(reset.ok && reset.value).toMatchObject({ from: 'bob', type: 'prekey' });
    await deliver(alice, 'alice', 'bob', framed);
    expect((await bob.client.checkInbox()).rejected).toBe(1);
    expect(world.operator.mailboxes.get('alice')).toHaveLength(1);
    // The reset letter tells alice nothing to show.
    expect(await alice.client.checkInbox()).toMatchObject({ received: 0, requested: 0 });
  });

  it('checks sizes, emptiness and registration before sending', async () => {
    const stranger = world.komrade('stranger');
    expect(await codeOf(stranger.client.send('bob', 'hi'))).toBe('NOT_REGISTERED');
    const alice = await world.registered('alice');
    await world.registered('bob');
    for (const blank of ['', '   ', '\n\t ', '\u00a0\u3000', '\u200b\u2060']) {
      expect(await codeOf(alice.client.send('bob', blank))).toBe('EMPTY_MESSAGE');
    }
    expect(await codeOf(alice.client.send('@Alice', 'hi me'))).toBe('USAGE');
    await expect(alice.client.send('alice', 'hi me')).rejects.toThrow(
      'You cannot send a letter to yourself.',
    );
    // Nothing was sealed or handed over for any of them.
    expect(world.operator.mailboxes.get('bob') ?? []).toEqual([]);
    expect(world.operator.mailboxes.get('alice') ?? []).toEqual([]);
    expect(await codeOf(alice.client.send('bob', 'x'.repeat(MAX_LETTER_TEXT_BYTES + 1)))).toBe(
      'LETTER_TOO_LARGE',
    );
    expect(await codeOf(alice.client.send('b\u043eb', 'hi'))).toBe('NAME_INVALID');
  });
});

describe('KomradeClient feed', () => {
  it('posts and reads the feed, dropping posts that do not verify', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const mallory = await world.registered('mallory');
    const posted = await alice.client.post('hello world', 3);
    expect(posted.expiresAt).toBe(world.clock + 3 * 86_400_000);
    // Mallory's post claiming to be Alice's, slipped in by a misbehaving Operator.
    world.operator.posts.unshift(
      signPost(
        {
          v: 1,
          from: 'alice',
          postedAt: world.clock,
          id: randomBytes(16),
          days: 1,
          body: 'forged',
        },
        mallory.keys.signSecret,
      ),
    );
    const feed = await bob.client.feed();
    expect(feed.dropped).toBe(1);
    expect(feed.posts).toEqual([
      expect.objectContaining({
        from: 'alice',
        text: 'hello world',
        days: 3,
        postedAt: world.clock,
      }),
    ]);
    expect(feed.next).toBeNull();
    const page = await bob.client.feed({ limit: 1 });
    expect(page.next).toBe('1');
    expect((await bob.client.feed({ before: '1' })).posts[0]?.text).toBe('hello world');
  });

  it('refuses posts with bad days or text', async () => {
    const alice = await world.registered('alice');
    expect(await codeOf(alice.client.post('x', 0))).toBe('POST_INVALID');
    expect(await codeOf(alice.client.post('x', 31))).toBe('POST_INVALID');
    expect(await codeOf(alice.client.post('', 1))).toBe('EMPTY_MESSAGE');
    expect(await codeOf(alice.client.post(' \n ', 1))).toBe('EMPTY_MESSAGE');
    expect(await codeOf(alice.client.postToFollowers('\t'))).toBe('EMPTY_MESSAGE');
    expect(world.operator.posts).toEqual([]);
    expect(await codeOf(alice.client.post('x'.repeat(9_000), 1))).toBe('POST_INVALID');
  });
});
