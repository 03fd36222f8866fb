/** The engine against a real Operator process over loopback HTTP, with real SQLite stores. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import type { Letter } from '../../common/wire/index.js';
import { KomradeClient } from '../../client/index.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { useOperatorKomrades, type HttpKomrade } from '../support/operator-komrades.js';
import { startOperatorProcess } from '../support/operator-process.js';
import { craftedLetter, sideRatchet } from '../support/ratchet-pair.js';

const komrades = useOperatorKomrades({ powBits: 8, tempPrefix: 'komrade-bridge-' });
const { http, clientOf, komradeAt, registered } = komrades;

/** A text letter from `from` to `to`. */
const textLetter = (from: string, to: string, body: string): Letter => ({
  v: 2,
  kind: 'text',
  from,
  to,
  sentAt: Date.now(),
  id: randomBytes(16),
  body,
});

/**
 * `sender`'s sessions as its store holds them, for letters crafted by hand: a session must exist
 * already (a letter prepared by its client starts one), since no bundle is fetched here.
 */
const ownSessions = (sender: HttpKomrade, self: string) =>
  sideRatchet(
    sender.keys,
    self,
    () => {
      throw new Error('no bundle here: prepare a letter first');
    },
    sender.store,
  );

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

describe('KomradeClient against a real Operator', () => {
  it('registers two komrades who write both ways through requests and accept', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    expect((await bob.client.lookup(`@${alice.name}`)).name).toBe(alice.name);
    expect(await codeOf(bob.client.lookup('@nobody_here'))).toBe('NAME_UNKNOWN');
    const other = komradeAt(komrades.operator.url, 'taken');
    expect(await codeOf(other.client.register(alice.name))).toBe('NAME_TAKEN');

    await alice.client.send(bob.name, 'hello bob');
    expect(await bob.client.checkInbox()).toMatchObject({ requested: 1, received: 0 });
    expect(bob.client.requests()[0]).toMatchObject({ from: alice.name });
    expect(bob.client.accept(alice.name).moved).toBe(1);
    expect(bob.client.inbox().map((l) => [l.from, l.text])).toEqual([[alice.name, 'hello bob']]);

    await bob.client.send(alice.name, 'hello alice');
    expect(await alice.client.checkInbox()).toMatchObject({ received: 1, requested: 0 });
    expect(alice.client.inbox()[0]).toMatchObject({ from: bob.name, text: 'hello alice' });

    // Nothing is left at the Operator once checked.
    expect((await bob.http.fetch(bob.signer)).letters).toEqual([]);
    expect((await alice.http.fetch(alice.signer)).letters).toEqual([]);
  });

  it('fetches in rounds while more are waiting', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    bob.client.accept(alice.name);
    for (let i = 0; i < 7; i++) await alice.client.send(bob.name, `n${i}`);
    // The real client, but fetching three at a time.
    const threeAtATime = withOverrides(bob.http, {
      fetch: (signer, options) => bob.http.fetch(signer, { ...options, limit: 3 }),
    });
    const client = clientOf(threeAtATime, bob.store, bob.keys);
    expect((await client.checkInbox()).received).toBe(7);
    expect(bob.client.inbox()).toHaveLength(7);
    expect((await bob.http.fetch(bob.signer)).letters).toEqual([]);
  });

  it("shows who holds a komrade's keys, from the signed receipt", async () => {
    const held = await registered('held', 'telegram');
    const own = await registered('own');
    const viewer = await registered('viewer');
    expect((await viewer.client.lookup(held.name)).keyHolder).toBe('telegram');
    expect((await viewer.client.lookup(own.name)).keyHolder).toBe('self');
    expect(held.client.whoami().keyHolder).toBe('telegram');
    // A letter's view carries its sender's holder (from the receipt checked when it arrived).
    await held.client.send(viewer.name, 'from a bot-held identity');
    await viewer.client.checkInbox();
    const [request] = viewer.client.requests();
    expect(request?.letters[0]?.fromKeyHolder).toBe('telegram');
  });

  it('blocking drops future letters, which are still acknowledged', async () => {
    const mallory = await registered('mallory');
    const bob = await registered('bob');
    await mallory.client.send(bob.name, 'first');
    await bob.client.checkInbox();
    expect(bob.client.block(mallory.name).deleted).toBe(1);
    await mallory.client.send(bob.name, 'second');
    expect(await bob.client.checkInbox()).toMatchObject({ blocked: 1, requested: 0 });
    expect(bob.client.requests()).toEqual([]);
    expect((await bob.http.fetch(bob.signer)).letters).toEqual([]);
  });

  it('posts to the feed and reads it back, verified', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const posted = await alice.client.post('hello world', 3);
    expect(posted.expiresAt).toBeGreaterThan(posted.postedAt);
    const feed = await bob.client.feed();
    expect(feed.dropped).toBe(0);
    expect(feed.posts.find((p) => p.from === alice.name)).toMatchObject({
      text: 'hello world',
      days: 3,
    });
    expect(await codeOf(alice.client.post('too long a life', 10_000))).toBe('POST_INVALID');
  });

  it('rejects a letter whose inner sender is not its signer', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const mallory = await registered('mallory');
    // Mallory's client starts a real session with bob (prepared, never sent).
    await mallory.client.prepareLetter(bob.name, 'hello');
    const forged = textLetter(alice.name, bob.name, 'send me your keys');
    // In her own session, under her name: her key signed it, but it claims to be alice's.
    const inHers = await craftedLetter(
      ownSessions(mallory, mallory.name),
      bob,
      forged,
      mallory.keys,
      mallory.name,
    );
    // Under alice's name: the session is not alice's.
    const asAlice = await craftedLetter(
      ownSessions(mallory, mallory.name),
      bob,
      forged,
      mallory.keys,
      alice.name,
    );
    await mallory.client.deliver({ to: bob.name, sealed: inHers });
    await mallory.client.deliver({ to: bob.name, sealed: asAlice });
    expect(await bob.client.checkInbox()).toMatchObject({ rejected: 2, requested: 0 });
    expect(bob.client.requests()).toEqual([]);
    expect((await bob.http.fetch(bob.signer)).letters).toEqual([]);
  });

  it('rejects a letter passed on to someone it was not addressed to', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const carol = await registered('carol');
    await alice.client.send(bob.name, 'for bob only');
    // What bob read: alice's signed letter to him (made here with her key: the same bytes).
    const forBob = textLetter(alice.name, bob.name, 'for bob only');
    await bob.client.prepareLetter(carol.name, 'hello');
    for (const frameFrom of [bob.name, alice.name]) {
      const passedOn = await craftedLetter(
        ownSessions(bob, bob.name),
        carol,
        forBob,
        alice.keys,
        frameFrom,
      );
      await bob.client.deliver({ to: carol.name, sealed: passedOn });
    }
    expect(await carol.client.checkInbox()).toMatchObject({ rejected: 2, requested: 0 });
    expect(carol.client.requests()).toEqual([]);
    expect((await carol.http.fetch(carol.signer)).letters).toEqual([]);
  });

  it('rejects a tampered ciphertext', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const { sealed } = await alice.client.prepareLetter(bob.name, 'meet at noon');
    sealed[sealed.length - 3]! ^= 0x01;
    await alice.client.deliver({ to: bob.name, sealed });
    expect(await bob.client.checkInbox()).toMatchObject({ rejected: 1, requested: 0 });
    expect((await bob.http.fetch(bob.signer)).letters).toEqual([]);
  });

  it('detects a changed Operator key and refuses to go on', async () => {
    const alice = await registered('alice');
    const second = await startOperatorProcess({ powBits: 8 });
    try {
      const client = clientOf(http(second.url), alice.store, alice.keys);
      expect(await codeOf(client.checkInbox())).toBe('OPERATOR_KEY_CHANGED');
      expect(await codeOf(client.lookup(alice.name))).toBe('OPERATOR_KEY_CHANGED');
    } finally {
      await second.cleanup();
    }
  });

  it('reports an Operator that cannot be reached', async () => {
    const stopped = await startOperatorProcess({ powBits: 8 });
    await stopped.cleanup();
    const k = komradeAt(stopped.url, 'unreachable');
    const error = await k.client.register('someone').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OPERATOR_UNREACHABLE' });
    expect((error as Error).message).toContain(stopped.url);
  });
});

