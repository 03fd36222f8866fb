/**
 * Old letters cannot undo new choices: follow state follows the newest signed statement per
 * komrade, and a letter id is processed once, even when the Operator delivers it again later.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KomradeClient,
  SqliteLocalStore,
  type LocalStore,
  type WaitingLetter,
} from '../../bridge/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { sealLetter } from '../../common/wire/index.js';
import { FakeOperator } from '../support/fake-operator.js';

const DAY_MS = 86_400_000;

let dir: string;
let operator: FakeOperator;
let clock: number;
const stores: LocalStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-replay-'));
  clock = 1_700_000_000_000;
  operator = new FakeOperator(() => clock);
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Komrade {
  readonly name: string;
  readonly client: KomradeClient;
  readonly keys: IdentityKeys;
  readonly store: LocalStore;
}

function open(name: string, keys: IdentityKeys, storageKey: Uint8Array): Komrade {
  const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey });
  stores.push(store);
  const client = new KomradeClient({ operator, store, keys, now: () => clock, keyHolder: 'self' });
  return { name, client, keys, store };
}

async function registered(name: string): Promise<Komrade & { storageKey: Uint8Array }> {
  const storageKey = randomBytes(32);
  const k = open(name, generateIdentityKeys(), storageKey);
  await k.client.register(name);
  return { ...k, storageKey };
}

/** What waits in `name`'s mailbox now, taken out (as if the Operator held it back). */
function takeMail(name: string): WaitingLetter[] {
  return operator.mailboxes.get(name)?.splice(0) ?? [];
}

/** Puts letters back in a mailbox, as a (mis)behaving Operator delivering late or again. */
function redeliver(name: string, letters: readonly WaitingLetter[]): void {
  const box = operator.mailboxes.get(name) ?? [];
  box.push(...letters.map((l) => ({ ...l, id: randomBytes(16) })));
  operator.mailboxes.set(name, box);
}

describe('follow statements: the newest one wins', () => {
  it('a follow sent at t1 and re-delivered after the t2 unfollow does not follow again', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    clock += 1_000;
    await alice.client.follow('bob');
    const followLetter = takeMail('bob');
    redeliver('bob', followLetter);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, newFollowers: ['alice'] });
    expect(bob.client.followers()).toEqual(['alice']);

    clock += 1_000;
    await alice.client.unfollow('bob');
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, newFollowers: [] });
    expect(bob.client.followers()).toEqual([]);

    redeliver('bob', followLetter);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 0, duplicates: 1 });
    expect(bob.client.followers()).toEqual([]);
  });

  it('an older follow arriving after a newer unfollow (never seen before) is stale', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    clock += 1_000;
    await alice.client.follow('bob');
    const follow = takeMail('bob');
    clock += 1_000;
    await alice.client.unfollow('bob');
    const unfollow = takeMail('bob');
    // The Operator delivers them out of order: the unfollow first, then the follow.
    redeliver('bob', [...unfollow, ...follow]);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, stale: 1, newFollowers: [] });
    expect(bob.client.followers()).toEqual([]);
    // Both were acknowledged: nothing piles up at the Operator.
    expect(operator.mailboxes.get('bob')).toEqual([]);
  });

  it('follow, unfollow, follow within one millisecond: the last one wins', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
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
    const alice = await registered('alice');
    const bob = await registered('bob');
    await alice.client.follow('bob');
    const delayed = takeMail('bob');
    clock += 1_000;
    bob.client.block('alice');
    // Lifted again (as an unblock or a reply would).
    bob.store.setContactState('alice', 'accepted', clock);
    redeliver('bob', delayed);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 0, stale: 1 });
    expect(bob.client.followers()).toEqual([]);
  });

  it('the same follow delivered twice in one fetch is applied once', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
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
    const alice = await registered('alice');
    const bob = await registered('bob');
    await alice.client.send('bob', 'once only');
    const letter = takeMail('bob');
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ requested: 1 });
    expect(bob.client.block('alice').deleted).toBe(1);
    bob.store.setContactState('alice', 'accepted', clock);
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, duplicates: 1 });
    expect(bob.client.inbox()).toEqual([]);
    expect(bob.client.requests()).toEqual([]);
  });

  it('a letter dropped while its sender was blocked stays dropped after an unblock', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    bob.client.block('alice');
    await alice.client.send('bob', 'while blocked');
    const letter = takeMail('bob');
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ blocked: 1 });
    bob.store.setContactState('alice', 'accepted', clock);
    redeliver('bob', letter);
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, duplicates: 1 });
    expect(bob.client.inbox()).toEqual([]);
  });

  it('remembers processed ids across a restart', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    await alice.client.follow('bob');
    clock += 1;
    await alice.client.unfollow('bob');
    const both = takeMail('bob');
    redeliver('bob', both);
    await bob.client.checkInbox();
    bob.store.close();
    const again = open('bob', bob.keys, bob.storageKey);
    redeliver('bob', both.slice(0, 1));
    expect(await again.client.checkInbox()).toMatchObject({ follows: 0, duplicates: 1 });
    expect(again.client.followers()).toEqual([]);
  });

  it('refuses a letter older than the processed ids are kept (it could be a replay)', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const old = sealLetter(
      {
        v: 1,
        kind: 'follow',
        from: 'alice',
        to: 'bob',
        sentAt: clock - 3_651 * DAY_MS,
        id: randomBytes(16),
        body: '',
      },
      alice.keys.signSecret,
      bob.keys.boxPublic,
    );
    await operator.send({ name: 'alice', signSecret: alice.keys.signSecret }, [
      { to: 'bob', sealed: old },
    ]);
    expect(await bob.client.checkInbox()).toMatchObject({ rejected: 1, follows: 0 });
    expect(bob.client.followers()).toEqual([]);
    expect(operator.mailboxes.get('bob')).toEqual([]);
  });
});
