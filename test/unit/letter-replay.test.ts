/**
 * Old letters cannot undo new choices: follow state follows the newest signed statement per
 * komrade, and a letter id is processed once, even when the Operator delivers it again later.
 */
import { describe, expect, it } from 'vitest';
import type { WaitingLetter } from '../../client/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { useClientWorld } from '../support/client-fixture.js';
import { bundleAtFake, craftedLetter, sideRatchet } from '../support/ratchet-pair.js';

const DAY_MS = 86_400_000;

const world = useClientWorld('komrade-replay-');

/** What waits in `name`'s mailbox now, taken out (as if the Operator held it back). */
function takeMail(name: string): WaitingLetter[] {
  return world.operator.mailboxes.get(name)?.splice(0) ?? [];
}

/** Puts letters back in a mailbox, as a (mis)behaving Operator delivering late or again. */
function redeliver(name: string, letters: readonly WaitingLetter[]): void {
  const box = world.operator.mailboxes.get(name) ?? [];
  box.push(...letters.map((l) => ({ ...l, id: randomBytes(16) })));
  world.operator.mailboxes.set(name, box);
}

describe('follow statements: the newest one wins', () => {
  it('a follow sent at t1 and re-delivered after the t2 unfollow does not follow again', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    world.clock += 1_000;
    await alice.client.follow('bob');
    const followLetter = takeMail('bob');
    redeliver('bob', followLetter);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, newFollowers: ['alice'] });
    expect(bob.client.followers()).toEqual(['alice']);

    world.clock += 1_000;
    await alice.client.unfollow('bob');
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, newFollowers: [] });
    expect(bob.client.followers()).toEqual([]);

    redeliver('bob', followLetter);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 0, duplicates: 1 });
    expect(bob.client.followers()).toEqual([]);
  });

  it('an older follow arriving after a newer unfollow (never seen before) is stale', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    world.clock += 1_000;
    await alice.client.follow('bob');
    const follow = takeMail('bob');
    world.clock += 1_000;
    await alice.client.unfollow('bob');
    const unfollow = takeMail('bob');
    // The Operator delivers them out of order: the unfollow first, then the follow.
    redeliver('bob', [...unfollow, ...follow]);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, stale: 1, newFollowers: [] });
    expect(bob.client.followers()).toEqual([]);
    // Both were acknowledged: nothing piles up at the Operator.
    expect(world.operator.mailboxes.get('bob')).toEqual([]);
  });

  it('follow, unfollow, follow within one millisecond: the last one wins', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    // The clock does not move: the sender still orders its own statements.
    await alice.client.follow('bob');
    await alice.client.unfollow('bob');
    await alice.client.follow('bob');
    await alice.client.unfollow('bob');
    await alice.client.follow('bob');
    const all = takeMail('bob');
    // Delivered in reverse: only the newest (the last follow) is applied.
    redeliver('bob', [...all].reverse());
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, stale: 4 });
    expect(bob.client.followers()).toEqual(['alice']);
  });

  it('a follow sent before a block does not come back after the block is lifted', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.follow('bob');
    const delayed = takeMail('bob');
    world.clock += 1_000;
    bob.client.block('alice');
    // Lifted again (as an unblock or a reply would).
    bob.store.setContactState('alice', 'accepted', world.clock);
    redeliver('bob', delayed);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 0, stale: 1 });
    expect(bob.client.followers()).toEqual([]);
  });

  it('the same follow delivered twice in one fetch is applied once', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.follow('bob');
    const follow = takeMail('bob');
    redeliver('bob', [...follow, ...follow]);
    expect(await bob.client.checkInbox()).toMatchObject({
      follows: 1,
      duplicates: 1,
      newFollowers: ['alice'],
    });
  });
});

describe('processed letter ids', () => {
  it('a letter deleted by a block is not stored again when delivered again', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.send('bob', 'once only');
    const letter = takeMail('bob');
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ requested: 1 });
    expect(bob.client.block('alice').deleted).toBe(1);
    bob.store.setContactState('alice', 'accepted', world.clock);
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, duplicates: 1 });
    expect(bob.client.inbox()).toEqual([]);
    expect(bob.client.requests()).toEqual([]);
  });

  it('a letter dropped while its sender was blocked stays dropped after an unblock', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    bob.client.block('alice');
    await alice.client.send('bob', 'while blocked');
    const letter = takeMail('bob');
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ blocked: 1 });
    bob.store.setContactState('alice', 'accepted', world.clock);
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, duplicates: 1 });
    expect(bob.client.inbox()).toEqual([]);
  });

  it('remembers processed ids across a restart', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.follow('bob');
    world.clock += 1;
    await alice.client.unfollow('bob');
    const both = takeMail('bob');
    redeliver('bob', both);
    await bob.client.checkInbox();
    bob.store.close();
    const again = world.komrade('bob', { keys: bob.keys, storageKey: bob.storageKey });
    redeliver('bob', both.slice(0, 1));
    expect(await again.client.checkInbox()).toMatchObject({ follows: 0, duplicates: 1 });
    expect(again.client.followers()).toEqual([]);
  });

  it('refuses a letter older than the processed ids are kept (it could be a replay)', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    // Alice's own keys and a real session (a second copy of her ratchet): only the date is off.
    const aliceRatchet = sideRatchet(alice.keys, 'alice', (name) =>
      bundleAtFake(world.operator, name),
    );
    const old = await craftedLetter(
      aliceRatchet,
      bob,
      {
        v: 2,
        kind: 'follow',
        from: 'alice',
        to: 'bob',
        sentAt: world.clock - 3_651 * DAY_MS,
        id: randomBytes(16),
        body: '',
      },
      alice.keys,
      'alice',
    );
    await world.operator.send({ name: 'alice', signSecret: alice.keys.signSecret }, [
      { to: 'bob', sealed: old },
    ]);
    expect(await bob.client.checkInbox()).toMatchObject({ rejected: 1, follows: 0 });
    expect(bob.client.followers()).toEqual([]);
    expect(world.operator.mailboxes.get('bob')).toEqual([]);
  });
});