describe('followers against a real Operator', () => {
  it('follows, posts to followers one anonymous send per copy, unfollows', async () => {
    const ben = await registered('ben');
    const fans = [await registered('ann'), await registered('cat'), await registered('dan')];
    for (const fan of fans)
      expect(await fan.client.follow(`@${ben.name}`)).toMatchObject({ added: true });
    expect(fans[0]!.client.following()).toEqual([ben.name]);

    // A follow is a sealed letter: the author learns of it on the next check, as a follower only.
    const check = await ben.client.checkInbox();
    expect(check).toMatchObject({ follows: 3, received: 0, requested: 0 });
    expect(ben.client.followers()).toEqual(fans.map((f) => f.name).sort());
    expect(ben.client.inbox()).toEqual([]);
    expect(ben.client.requests()).toEqual([]);

    // One anonymous send per copy, each paid with its own token; never a batch.
    const copies: { to: string; input: string }[] = [];
    const recording = withOverrides(ben.http, {
      sendAnonymously: (letter) => {
        copies.push({ to: letter.to, input: Buffer.from(letter.token.input).toString('hex') });
        return ben.http.sendAnonymously(letter);
      },
    });
    const pauses: number[] = [];
    const spreading = new KomradeClient({
      operator: recording,
      store: ben.store,
      keys: ben.keys,
      now: Date.now,
      keyHolder: 'self',
      pause: (ms) => {
        pauses.push(ms);
        return Promise.resolve();
      },
    });
    const progress: string[] = [];
    const sent = await spreading.postToFollowers('to my followers only', {
      onProgress: (k, n) => progress.push(`${k}/${n}`),
    });
    expect(copies.map((c) => c.to).sort()).toEqual(fans.map((f) => f.name).sort());
    expect(new Set(copies.map((c) => c.input)).size).toBe(3);
    expect(progress).toEqual(['1/3', '2/3', '3/3']);
    // Spread over at most 2 s a copy.
    expect(pauses).toHaveLength(3);
    expect(pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(6_000);
    expect(sent.followers).toHaveLength(3);

    const [ann] = fans;
    expect(await ann!.client.checkInbox()).toMatchObject({ posts: 1, received: 0 });
    expect(ann!.client.inbox()).toMatchObject([
      { kind: 'post', from: ben.name, text: 'to my followers only' },
    ]);
    // Not in the world feed.
    expect((await ann!.client.feed()).posts.some((p) => p.from === ben.name)).toBe(false);

    // Ann unfollows: Ben drops her, and a later post does not reach her.
    await ann!.client.unfollow(ben.name);
    expect(await ben.client.checkInbox()).toMatchObject({ follows: 1 });
    expect(ben.client.followers()).not.toContain(ann!.name);
    const again = await ben.client.postToFollowers('second post');
    expect(again.followers).not.toContain(ann!.name);
    expect(await ann!.client.checkInbox()).toMatchObject({ posts: 0 });
    expect(ann!.client.inbox()).toHaveLength(1);
  });

  it('ignores follows from blocked komrades and posts from authors one does not follow', async () => {
    const ben = await registered('ben');
    const eve = await registered('eve');
    await eve.client.send(ben.name, 'hi');
    await ben.client.checkInbox();
    ben.client.block(eve.name);
    await eve.client.follow(ben.name);
    expect(await ben.client.checkInbox()).toMatchObject({ blocked: 1, follows: 0 });
    expect(ben.client.followers()).toEqual([]);

    // Eve sends a post letter to Ann, who does not follow her: dropped, and acknowledged.
    const ann = await registered('ann');
    await ann.client.follow(eve.name);
    await eve.client.checkInbox();
    await ann.client.unfollow(eve.name);
    await eve.client.postToFollowers('pushed at a stranger');
    expect(await ann.client.checkInbox()).toMatchObject({ unsolicited: 1, posts: 0 });
    expect(ann.client.inbox()).toEqual([]);
    expect((await ann.http.fetch(ann.signer)).letters).toEqual([]);
    expect(await codeOf(ann.client.follow(ann.name))).toBe('USAGE');
  });
});
